package io.github.peft4j.train;

import ai.djl.engine.Engine;
import io.github.peft4j.core.Scalars;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.loss.Loss;
import ai.djl.util.Pair;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.io.AtomicDirectory;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.Safetensors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A training loop for classifiers: AdamW, warm-up then decay, gradient clipping and accumulation, evaluation every N
 * steps with early stopping, atomic checkpoints and exact resume, a console progress bar, SLF4J logging and a JSONL
 * metrics file.
 *
 * <p>Why not DJL's {@code Trainer}/{@code EasyTrain}: its optimizers keep their moments in private fields, so a
 * checkpoint cannot save them and a resumed run would not end where an uninterrupted one does; it has no gradient
 * accumulation or clipping across micro-batches. This loop runs on DJL's autograd ({@link GradientCollector}) and
 * {@link ParameterStore} like {@code Trainer}, and trains any block — a {@link PeftModel} or a model whose parameters
 * are all trainable (full fine-tuning).
 *
 * <p>Reproducibility: the data order of epoch e is a permutation drawn from {@code (seed, e)}, and the engine's RNG
 * (dropout) is re-seeded from {@code (seed, step)} before every step. The RNG state of a run is therefore its seed and
 * step, which a checkpoint records: a resumed run computes exactly what the uninterrupted one would.
 */
public final class FineTuner {

    private static final Logger LOG = LoggerFactory.getLogger(FineTuner.class);

    /** The checkpoint folder inside the output directory. */
    public static final String CHECKPOINT = "checkpoint";

    private final Block model;
    private final FineTuneConfig config;
    private final int numClasses;
    private final Map<String, Parameter> trainable = new LinkedHashMap<>();
    private long stopAfter = Long.MAX_VALUE;

    /** One logged point of the run. */
    public record Point(long step, double loss, double lr, Double evalLoss, Double evalAccuracy, Double evalMacroF1) {}

    /**
     * The outcome of {@link #fit}.
     *
     * @param steps optimizer steps done
     * @param totalSteps steps the schedule was planned for
     * @param history logged points (train and eval)
     * @param best the best evaluation (by accuracy), or null without evaluation data
     * @param bestStep the step of {@code best}
     * @param stoppedEarly whether early stopping ended the run
     * @param seconds wall time of this call
     */
    public record Result(long steps, long totalSteps, List<Point> history, Evaluation best, long bestStep,
            boolean stoppedEarly, double seconds) {}

    /**
     * Creates the loop.
     *
     * @param model a block whose first output is logits [batch, classes]; its trainable parameters are those that
     *     require gradients
     * @param config the settings
     * @param numClasses the number of classes
     */
    public FineTuner(Block model, FineTuneConfig config, int numClasses) {
        this.model = model;
        this.config = config;
        this.numClasses = numClasses;
        for (Pair<String, Parameter> p : model.getParameters()) {
            if (p.getValue().requiresGradient()) {
                trainable.put(p.getKey(), p.getValue());
            }
        }
        if (trainable.isEmpty()) {
            throw new IllegalArgumentException("the model has no trainable parameter: wrap it in a PeftModel or"
                    + " unfreeze parameters for full fine-tuning");
        }
    }

    /**
     * Stops after a step as if the run were interrupted there (for tests of resume and for time-boxed runs).
     *
     * @param step the last step to run
     * @return this
     */
    public FineTuner stopAfterStep(long step) {
        this.stopAfter = step;
        return this;
    }

    /**
     * Returns the trainable parameters by stable key.
     *
     * @return the parameters
     */
    public Map<String, Parameter> getTrainableParameters() {
        return trainable;
    }

    /**
     * Plans the number of optimizer steps.
     *
     * @param trainSize the number of training examples
     * @return the total steps
     */
    public long totalSteps(int trainSize) {
        return totalSteps(config, trainSize);
    }

    /**
     * Returns the optimizer steps a config runs on a training set, before the model exists (for methods scheduled
     * by step, e.g. SaRA's re-selection halfway).
     *
     * @param config the settings
     * @param trainSize the number of training examples
     * @return the steps
     */
    public static long totalSteps(FineTuneConfig config, int trainSize) {
        return config.maxSteps() > 0 ? config.maxSteps() : stepsPerEpoch(config, trainSize) * config.epochs();
    }

