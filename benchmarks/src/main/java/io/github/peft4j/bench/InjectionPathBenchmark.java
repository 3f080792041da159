package io.github.peft4j.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.InjectionMode;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.lora.LoraConfig;
import io.github.peft4j.lora.LoraInit;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What does each way of reaching a layer cost? One linear layer [out, in] with LoRA r = 8, on n tokens:
 *
 * <ul>
 *   <li>{@code BASE}: the frozen layer without adapter — the baseline;
 *   <li>{@code ACTIVATION}: wrapper computing {@code base(x) + s (x Aᵀ) Bᵀ};
 *   <li>{@code WEIGHT}: the layer reads {@code W + s B A} through the intercepted parameter store;
 *   <li>{@code MERGED}: the adapter merged into W (inference only: there is nothing to train).
 * </ul>
 *
 * <p>{@link #trainStep} is forward + backward to the layer input and the adapter parameters, as for a layer inside
 * a network (the optimizer update is the same for all and left out); {@link #inference} is a forward pass without
 * gradient. BASE and MERGED have no trainable parameter: their train step is the floor any adapter adds to.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
        value = 1,
        jvmArgsAppend = {"-DDJL_OFFLINE=true", "-Dai.djl.offline=true"})
public class InjectionPathBenchmark {

    /** Layer shape "in x out". */
    @Param({"384x384", "384x1536"})
    public String shape;

    /** Tokens per batch. */
    @Param({"128", "1024"})
    public int tokens;

    /** Injection path. */
    @Param({"BASE", "ACTIVATION", "WEIGHT", "MERGED"})
    public String path;

    private NDManager manager;
    private Block block;
    private NDArray x;

    /** Builds the layer, the adapter and a seeded input. */
    @Setup(Level.Trial)
    public void setUp() {
        manager = NDManager.newBaseManager();
        String[] io = shape.split("x");
        long in = Long.parseLong(io[0]);
        long out = Long.parseLong(io[1]);
        SequentialBlock base =
                new SequentialBlock().add(Linear.builder().setUnits(out).build());
        base.initialize(manager, DataType.FLOAT32, new Shape(1, in));
        x = random(new Shape(tokens, in), 1);
        if ("BASE".equals(path)) {
            block = base;
            base.getParameters().values().forEach(p -> p.freeze(true));
            return;
        }
        PeftModel peft = PeftModel.builder()
                .setBaseModel(base)
                .optInjectionMode("WEIGHT".equals(path) ? InjectionMode.WEIGHT : InjectionMode.ACTIVATION)
                .setConfig(LoraConfig.builder()
                        .setTargetModules("0")
                        .optRank(8)
                        .optAlpha(16)
                        .optInit(LoraInit.RANDOM)
                        .build())
                .build();
        if ("MERGED".equals(path)) {
            peft.merge();
        }
        block = peft;
    }

    private NDArray random(Shape s, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[Math.toIntExact(s.size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return manager.create(v, s);
    }

    /** Releases native memory. */
    @TearDown(Level.Trial)
    public void tearDown() {
        manager.close();
    }

    /**
     * Forward and backward of the mean output.
     *
     * @return the loss, so the work cannot be eliminated
     */
    @Benchmark
    public float trainStep() {
        try (NDManager step = manager.newSubManager()) {
            NDArray in = x.duplicate();
            in.attach(step);
            // as inside a network: the gradient flows back to the layer input in every mode
            in.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray y = block.forward(new ParameterStore(step, false), new NDList(in), true)
                        .singletonOrThrow();
                NDArray loss = y.square().mean();
                gc.backward(loss);
                return loss.getFloat();
            }
        }
    }

    /**
     * Forward pass without gradient.
     *
     * @return a checksum of the output
     */
    @Benchmark
    public float inference() {
        try (NDManager step = manager.newSubManager()) {
            NDArray in = x.duplicate();
            in.attach(step);
            return block.forward(new ParameterStore(step, false), new NDList(in), false)
                    .singletonOrThrow()
                    .sum()
                    .getFloat();
        }
    }
}
