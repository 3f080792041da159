package io.github.peft4j.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.loss.Loss;
import io.github.peft4j.core.Scalars;
import io.github.peft4j.core.TrainingHooks;
import io.github.peft4j.core.nn.RowKeys;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** One optimizer step of {@link FineTuner} after another: data order, micro-batches, hooks, clipping, the update. */
final class StepRunner {

    private static final Logger LOG = LoggerFactory.getLogger(StepRunner.class);

    /** What the loop runs with; the fields of the {@link FineTuner} that built it. */
    record Setup(
            Block model,
            FineTuneConfig config,
            TrainingHooks hooks,
            Loss loss,
            List<TrainingRecipe> recipes,
            DataParallel dataParallel) {}

    private final Setup setup;
    private final FineTuneConfig config;
    private final TrainingData train;
    private final Map<String, Parameter> trainable;
    private final AdamW opt;
    private final long warmup;
    private final long perEpoch;
    private final NDManager root;
    private final FitContext ctx;
    private final Replica replica;
    private int[] order;
    private long orderEpoch = -1;
    private int skipped;

    StepRunner(
            Setup setup,
            TrainingData train,
            Map<String, Parameter> trainable,
            AdamW opt,
            long warmup,
            long perEpoch,
            FitContext ctx) {
        this.setup = setup;
        this.config = setup.config();
        this.ctx = ctx;
        this.train = train;
        this.trainable = trainable;
        this.opt = opt;
        this.warmup = warmup;
        this.perEpoch = perEpoch;
        this.root = trainable.values().iterator().next().getArray().getManager();
        this.replica = setup.dataParallel() == null ? null : new Replica(setup.dataParallel(), config.batchSize());
    }

    StepRecord step(long step, long total) {
        for (TrainingRecipe r : setup.recipes()) {
            r.beforeStep(step, trainable);
        }
        Map<String, Parameter> active = new LinkedHashMap<>();
        trainable.forEach((k, p) -> {
            if (p.requiresGradient()) {
                active.put(k, p);
            }
        });
        long dataStep = step + ctx.dataOffset(); // past the data of steps rolled back after a loss spike
        long epoch = dataStep / perEpoch;
        if (epoch != orderEpoch) {
            order = permutation(train.size(), config.seed() * 31 + epoch);
            orderEpoch = epoch;
        }
        Engine.getInstance().setRandomSeed((int) (config.seed() * 1_000_003L + step));
        double lossValue = 0;
        for (int micro = 0; micro < config.gradientAccumulation(); micro++) {
            int offset = (int) ((dataStep % perEpoch) * config.gradientAccumulation() + micro) * config.batchSize();
            int[] idx = new int[config.batchSize()];
            System.arraycopy(order, offset, idx, 0, idx.length);
            lossValue += microBatch(idx, step, micro) / config.gradientAccumulation();
        }
        if (replica != null) {
            lossValue = replica.allReduce(active, lossValue);
        }
        setup.hooks().beforeStep(step);
        for (TrainingRecipe r : setup.recipes()) {
            r.adjustGradients(step, active);
        }
        double gradNorm = clipGradients(active);
        double lr = config.schedule().at(config.learningRate(), step, warmup, total);
        boolean skip = !Double.isFinite(gradNorm) || !Double.isFinite(lossValue);
        if (!skip) {
            opt.step(active, lr, key -> {
                double f = 1;
                for (TrainingRecipe r : setup.recipes()) {
                    f *= r.learningRateScale(key, step);
                }
                return f;
            });
        } else {
            // as mixed-precision loss scalers do: a non-finite gradient must never reach the weights
            skipped++;
            LOG.warn(
                    "step {}: non-finite {} (loss {}); update skipped ({} so far). Non-finite gradients in: {}",
                    step + 1,
                    Double.isFinite(lossValue) ? "gradient norm" : "loss",
                    lossValue,
                    skipped,
                    nonFiniteGradients(active));
        }
        setup.hooks().afterStep(step, (param, positions) -> {
            for (Map.Entry<String, Parameter> e : trainable.entrySet()) {
                if (e.getValue() == param) {
                    opt.resetState(e.getKey(), positions);
                }
            }
        });
        zeroGradients(active);
        long done = step + 1;
        return new StepRecord(done, total, (double) done / perEpoch, lossValue, lr, gradNorm, skip);
    }

    /** Runs one micro-batch (this replica's share of it) forward and backward; returns its mean loss. */
    private double microBatch(int[] idx, long step, int micro) {
        int[] mine = replica == null ? idx : replica.share(idx);
        try (NDManager s = root.newSubManager();
                GradientCollector gc = Engine.getInstance().newGradientCollector();
                RowKeys keys = replica == null ? null : replica.keys(config.seed(), step, micro)) {
            NDList inputs = replica == null ? train.inputs(idx, s) : replica.inputs(train, idx, s);
            NDArray labels = replica == null ? train.labels(idx, s) : replica.labels(train, idx, s);
            NDArray out = setup.model()
                    .forward(new ParameterStore(s, false), inputs, true, train.forwardParameters(mine, s))
                    .get(0);
            NDArray l = setup.loss().evaluate(new NDList(labels), new NDList(out));
            double value = l.getFloat();
            if (replica == null) {
                gc.backward(Scalars.div(l, config.gradientAccumulation()));
            } else {
                double scale = replica.lossScale(train, idx, mine);
                value *= scale;
                gc.backward(Scalars.mul(l, scale / config.gradientAccumulation()));
            }
            setup.hooks().afterBackward();
            return value;
        }
    }

    private double clipGradients(Map<String, Parameter> active) {
        double sq = 0;
        for (Parameter p : active.values()) {
            try (NDArray g = p.getArray().getGradient();
                    NDArray g2 = g.square();
                    NDArray n = g2.sum()) {
                sq += n.getFloat();
            }
        }
        double norm = Math.sqrt(sq);
        if (config.maxGradNorm() > 0 && norm > config.maxGradNorm()) {
            double scale = config.maxGradNorm() / (norm + 1e-6);
            for (Parameter p : active.values()) {
                try (NDArray g = p.getArray().getGradient()) {
                    Scalars.muli(g, scale);
                }
            }
        }
        return norm;
    }

    private static List<String> nonFiniteGradients(Map<String, Parameter> active) {
        List<String> bad = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : active.entrySet()) {
            try (NDArray g = e.getValue().getArray().getGradient();
                    NDArray nan = g.isNaN();
                    NDArray inf = g.isInfinite();
                    NDArray either = nan.logicalOr(inf);
                    NDArray f = either.any()) {
                if (f.getBoolean()) {
                    bad.add(e.getKey());
                }
            }
        }
        return bad.size() > 6 ? bad.subList(0, 6) : bad;
    }

    private static void zeroGradients(Map<String, Parameter> active) {
        for (Parameter p : active.values()) {
            try (NDArray g = p.getArray().getGradient()) {
                Scalars.fill(g, 0);
            }
        }
    }

    static int[] permutation(int n, long seed) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        return a;
    }
}