    private long stepsPerEpoch(int trainSize) {
        return stepsPerEpoch(config, trainSize);
    }

    private static long stepsPerEpoch(FineTuneConfig config, int trainSize) {
        return Math.max(1, trainSize / ((long) config.batchSize() * config.gradientAccumulation()));
    }

    /**
     * Trains.
     *
     * @param train the training examples
     * @param eval the evaluation examples, or null
     * @param output where checkpoints and {@code metrics.jsonl} go (created)
     * @param resume a checkpoint to resume from, or null
     * @return what happened
     * @throws IOException if a checkpoint or the metrics file cannot be written or read
     */
    public Result fit(TrainingData train, TrainingData eval, Path output, Path resume) throws IOException {
        if (train.size() < config.batchSize()) {
            throw new IllegalArgumentException("the training data has " + train.size() + " examples, fewer than"
                    + " one batch of " + config.batchSize());
        }
        Files.createDirectories(output);
        long total = totalSteps(train.size());
        long warmup = (long) Math.floor(config.warmupRatio() * total);
        long perEpoch = stepsPerEpoch(train.size());
        NDManager root = trainable.values().iterator().next().getArray().getManager();
        List<Point> history = new ArrayList<>();
        Evaluation best = null;
        long bestStep = -1;
        int badEvals = 0;
        int skipped = 0;
        long start = 0;
        boolean early = false;
        long t0 = System.nanoTime();
        Loss ce = Loss.softmaxCrossEntropyLoss();
        try (NDManager optManager = root.newSubManager(); AdamW opt = new AdamW(config.beta1(), config.beta2(),
                config.eps(), config.weightDecay(), optManager);
                BufferedWriter metrics = Files.newBufferedWriter(output.resolve("metrics.jsonl"),
                        StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            if (resume != null) {
                ObjectNode state = restore(resume, opt, optManager);
                start = state.get("step").asLong();
                badEvals = state.path("bad_evals").asInt();
                bestStep = state.path("best_step").asLong(-1);
                if (state.hasNonNull("best_accuracy")) {
                    best = new Evaluation(state.get("best_loss").asDouble(), state.get("best_accuracy").asDouble(),
                            state.get("best_macro_f1").asDouble(), 0, new long[0][0]);
                }
                LOG.info("resumed from {} at step {}", resume, start);
                if (System.getenv("MKL_CBWR") == null) {
                    LOG.info("for a resumed run identical to an uninterrupted one bit for bit, start both with the"
                            + " environment MKL_CBWR=AUTO MKL_DYNAMIC=FALSE (libtorch's MKL otherwise picks kernels by"
                            + " memory alignment and load)");
                }
            }
            Progress progress = new Progress(config.progressBar() ? System.err : null, total, start);
            int[] order = null;
            long orderEpoch = -1;
            for (long step = start; step < total && step < stopAfter; step++) {
                long epoch = step / perEpoch;
                if (epoch != orderEpoch) {
                    order = permutation(train.size(), config.seed() * 31 + epoch);
                    orderEpoch = epoch;
                }
                Engine.getInstance().setRandomSeed((int) (config.seed() * 1_000_003L + step));
                double lossValue = 0;
                for (int micro = 0; micro < config.gradientAccumulation(); micro++) {
                    int offset = (int) ((step % perEpoch) * config.gradientAccumulation() + micro)
                            * config.batchSize();
                    int[] idx = new int[config.batchSize()];
                    System.arraycopy(order, offset, idx, 0, idx.length);
                    try (NDManager s = root.newSubManager(); GradientCollector gc = Engine.getInstance()
                            .newGradientCollector()) {
                        NDList inputs = train.inputs(idx, s);
                        NDArray logits = model.forward(new ParameterStore(s, false), inputs, true).get(0);
                        NDArray loss = ce.evaluate(new NDList(train.labels(idx, s)), new NDList(logits));
                        lossValue += loss.getFloat() / config.gradientAccumulation();
                        gc.backward(Scalars.div(loss, config.gradientAccumulation()));
                        if (model instanceof PeftModel peft) {
                            peft.afterBackward();
                        }
                    }
                }
                if (model instanceof PeftModel peft) {
                    peft.beforeStep(step);
                }
                double gradNorm = clipGradients();
                double lr = config.schedule().at(config.learningRate(), step, warmup, total);
                if (Double.isFinite(gradNorm) && Double.isFinite(lossValue)) {
                    opt.step(trainable, lr);
                } else {
                    // as mixed-precision loss scalers do: a non-finite gradient must never reach the weights
                    skipped++;
                    LOG.warn("step {}: non-finite {} (loss {}); update skipped ({} so far). Non-finite gradients"
                            + " in: {}", step + 1, Double.isFinite(lossValue) ? "gradient norm" : "loss", lossValue,
                            skipped, nonFiniteGradients());
                }
                if (model instanceof PeftModel peft) {
                    peft.afterStep(step, (param, positions) -> {
                        for (Map.Entry<String, Parameter> e : trainable.entrySet()) {
                            if (e.getValue() == param) {
                                opt.resetState(e.getKey(), positions);
                            }
                        }
                    });
                }
                zeroGradients();
                long done = step + 1;
                Point point = new Point(done, lossValue, lr, null, null, null);
                ObjectNode line = Json.MAPPER.createObjectNode().put("step", done).put("epoch", (double) done
                        / perEpoch).put("loss", lossValue).put("lr", lr).put("grad_norm", gradNorm);
                long rss = ProcessMemory.residentKb();
                if (rss > 0) {
                    line.put("rss_mb", rss / 1024.0);
                }
                boolean last = done == total || done == stopAfter;
                if (eval != null && ((config.evalEvery() > 0 && done % config.evalEvery() == 0) || done == total)) {
                    Evaluation e = Evaluation.of(model, eval, config.evalBatchSize(), numClasses, root);
                    point = new Point(done, lossValue, lr, e.loss(), e.accuracy(), e.macroF1());
                    line.put("eval_loss", e.loss()).put("eval_accuracy", e.accuracy()).put("eval_macro_f1",
                            e.macroF1());
                    LOG.info(String.format(Locale.ROOT, "step %d/%d: eval loss %.4f, accuracy %.4f, macro-F1 %.4f",
                            done, total, e.loss(), e.accuracy(), e.macroF1()));
                    if (best == null || e.accuracy() > best.accuracy()) {
                        best = e;
                        bestStep = done;
                        badEvals = 0;
                    } else if (config.earlyStoppingPatience() > 0 && ++badEvals >= config.earlyStoppingPatience()) {
                        early = true;
                    }
                }
                history.add(point);
                metrics.write(line.toString());
                metrics.newLine();
                metrics.flush();
                progress.update(done, lossValue, lr);
                if ((config.checkpointEvery() > 0 && done % config.checkpointEvery() == 0) || last || early) {
                    ObjectNode state = Json.MAPPER.createObjectNode().put("step", done).put("total_steps", total)
                            .put("seed", config.seed()).put("bad_evals", badEvals).put("best_step", bestStep);
                    if (best != null) {
                        state.put("best_loss", best.loss()).put("best_accuracy", best.accuracy())
                                .put("best_macro_f1", best.macroF1());
                    }
                    checkpoint(output.resolve(CHECKPOINT), opt, state);
                }
                if (early) {
                    LOG.info("early stopping at step {}: no better accuracy in {} evaluations", done,
                            config.earlyStoppingPatience());
                    break;
                }
            }
            progress.finish();
            long steps = history.isEmpty() ? start : history.get(history.size() - 1).step();
            return new Result(steps, total, history, best, bestStep, early, (System.nanoTime() - t0) / 1e9);
        }
    }

    private double clipGradients() {
        double sq = 0;
        for (Parameter p : trainable.values()) {
            try (NDArray g = p.getArray().getGradient(); NDArray g2 = g.square(); NDArray n = g2.sum()) {
                sq += n.getFloat();
            }
        }
        double norm = Math.sqrt(sq);
        if (config.maxGradNorm() > 0 && norm > config.maxGradNorm()) {
            double scale = config.maxGradNorm() / (norm + 1e-6);
            for (Parameter p : trainable.values()) {
                try (NDArray g = p.getArray().getGradient()) {
                    Scalars.muli(g, scale);
                }
            }
        }
        return norm;
    }

    private List<String> nonFiniteGradients() {
        List<String> bad = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : trainable.entrySet()) {
            try (NDArray g = e.getValue().getArray().getGradient(); NDArray nan = g.isNaN();
                    NDArray inf = g.isInfinite(); NDArray either = nan.logicalOr(inf); NDArray f = either.any()) {
                if (f.getBoolean()) {
                    bad.add(e.getKey());
                }
            }
        }
        return bad.size() > 6 ? bad.subList(0, 6) : bad;
    }

