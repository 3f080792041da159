package io.github.peft4j.examples;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.TranslateException;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.lora.LoraConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The small end-to-end example of the foundation: pre-train an MLP on one task, fine-tune it with LoRA on a related
 * task through DJL's {@code Trainer}, save the adapter in the Hugging Face PEFT layout, reload it into a fresh copy of
 * the base model, and merge it.
 *
 * <p>The tasks are synthetic regressions (y = sin(x Wᵀ)) so the example runs in seconds and needs no download; the
 * end-to-end example on a real encoder and real mail replaces it as the main command later.
 */
public final class QuickstartExample {

    /** What the example measured. */
    public record Result(
            double baseLoss,
            double adaptedLoss,
            String trainableParameters,
            double reloadMaxDiff,
            double mergeMaxDiff,
            Path adapterDir) {}

    private final Device device;
    private final long seed;
    private final int rank;
    private final int epochs;

    /**
     * Creates the example.
     *
     * @param device where to train
     * @param seed the seed of data, weights and adapter
     * @param rank the LoRA rank
     * @param epochs the LoRA fine-tuning epochs
     */
    public QuickstartExample(Device device, long seed, int rank, int epochs) {
        this.device = device;
        this.seed = seed;
        this.rank = rank;
        this.epochs = epochs;
    }

    private static SequentialBlock newMlp() {
        return new SequentialBlock()
                .add(Linear.builder().setUnits(64).build())
                .add(Activation::tanh)
                .add(Linear.builder().setUnits(64).build())
                .add(Activation::tanh)
                .add(Linear.builder().setUnits(4).build());
    }

    private static NDArray uniform(NDManager m, Shape s, SplittableRandom r, double scale) {
        float[] v = new float[Math.toIntExact(s.size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return m.create(v, s);
    }

    private static double mse(Block block, NDArray x, NDArray y) {
        try (NDManager s = x.getManager().newSubManager()) {
            return block.forward(new ParameterStore(s, false), new NDList(x), false)
                    .singletonOrThrow()
                    .sub(y)
                    .square()
                    .mean()
                    .getFloat();
        }
    }

    private static double maxDiff(Block a, Block b, NDArray x) {
        try (NDManager s = x.getManager().newSubManager()) {
            NDArray ya = a.forward(new ParameterStore(s, false), new NDList(x), false)
                    .singletonOrThrow();
            NDArray yb = b.forward(new ParameterStore(s, false), new NDList(x), false)
                    .singletonOrThrow();
            return ya.sub(yb).abs().max().getFloat();
        }
    }

    private void fit(Block block, NDArray x, NDArray y, int epochs, float lr) throws IOException, TranslateException {
        try (Model model = Model.newInstance("peft4j-quickstart", device)) {
            model.setBlock(block);
            ArrayDataset data = new ArrayDataset.Builder()
                    .setData(x)
                    .optLabels(y)
                    .setSampling(64, true)
                    .build();
            DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.l2Loss())
                    .optDevices(new Device[] {device})
                    .optOptimizer(Optimizer.adam()
                            .optLearningRateTracker(Tracker.fixed(lr))
                            .build());
            try (Trainer trainer = model.newTrainer(config)) {
                trainer.initialize(new Shape(64, 16));
                EasyTrain.fit(trainer, epochs, data, null);
            }
            model.setBlock(null);
        }
    }

    /**
     * Runs the example.
     *
     * @param output where to save the adapter
     * @param out where to print progress
     * @return what was measured
     * @throws IOException if saving fails
     * @throws TranslateException if DJL training fails
     */
    public Result run(Path output, PrintStream out) throws IOException, TranslateException {
        Engine.getInstance().setRandomSeed((int) seed);
        SplittableRandom r = new SplittableRandom(seed);
        try (NDManager manager = NDManager.newBaseManager(device)) {
            NDArray x = uniform(manager, new Shape(1024, 16), r, 1);
            NDArray wA = uniform(manager, new Shape(4, 16), r, 0.5);
            NDArray wB = wA.add(uniform(manager, new Shape(4, 16), r, 0.25)); // a related task
            NDArray yA = x.matMul(wA.transpose()).sin();
            NDArray yB = x.matMul(wB.transpose()).sin();

            out.println("1. pre-training a 16-64-64-4 MLP on task A (full fine-tuning, 20 epochs)");
            SequentialBlock base = newMlp();
            base.initialize(manager, DataType.FLOAT32, new Shape(1, 16));
            fit(base, x, yA, 20, 1e-2f);
            double baseLoss = mse(base, x, yB);
            out.printf(Locale.ROOT, "   base model: MSE on task A %.5f, on task B %.5f%n", mse(base, x, yA), baseLoss);

            // a frozen copy of the pre-trained weights, to reload the adapter into later
            SequentialBlock copy = newMlp();
            copy.initialize(manager, DataType.FLOAT32, new Shape(1, 16));
            copyWeights(base, copy);

            out.printf(
                    Locale.ROOT, "2. LoRA r=%d on every linear layer, trained on task B for %d epochs%n", rank, epochs);
            PeftModel peft = PeftModel.builder()
                    .setBaseModel(base)
                    .optSeed(seed)
                    .setConfig(LoraConfig.builder()
                            .setTargetModules("all-linear")
                            .optRank(rank)
                            .optAlpha(2.0 * rank)
                            .optBaseModelNameOrPath("peft4j-quickstart-mlp")
                            .build())
                    .build();
            String counts = peft.printTrainableParameters();
            out.println("   " + counts);
            fit(peft, x, yB, epochs, 1e-2f);
            double adaptedLoss = mse(peft, x, yB);
            out.printf(Locale.ROOT, "   adapted model: MSE on task B %.5f (base %.5f)%n", adaptedLoss, baseLoss);

            peft.saveAdapters(output);
            out.println("3. adapter saved in the Hugging Face PEFT layout: " + output.toAbsolutePath());

            PeftModel reloaded = PeftModel.builder().setBaseModel(copy).build();
            reloaded.loadAdapter(output, PeftModel.DEFAULT_ADAPTER);
            double reloadDiff = maxDiff(peft, reloaded, x);
            out.printf(
                    Locale.ROOT,
                    "4. reloaded into a fresh copy of the base model: max |Δ output| = %.3g%n",
                    reloadDiff);
            Block merged = reloaded.mergeAndUnload();
            double mergeDiff = maxDiff(peft, merged, x);
            out.printf(
                    Locale.ROOT,
                    "5. merged into the base weights (W + s·BA), adapter removed: max |Δ output|" + " = %.3g%n",
                    mergeDiff);
            return new Result(baseLoss, adaptedLoss, counts, reloadDiff, mergeDiff, output);
        }
    }

    private static void copyWeights(Block from, Block to) {
        var src = io.github.peft4j.core.ModuleTree.namedParameters(from);
        var dst = io.github.peft4j.core.ModuleTree.namedParameters(to);
        for (var e : src.entrySet()) {
            io.github.peft4j.core.ParameterValues.copyInto(
                    dst.get(e.getKey()).getArray(), e.getValue().getArray());
        }
    }
}
