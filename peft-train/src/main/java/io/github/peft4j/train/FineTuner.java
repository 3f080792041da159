package io.github.peft4j.train;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.loss.Loss;
import ai.djl.util.Pair;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.TrainingHooks;
import io.github.peft4j.core.nn.Bf16Base;
import io.github.peft4j.train.listener.Checkpointer;
import io.github.peft4j.train.listener.EarlyStopping;
import io.github.peft4j.train.listener.EvaluationListener;
import io.github.peft4j.train.listener.MetricsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training loop: micro-batches with gradient accumulation, the model's training hooks, global-norm clipping,
 * AdamW on a warm-up-then-decay schedule; everything else is a {@link FitListener} (evaluation, early stopping,
 * {@code metrics.jsonl}, progress, checkpoints), called in order after every step.
 *
 * <pre>{@code
 * FineTuner tuner = FineTuner.builder().setModel(peft).setConfig(config).optHooks(peft)
 *         .optEvaluation(Evaluator.classification(2, 32), validation).optCheckpointExport(peft::saveAdapters)
 *         .addListener(Progress.auto()).build();
 * FineTuner.Result r = tuner.fit(train, Path.of("runs/x"), null);   // or resume: Path.of("runs/x/checkpoint")
 * }</pre>
 *
 * <p>Why not DJL's {@code Trainer}/{@code EasyTrain}: its optimizers keep their moments in private fields, so a
 * checkpoint cannot save them and a resumed run would not end where an uninterrupted one does; it has no gradient
 * accumulation or clipping across micro-batches. This loop runs on DJL's autograd ({@link GradientCollector}) and
 * {@link ParameterStore} like {@code Trainer}, and trains any block: a {@code PeftModel} (pass it as the hooks too) or
 * a model whose parameters are all trainable (full fine-tuning).
 *
 * <p>Exact resume: the data order of epoch e is a permutation drawn from {@code (seed, e)}, the engine's RNG
 * (dropout) is re-seeded from {@code (seed, step)} before every step, and a checkpoint holds the parameters, AdamW's
 * moments, the listeners' state and the model's own training state ({@link TrainingHooks#saveState}: sparse
 * indices, frozen sets, residual terms). A resumed run therefore computes what the uninterrupted one would, bit for
 * bit in every run measured (docs/training.md).
 */
public final class FineTuner {

    private static final Logger LOG = LoggerFactory.getLogger(FineTuner.class);

    /** The checkpoint folder inside the output directory. */
    public static final String CHECKPOINT = "checkpoint";

    private final Block model;
    private final FineTuneConfig config;
    private final TrainingHooks hooks;
    private final Loss loss;
    private final Evaluator evaluator;
    private final TrainingData evalData;
    private final Checkpoint.Export export;
    private final List<FitListener> extraListeners;
    private final Duration gracefulStop;
    private final long stopAfter;
    private final Precision precision;
    private final List<TrainingRecipe> recipes;
    private final LossSpikeGuard spikeGuard;
    private final DataParallel dataParallel;

    /**
     * The outcome of {@link #fit}.
     *
     * @param steps optimizer steps done (counting those before a resume)
     * @param totalSteps steps the schedule was planned for
     * @param history the points this run logged
     * @param best the best evaluation (by accuracy), or null without evaluation data
     * @param bestStep the step of {@code best}
     * @param stoppedEarly whether early stopping ended the run
     * @param interrupted whether a signal (Ctrl-C, SIGTERM) ended the run after a checkpoint
     * @param seconds wall time of this call
     */
    public record Result(
            long steps,
            long totalSteps,
            List<FitContext.Point> history,
            Evaluation best,
            long bestStep,
            boolean stoppedEarly,
            boolean interrupted,
            double seconds) {}

    private FineTuner(Builder b) {
        this.model = Objects.requireNonNull(b.model, "FineTuner.Builder.setModel is required");
        this.config = Objects.requireNonNull(b.config, "FineTuner.Builder.setConfig is required");
        this.hooks = b.hooks;
        this.loss = b.loss;
        this.evaluator = b.evaluator;
        this.evalData = b.evalData;
        this.export = b.export;
        this.extraListeners = List.copyOf(b.listeners);
        this.gracefulStop = b.gracefulStop;
        this.stopAfter = b.stopAfter;
        this.precision = b.precision;
        this.recipes = List.copyOf(b.recipes);
        this.spikeGuard = b.spikeGuard;
        this.dataParallel = b.dataParallel;
    }

    /**
     * Returns a builder.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns the optimizer steps a config runs on a training set (e.g. to schedule SaRA's re-selection halfway).
     *
     * @param config the settings
     * @param trainSize the number of training examples
     * @return the steps
     */
    public static long totalSteps(FineTuneConfig config, int trainSize) {
        return config.maxSteps() > 0 ? config.maxSteps() : stepsPerEpoch(config, trainSize) * config.epochs();
    }

    private static long stepsPerEpoch(FineTuneConfig config, int trainSize) {
        return Math.max(1, trainSize / ((long) config.batchSize() * config.gradientAccumulation()));
    }

    /**
     * Returns the model's trainable parameters (those that require gradients) by stable key.
     *
     * @return key to parameter
     */
    public Map<String, Parameter> trainableParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : model.getParameters()) {
            if (p.getValue().requiresGradient()) {
                out.put(p.getKey(), p.getValue());
            }
        }
        return out;
    }

    /**
     * Trains.
     *
     * @param train the training examples
     * @param output where checkpoints and {@code metrics.jsonl} go (created)
     * @param resume a checkpoint to resume from, or null
     * @return what happened
     * @throws IOException if a checkpoint or the metrics file cannot be written or read
     * @throws IllegalArgumentException if the checkpoint does not fit the model or was written with another seed
     */
    public Result fit(TrainingData train, Path output, Path resume) throws IOException {
        if (train.size() < config.batchSize()) {
            throw new IllegalArgumentException("the training data has " + train.size() + " examples, fewer than"
                    + " one batch of " + config.batchSize());
        }
        Files.createDirectories(output);
        long total = totalSteps(config, train.size());
        long warmup = (long) Math.floor(config.warmupRatio() * total);
        long perEpoch = stepsPerEpoch(config, train.size());
        long t0 = System.nanoTime();
        ObjectNode state = null;
        if (resume != null) {
            state = Checkpoint.readState(resume, config.seed());
            new RecipeRecord(recipes).requireSame(state);
            hooks.loadState(resume.resolve(Checkpoint.MODEL)); // may add the adapters the checkpoint was trained with
        }
        if (precision == Precision.BF16) {
            storeBaseInBf16();
        }
        Map<String, Parameter> trainableAtStart = trainableParameters();
        for (TrainingRecipe r : recipes) {
            r.prepare(model, trainableParameters(), state != null);
        }
        Map<String, Parameter> trainable = trainableParameters();
        if (trainable.isEmpty()) {
            throw new IllegalArgumentException("the model has no trainable parameter: wrap it in a PeftModel or"
                    + " unfreeze parameters for full fine-tuning");
        }
        NDManager root = trainable.values().iterator().next().getArray().getManager();
        List<FitListener> listeners = listeners(output, root);
        try (NDManager optManager = root.newSubManager();
                AdamW opt = new AdamW(config.beta1(), config.beta2(), config.eps(), config.weightDecay(), optManager);
                GracefulStop stop = gracefulStop == null ? null : GracefulStop.install(gracefulStop)) {
            long start = 0;
            FitContext ctx;
            if (state != null) {
                Checkpoint.restoreTensors(resume, state, trainable, opt, optManager);
                start = state.get("step").asLong();
                ctx = new FitContext(
                        model, config, output, total, perEpoch, start, Math.min(total, stopAfter), trainable, opt);
                ctx.restoreRollbacks(
                        state.path("data_offset").asLong(0),
                        state.path("rollbacks").asInt(0));
                restoreBest(ctx, state);
                for (FitListener l : listeners) {
                    l.restoreState(state);
                }
                LOG.info("resumed from {} at step {}", resume, start);
            } else {
                ctx = new FitContext(
                        model, config, output, total, perEpoch, 0, Math.min(total, stopAfter), trainable, opt);
            }
            for (FitListener l : listeners) {
                l.onFitStart(ctx);
            }
            StepRunner loop = new StepRunner(
                    new StepRunner.Setup(model, config, hooks, loss, recipes, dataParallel),
                    train,
                    trainable,
                    opt,
                    warmup,
                    perEpoch,
                    ctx);
            LossSpikeGuard.Detector spikes = spikeGuard == null ? null : spikeGuard.new Detector();
            long step = start;
            while (step < ctx.lastStep()) {
                StepRecord record = loop.step(step, total);
                if (spikes != null && spikes.isSpike(record.loss())) {
                    long back = rollBack(ctx, record, spikes, output, optManager);
                    if (back >= 0) {
                        step = back; // the next step is back + 1 (0-based: back)
                        continue;
                    }
                }
                step++;
                if (stop != null && stop.requested()) {
                    ctx.markInterrupted("interrupted by a signal after step " + record.step());
                }
                for (FitListener l : listeners) {
                    l.onStep(ctx, record);
                }
                ctx.addPoint(new FitContext.Point(record.step(), record.loss(), record.lr(), ctx.evaluation()));
                ctx.clearStepEvaluation();
                if (ctx.stopRequested()) {
                    LOG.info(ctx.stopReason());
                    break;
                }
            }
            // recipes may have frozen some for a while, or for the run: the model leaves training as it came
            trainableAtStart.values().forEach(p -> p.freeze(false));
            for (FitListener l : listeners) {
                l.onFitEnd(ctx);
            }
            long steps = ctx.history().isEmpty()
                    ? start
                    : ctx.history().get(ctx.history().size() - 1).step();
            return new Result(
                    steps,
                    total,
                    ctx.history(),
                    ctx.best(),
                    ctx.bestStep(),
                    ctx.stopRequested() && !ctx.interrupted(),
                    ctx.interrupted(),
                    (System.nanoTime() - t0) / 1e9);
        }
    }

    /**
     * Restores the last checkpoint after a loss spike and moves the data past the steps rolled back; returns the
     * checkpoint's step, or -1 when there is none or the run has had its rollbacks (the spike is then only logged).
     */
    private long rollBack(
            FitContext ctx, StepRecord spike, LossSpikeGuard.Detector spikes, Path output, NDManager optManager)
            throws IOException {
        Path ckpt = output.resolve(CHECKPOINT);
        String what = String.format(
                java.util.Locale.ROOT,
                "loss spike at step %d: %.4g > %.3g × the median %.4g of the last %d steps",
                spike.step(),
                spike.loss(),
                spikeGuard.factor(),
                spikes.median(),
                spikeGuard.window());
        if (ctx.rollbacks() >= spikeGuard.maxRollbacks() || !Files.isDirectory(ckpt)) {
            LOG.warn(
                    "{}; not rolled back ({})",
                    what,
                    Files.isDirectory(ckpt) ? "already " + ctx.rollbacks() + " rollbacks" : "no checkpoint yet");
            return -1;
        }
        ObjectNode cs = Checkpoint.readState(ckpt, config.seed());
        long back = cs.get("step").asLong();
        if (back >= spike.step()) {
            LOG.warn("{}; not rolled back (the last checkpoint is of step {})", what, back);
            return -1;
        }
        hooks.loadState(ckpt.resolve(Checkpoint.MODEL));
        Checkpoint.restoreTensors(ckpt, cs, ctx.trainable(), ctx.optimizer(), optManager);
        ctx.rolledBack(spike.step() - back);
        spikes.reset();
        LOG.warn(
                "{}; rolled back to the checkpoint of step {}, skipping the data of steps {} to {}"
                        + " ({} of {} rollbacks)",
                what,
                back,
                back + 1,
                spike.step(),
                ctx.rollbacks(),
                spikeGuard.maxRollbacks());
        return back;
    }

    private List<FitListener> listeners(Path output, NDManager root) {
        List<FitListener> out = new ArrayList<>();
        if (evalData != null) {
            out.add(new EvaluationListener(evaluator, evalData, config.evalEvery(), root));
        }
        if (config.earlyStoppingPatience() > 0 && evalData != null) {
            out.add(new EarlyStopping(config.earlyStoppingPatience()));
        }
        boolean writes = dataParallel == null || dataParallel.rank() == 0;
        if (writes) {
            out.add(new MetricsFile());
        }
        out.add(new RecipeRecord(recipes));
        out.addAll(extraListeners);
        if (writes) {
            // last, so that every other listener's state at this step is in the checkpoint
            List<FitListener> withState = new ArrayList<>(out);
            out.add(new Checkpointer(
                    new Checkpoint(output.resolve(CHECKPOINT), hooks, export, withState), config.checkpointEvery()));
        }
        return out;
    }

    /** Stores the frozen base weights in bf16 once the adapters (a checkpoint's too) are in place. */
    private void storeBaseInBf16() {
        Bf16Base.Result r = Bf16Base.store(model);
        if (r.converted().isEmpty()) {
            throw new IllegalArgumentException("precision bf16 stores frozen linear layers in bf16, and this model has"
                    + " none" + (r.kept().isEmpty() ? " (full fine-tuning trains them all)" : ": " + r.kept())
                    + "; use fp32");
        }
        LOG.info(
                "bf16 base: {} linear layers ({} MiB saved){}",
                r.converted().size(),
                r.bytesSaved() >> 20,
                r.kept().isEmpty() ? "" : "; kept in float32: " + r.kept());
    }

    private static void restoreBest(FitContext ctx, ObjectNode state) {
        if (state.hasNonNull("best_accuracy")) {
            ctx.restoreBest(
                    new Evaluation(
                            state.get("best_loss").asDouble(),
                            state.get("best_accuracy").asDouble(),
                            state.get("best_macro_f1").asDouble(),
                            0,
                            new long[0][0]),
                    state.path("best_step").asLong(-1),
                    state.path("evaluations_since_best").asInt());
        }
    }

    /** Builds a {@link FineTuner}: {@code setModel} and {@code setConfig} are required. */
    public static final class Builder {
        private Block model;
        private FineTuneConfig config;
        private TrainingHooks hooks = TrainingHooks.NONE;
        private Loss loss = Loss.softmaxCrossEntropyLoss();
        private Evaluator evaluator;
        private TrainingData evalData;
        private Checkpoint.Export export;
        private final List<FitListener> listeners = new ArrayList<>();
        private Duration gracefulStop;
        private long stopAfter = Long.MAX_VALUE;
        private Precision precision = Precision.FP32;
        private final List<TrainingRecipe> recipes = new ArrayList<>();
        private LossSpikeGuard spikeGuard;
        private DataParallel dataParallel;

        private Builder() {}

        /**
         * Sets the model: a block whose first output the loss takes; its trainable parameters are those that
         * require gradients.
         *
         * @param model the model
         * @return this builder
         */
        public Builder setModel(Block model) {
            this.model = model;
            return this;
        }

        /**
         * Sets the optimizer, schedule, batch and interval settings.
         *
         * @param config the settings
         * @return this builder
         */
        public Builder setConfig(FineTuneConfig config) {
            this.config = config;
            return this;
        }

        /**
         * Sets the model's training hooks (a {@code PeftModel}); default none (full fine-tuning).
         *
         * @param hooks the hooks
         * @return this builder
         */
        public Builder optHooks(TrainingHooks hooks) {
            this.hooks = Objects.requireNonNull(hooks, "hooks");
            return this;
        }

        /**
         * Sets the loss of the first output against the labels (default softmax cross-entropy on logits).
         *
         * @param loss the loss
         * @return this builder
         */
        public Builder optLoss(Loss loss) {
            this.loss = Objects.requireNonNull(loss, "loss");
            return this;
        }

        /**
         * Evaluates on held-out data every {@code evalEvery} steps and at the end, keeping the best evaluation
         * (and stopping early after {@code earlyStoppingPatience} evaluations without improvement).
         *
         * @param evaluator how to evaluate ({@link Evaluator#classification})
         * @param data the held-out examples
         * @return this builder
         */
        public Builder optEvaluation(Evaluator evaluator, TrainingData data) {
            this.evaluator = Objects.requireNonNull(evaluator, "evaluator");
            this.evalData = Objects.requireNonNull(data, "data");
            return this;
        }

        /**
         * Writes the model's deliverable into every checkpoint's {@code adapter/} folder, e.g.
         * {@code peft::saveAdapters}.
         *
         * @param export the writer
         * @return this builder
         */
        public Builder optCheckpointExport(Checkpoint.Export export) {
            this.export = export;
            return this;
        }

        /**
         * Adds a listener, called after the built-in ones and before the checkpoint.
         *
         * @param listener the listener
         * @return this builder
         */
        public Builder addListener(FitListener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        /**
         * On SIGINT or SIGTERM during {@link #fit}, finishes the step, writes a checkpoint and lets the process exit
         * (waiting at most {@code grace}); off by default (a library does not take over signals unasked).
         *
         * @param grace how long the process waits for the checkpoint
         * @return this builder
         */
        public Builder optGracefulStop(Duration grace) {
            this.gracefulStop = grace;
            return this;
        }

        /**
         * Rolls the run back to its last checkpoint on a loss spike, skipping the data of the steps rolled back
         * (off by default). Needs checkpoints ({@link FineTuneConfig#checkpointEvery()}).
         *
         * @param guard when a loss is a spike, and how many rollbacks a run may take
         * @return this builder
         */
        public Builder optLossSpikeGuard(LossSpikeGuard guard) {
            this.spikeGuard = guard;
            return this;
        }

        /**
         * Makes this loop one replica of a data-parallel run (off by default): the batch size is then the global
         * batch, each replica computes the gradients of its share and averages them with the others' through
         * {@code dataParallel} before every update; only rank 0 writes checkpoints and {@code metrics.jsonl} (the
         * other ranks read rank 0's checkpoints, so the output directory must be one the replicas share). Every
         * replica must be given the same model, data, config and recipes.
         *
         * @param dataParallel the replica's rank and transport, e.g. peft-spark's barrier tasks
         * @return this builder
         */
        public Builder optDataParallel(DataParallel dataParallel) {
            this.dataParallel = dataParallel;
            return this;
        }

        /**
         * Sets the number format of the frozen base weights (float32 by default). With {@link Precision#BF16} the
         * frozen linear weights that no adapter reads are stored in bf16 when {@link #fit} starts (after a resumed
         * checkpoint's adapters are added), see {@link Bf16Base}; the run fails if there is none.
         *
         * @param precision the precision
         * @return this builder
         */
        public Builder optPrecision(Precision precision) {
            this.precision = Objects.requireNonNull(precision, "precision");
            return this;
        }

        /**
         * Stops after a step as if the run were interrupted there, keeping the schedule of the whole run (for tests
         * of resume and time-boxed runs).
         *
         * @param step the last step to run (≥ 1)
         * @return this builder
         */
        public Builder optStopAfterStep(long step) {
            if (step < 1) {
                throw new IllegalArgumentException("stop-after step must be >= 1; got " + step);
            }
            this.stopAfter = step;
            return this;
        }

        /**
         * Adds a training recipe (layer freezing, layer-wise learning rates, LISA, LP-FT, LoRA+, LoRA-Pro...); recipes
         * apply in the order added and combine.
         *
         * @param recipe the recipe
         * @return this builder
         */
        public Builder addRecipe(TrainingRecipe recipe) {
            recipes.add(Objects.requireNonNull(recipe, "recipe"));
            return this;
        }

        /**
         * Builds the loop.
         *
         * @return the loop
         */
        public FineTuner build() {
            return new FineTuner(this);
        }
    }
}