    private void zeroGradients() {
        for (Parameter p : trainable.values()) {
            try (NDArray g = p.getArray().getGradient()) {
                Scalars.fill(g, 0);
            }
        }
    }

    private static int[] permutation(int n, long seed) {
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

    private void checkpoint(Path dir, AdamW opt, ObjectNode state) throws IOException {
        state.put("optimizer_step", opt.getStep());
        ArrayNode keys = state.putArray("trainable");
        trainable.keySet().forEach(keys::add);
        AtomicDirectory.write(dir, tmp -> {
            Map<String, NDArray> values = new LinkedHashMap<>();
            trainable.forEach((k, p) -> values.put(k, p.getArray()));
            Safetensors.write(tmp.resolve("trainable.safetensors"), values, Map.of("format", "pt"));
            Safetensors.write(tmp.resolve("optimizer.safetensors"), opt.state(), Map.of("format", "pt"));
            Files.writeString(tmp.resolve("trainer_state.json"), Json.write(state), StandardCharsets.UTF_8);
            if (model instanceof PeftModel peft) {
                peft.saveAdapters(tmp.resolve("adapter"));
            }
        });
    }

    private ObjectNode restore(Path dir, AdamW opt, NDManager manager) throws IOException {
        Path stateFile = dir.resolve("trainer_state.json");
        if (!Files.isRegularFile(stateFile)) {
            throw new IOException("not a peft4j checkpoint: " + stateFile + " is missing");
        }
        ObjectNode state = Json.readObject(stateFile);
        if (state.path("seed").asLong() != config.seed()) {
            throw new IllegalArgumentException("checkpoint " + dir + " was written with seed "
                    + state.path("seed").asLong() + " but this run uses seed " + config.seed()
                    + "; resume with the same seed");
        }
        try (NDManager scope = manager.newSubManager()) {
            Map<String, NDArray> values = Safetensors.read(dir.resolve("trainable.safetensors"), scope).tensors();
            if (!values.keySet().equals(trainable.keySet())) {
                throw new IllegalArgumentException("checkpoint " + dir + " holds other trainable parameters than"
                        + " this model (" + values.size() + " vs " + trainable.size() + "): resume with the same"
                        + " model, method and targets");
            }
            for (Map.Entry<String, Parameter> e : trainable.entrySet()) {
                NDArray src = values.get(e.getKey());
                if (!src.getShape().equals(e.getValue().getArray().getShape())) {
                    throw new IllegalArgumentException("checkpoint tensor '" + e.getKey() + "' has shape "
                            + src.getShape() + " but the model expects " + e.getValue().getArray().getShape());
                }
                ParameterValues.copyInto(e.getValue().getArray(), src);
            }
            opt.restore(Safetensors.read(dir.resolve("optimizer.safetensors"), scope).tensors(),
                    state.path("optimizer_step").asLong());
        }
        return state;
    }

    /** A one-line console progress bar. */
    private static final class Progress {
        private final PrintStream out;
        private final long total;
        private final long start;
        private final long t0 = System.nanoTime();

        Progress(PrintStream out, long total, long start) {
            this.out = out;
            this.total = total;
            this.start = start;
        }

        void update(long done, double loss, double lr) {
            if (out == null) {
                return;
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            double rate = (done - start) / Math.max(secs, 1e-9);
            long eta = (long) ((total - done) / Math.max(rate, 1e-9));
            int width = 30;
            int filled = (int) (width * done / total);
            out.printf(Locale.ROOT, "\r[%s%s] %d/%d loss %.4f lr %.2e %.2f steps/s ETA %02d:%02d ",
                    "=".repeat(filled), " ".repeat(width - filled), done, total, loss, lr, rate, eta / 60, eta % 60);
            out.flush();
        }

        void finish() {
            if (out != null) {
                out.println();
            }
        }
    }
}
