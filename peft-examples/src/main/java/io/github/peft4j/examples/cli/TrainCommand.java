package io.github.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.examples.Classifier;
import io.github.peft4j.examples.Report;
import io.github.peft4j.examples.data.Split;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.lora.LoraConfig;
import io.github.peft4j.sparse.GradientMode;
import io.github.peft4j.sparse.sara.SaraConfig;
import io.github.peft4j.sparse.spiel.SpielConfig;
import io.github.peft4j.lora.LoraInit;
import io.github.peft4j.lora.init.Eva;
import io.github.peft4j.lora.init.LoraGa;
import io.github.peft4j.lora.init.Pissa;
import io.github.peft4j.ssf.SsfConfig;
import io.github.peft4j.models.bert.Bert;
import io.github.peft4j.models.bert.BertForSequenceClassification;
import io.github.peft4j.models.bert.BertTokenizer;
import io.github.peft4j.train.Evaluation;
import io.github.peft4j.train.FineTuneConfig;
import io.github.peft4j.train.FineTuner;
import io.github.peft4j.train.Schedule;
import io.github.peft4j.train.TextClassificationData;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code peft train}: fine-tune a classifier and evaluate it on the held-out test split. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Fine-tune a BERT-family classifier (LoRA or full), evaluate it on the test split, save the"
                + " adapter (or model), metrics.jsonl, results.json and report.html.")
public final class TrainCommand implements Callable<Integer> {

    @Mixin
    private ModelOptions modelOptions;

    @Mixin
    private DataOptions dataOptions;

    @Option(names = "--method", defaultValue = "lora",
            description = "lora, dora, ssf, sara, spiel or full (default: ${DEFAULT-VALUE})")
    private String method;

    @Option(names = "--rank", defaultValue = "8", description = "LoRA rank (default: ${DEFAULT-VALUE})")
    private int rank;

    @Option(names = "--alpha", defaultValue = "16", description = "LoRA alpha (default: ${DEFAULT-VALUE})")
    private double alpha;

    @Option(names = "--dropout", defaultValue = "0.1", description = "LoRA dropout (default: ${DEFAULT-VALUE})")
    private double dropout;

    @Option(names = "--sara-fraction", defaultValue = "0.1",
            description = "SaRA: share of each target weight (its smallest |w|) re-trained (default: ${DEFAULT-VALUE})")
    private double saraFraction;

    @Option(names = "--density", defaultValue = "0.01",
            description = "SpIEL: share of the target weights trained, regrown every 50 steps (default: ${DEFAULT-VALUE})")
    private double density;

    @Option(names = "--sparse-gradient", defaultValue = "auto",
            description = "SaRA/SpIEL: auto, sddmm (sparse kernel, no dense weight gradient) or dense (default:"
                    + " ${DEFAULT-VALUE})")
    private String sparseGradient;

    @Option(names = "--init", defaultValue = "default",
            description = "LoRA/DoRA initialisation: default (Kaiming A, B = 0), gaussian, pissa (weight SVD),"
                    + " lora-ga (gradient SVD over --init-batches batches of 2), eva (PCA of layer inputs, ranks"
                    + " redistributed; reads up to --init-batches batches of 16) (default: ${DEFAULT-VALUE})")
    private String init;

    @Option(names = "--init-batches", description = "batches LoRA-GA averages (default 64) or EVA reads at most"
            + " (default 100)")
    private Integer initBatches;

    @Option(names = "--targets", split = ",",
            description = "target modules: names, all-linear, or a regex prefixed with 're:' (default: query,value"
                    + " for lora and dora; query,key,value,dense,LayerNorm for ssf)")
    private List<String> targets;

    @Option(names = "--lr", description = "peak learning rate (default: 5e-4 for lora, 5e-5 for full)")
    private Double lr;

    @Option(names = "--epochs", defaultValue = "1", description = "epochs (default: ${DEFAULT-VALUE})")
    private int epochs;

    @Option(names = "--max-steps", defaultValue = "0", description = "optimizer steps; overrides --epochs when > 0")
    private long maxSteps;

    @Option(names = "--batch-size", defaultValue = "16", description = "batch size (default: ${DEFAULT-VALUE})")
    private int batchSize;

    @Option(names = "--grad-accum", defaultValue = "1",
            description = "micro-batches per optimizer step (default: ${DEFAULT-VALUE})")
    private int gradAccum;

    @Option(names = "--warmup", defaultValue = "0.06", description = "warm-up share of steps (default: ${DEFAULT-VALUE})")
    private double warmup;

    @Option(names = "--schedule", defaultValue = "linear",
            description = "constant, linear or cosine decay after warm-up (default: ${DEFAULT-VALUE})")
    private String schedule;

    @Option(names = "--eval-every", defaultValue = "100",
            description = "validate every N steps, 0 = at the end (default: ${DEFAULT-VALUE})")
    private long evalEvery;

    @Option(names = "--patience", defaultValue = "0",
            description = "early stopping after N validations without improvement, 0 = off (default: ${DEFAULT-VALUE})")
    private int patience;

    @Option(names = "--checkpoint-every", defaultValue = "100",
            description = "write a resumable checkpoint every N steps (default: ${DEFAULT-VALUE})")
    private long checkpointEvery;

    @Option(names = "--seed", defaultValue = "42", description = "seed of split, init, order, dropout (default: ${DEFAULT-VALUE})")
    private long seed;

    @Option(names = "--output", required = true, description = "run directory")
    private Path output;

    @Option(names = "--resume", description = "resume from this checkpoint (e.g. RUN/checkpoint)")
    private Path resume;

    @Option(names = "--stop-after", defaultValue = "0",
            description = "stop after step N as if interrupted, keeping the schedule of the full run; continue later"
                    + " with --resume OUTPUT/checkpoint (0 = run to the end)")
    private long stopAfter;

    @Option(names = "--no-progress", description = "no progress bar")
    private boolean noProgress;

    @Override
    public Integer call() throws Exception {
        boolean full = switch (method.toLowerCase(Locale.ROOT)) {
            case "lora", "dora", "ssf", "sara", "spiel" -> false;
            case "full" -> true;
            default -> throw new IllegalArgumentException("--method must be lora, dora, ssf, sara, spiel or full;"
                    + " got '" + method + "'");
        };
        boolean dora = method.equalsIgnoreCase("dora");
        boolean ssf = method.equalsIgnoreCase("ssf");
        boolean sparse = method.equalsIgnoreCase("sara") || method.equalsIgnoreCase("spiel");
        GradientMode gradientMode;
        try {
            gradientMode = GradientMode.valueOf(sparseGradient.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--sparse-gradient must be auto, sddmm or dense; got '"
                    + sparseGradient + "'", e);
        }
        String initName = init.toLowerCase(Locale.ROOT);
        if (!List.of("default", "gaussian", "pissa", "lora-ga", "eva").contains(initName)) {
            throw new IllegalArgumentException("--init must be default, gaussian, pissa, lora-ga or eva; got '"
                    + init + "'");
        }
        if (!initName.equals("default") && (full || ssf || sparse)) {
            throw new IllegalArgumentException("--init " + init + " initialises LoRA adapters; it does not apply"
                    + " to --method " + method);
        }
        if (dora && (initName.equals("pissa") || initName.equals("lora-ga"))) {
            throw new IllegalArgumentException("--init " + init + " rewrites the base weights, which DoRA's"
                    + " magnitude is defined on; use it with --method lora");
        }
        if (initBatches != null && initBatches < 1) {
            throw new IllegalArgumentException("--init-batches must be >= 1; got " + initBatches);
        }
        if (targets == null) {
            targets = ssf ? List.of("query", "key", "value", "dense", "LayerNorm")
                    : sparse ? List.of(ModuleSelector.ALL_LINEAR) : List.of("query", "value");
        }
        Schedule sched;
        try {
            sched = Schedule.valueOf(schedule.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--schedule must be constant, linear or cosine; got '" + schedule
                    + "'", e);
        }
        FineTuneConfig cfg = FineTuneConfig.builder().optLearningRate(lr != null ? lr : full ? 5e-5 : 5e-4)
                .optSchedule(sched).optWarmupRatio(warmup).optBatchSize(batchSize).optGradientAccumulation(gradAccum)
                .optEpochs(epochs).optMaxSteps(maxSteps).optEvalEvery(evalEvery).optEarlyStoppingPatience(patience)
                .optCheckpointEvery(checkpointEvery).optSeed(seed).optProgressBar(!noProgress).build();
        if (resume != null && !Files.isRegularFile(resume.resolve("trainer_state.json"))) {
            throw new IllegalArgumentException("--resume " + resume + " is not a checkpoint (no trainer_state.json)");
        }

        Path modelDir = modelOptions.modelDir();
        Split split = dataOptions.split(seed);
        List<String> classes = split.train().classes();
        if (classes.size() < 2) {
            throw new IllegalArgumentException("the training data has " + classes.size() + " class(es) "
                    + classes + "; a classifier needs at least 2");
        }
        System.out.printf(Locale.ROOT, "data: train %d %s, validation %d, test %d%n", split.train().size(),
                split.train().counts(), split.validation().size(), split.test().size());
        Files.createDirectories(output);
        try (NDManager manager = modelOptions.manager();
                BertTokenizer tokenizer = BertTokenizer.open(modelDir, modelOptions.maxLength)) {
            BertForSequenceClassification base = Bert.loadForSequenceClassification(modelDir, classes.size(),
                    manager, true, seed);
            Block model;
            LoraConfig lora = null;
            if (full) {
                base.getParameters().values().forEach(p -> p.freeze(false));
                model = base;
            } else if (ssf) {
                model = PeftModel.builder().setBaseModel(base).optSeed(seed).setConfig(SsfConfig.builder()
                        .setTargetModules(selector(targets)).optModulesToSave("classifier", "pooler")
                        .optTaskType("SEQ_CLS").optBaseModelNameOrPath("minilm".equalsIgnoreCase(modelOptions.model)
                                ? "sentence-transformers/all-MiniLM-L6-v2" : modelOptions.model).build()).build();
            } else if (sparse) {
                String baseName = "minilm".equalsIgnoreCase(modelOptions.model)
                        ? "sentence-transformers/all-MiniLM-L6-v2" : modelOptions.model;
                AdapterConfig sc = method.equalsIgnoreCase("sara")
                        ? SaraConfig.builder().setTargetModules(selector(targets)).optFraction(saraFraction)
                                .optGradient(gradientMode)
                                .optReselectStep(FineTuner.totalSteps(cfg, split.train().size()) / 2)
                                .optModulesToSave("classifier", "pooler").optTaskType("SEQ_CLS")
                                .optBaseModelNameOrPath(baseName).build()
                        : SpielConfig.builder().setTargetModules(selector(targets)).optDensity(density)
                                .optGradient(gradientMode)
                                .optDrop(0.2, Math.max(1, FineTuner.totalSteps(cfg, split.train().size())))
                                .optModulesToSave("classifier", "pooler").optTaskType("SEQ_CLS")
                                .optBaseModelNameOrPath(baseName).build();
                model = PeftModel.builder().setBaseModel(base).setConfig(sc).optSeed(seed).build();
            } else {
                lora = LoraConfig.builder().setTargetModules(selector(targets)).optRank(rank).optAlpha(alpha)
                        .optDropout(dropout).optUseDora(dora).optInit(initName.equals("gaussian")
                                ? LoraInit.GAUSSIAN : LoraInit.DEFAULT)
                        .optModulesToSave("classifier", "pooler").optTaskType("SEQ_CLS")
                        .optBaseModelNameOrPath("minilm".equalsIgnoreCase(modelOptions.model)
                                ? "sentence-transformers/all-MiniLM-L6-v2" : modelOptions.model).build();
                model = PeftModel.builder().setBaseModel(base).setConfig(lora).optSeed(seed).build();
            }
            long trainable = model.getParameters().values().stream().filter(Parameter::requiresGradient)
                    .mapToLong(p -> p.getArray().size()).sum();
            String counts = model instanceof PeftModel p ? p.getTrainableParameters().toString()
                    : String.format(Locale.ROOT, "trainable params: %,d (full fine-tuning)", trainable);
            TextClassificationData train = split.train().toTrainingData(classes, tokenizer);
            if (model instanceof PeftModel peft && !ssf) {
                initialise(peft, train); // EVA may change ranks and with them the counts
                counts = peft.getTrainableParameters().toString();
                trainable = peft.getTrainableParameters().trainable();
            }
            System.out.println(counts);
            TextClassificationData val = split.validation().size() == 0 ? null
                    : split.validation().toTrainingData(classes, tokenizer);
            FineTuner tuner = new FineTuner(model, cfg, classes.size());
            if (stopAfter > 0) {
                tuner.stopAfterStep(stopAfter);
            }
            FineTuner.Result result = tuner.fit(train, val, output, resume);
            Evaluation test = split.test().size() == 0 ? null : Evaluation.of(model, split.test().toTrainingData(
                    classes, tokenizer), cfg.evalBatchSize(), classes.size(), manager);

            Path saved;
            if (model instanceof PeftModel peft) {
                saved = output.resolve("adapter");
                peft.saveAdapters(saved);
                Classifier.writeLabels(saved, classes);
            } else {
                saved = output.resolve("model");
                Classifier.writeMerged(base, classes, modelDir, saved);
            }

            Map<String, String> settings = new LinkedHashMap<>();
            settings.put("model", modelOptions.model + " (" + modelDir + ")");
            settings.put("data", dataOptions.data + " (train " + split.train().size() + ", validation "
                    + split.validation().size() + ", test " + split.test().size() + ")");
            settings.put("classes", classes.toString());
            settings.put("method", full ? "full fine-tuning" : sparse ? method.toLowerCase(Locale.ROOT) + " "
                    + (method.equalsIgnoreCase("sara") ? "fraction=" + saraFraction : "density=" + density)
                    + ", gradient=" + gradientMode.name().toLowerCase(Locale.ROOT) + ", targets=" + targets
                    + ", modules_to_save=[classifier, pooler]" : ssf ? "SSF, targets=" + targets
                    + ", modules_to_save=[classifier, pooler]" : (dora ? "DoRA" : "LoRA") + " r=" + rank + ", alpha="
                    + alpha + ", dropout=" + dropout + ", init=" + initName + ", targets=" + targets
                    + ", modules_to_save=[classifier, pooler]");
            settings.put("parameters", counts);
            settings.put("optimizer", String.format(Locale.ROOT, "AdamW lr=%g, weight decay %g, %s schedule, warm-up"
                    + " %.2f, clip %.1f", cfg.learningRate(), cfg.weightDecay(), cfg.schedule(), cfg.warmupRatio(),
                    cfg.maxGradNorm()));
            settings.put("batch", cfg.batchSize() + " × " + cfg.gradientAccumulation() + " accumulation, max length "
                    + modelOptions.maxLength);
            settings.put("steps", result.steps() + " of " + result.totalSteps() + " (epochs " + epochs
                    + (maxSteps > 0 ? ", max steps " + maxSteps : "") + ")");
            settings.put("seed", Long.toString(seed));
            settings.put("device", manager.getDevice().toString());
            settings.put("saved", saved.toString());
            Report.write(output.resolve("report.html"), "peft4j fine-tuning report", settings, result, test,
                    classes);
            writeResults(output, settings, result, test, trainable);

            System.out.println();
            if (test != null) {
                System.out.printf(Locale.ROOT, "test: accuracy %.4f, macro-F1 %.4f, loss %.4f (%d examples)%n",
                        test.accuracy(), test.macroF1(), test.loss(), test.examples());
            }
            System.out.printf(Locale.ROOT, "%d steps in %.0f s; %s saved to %s%n", result.steps(), result.seconds(),
                    full ? "model" : "adapter", saved.toAbsolutePath());
            System.out.println("report: " + output.resolve("report.html").toAbsolutePath());
            return 0;
        }
    }

    private void initialise(PeftModel model, TextClassificationData train) {
        String adapter = PeftModel.DEFAULT_ADAPTER;
        long t0 = System.nanoTime();
        switch (init.toLowerCase(Locale.ROOT)) {
            case "pissa" -> Pissa.initialize(model, adapter, Pissa.DEFAULT_POWER_ITERATIONS, seed);
            case "lora-ga" -> {
                LoraGa.Options d = LoraGa.Options.defaults(seed);
                LoraGa.initialize(model, adapter, train, new LoraGa.Options(initBatches != null ? initBatches
                        : d.batches(), d.batchSize(), d.gamma(), d.powerIterations(), seed));
            }
            case "eva" -> {
                Eva.Options d = Eva.Options.defaults(seed);
                Eva.Result r = Eva.initialize(model, adapter, train, new Eva.Options(d.rho(), d.tau(),
                        d.batchSize(), initBatches != null ? initBatches : d.maxBatches(), seed, d.tokenMask()));
                System.out.printf(Locale.ROOT, "EVA: %d batches, %s; ranks %s%n", r.batches(),
                        r.converged() ? "converged" : "not converged", r.ranks().values());
            }
            default -> {
                return;
            }
        }
        System.out.printf(Locale.ROOT, "init %s: %.1f s%n", init, (System.nanoTime() - t0) / 1e9);
    }

    static ModuleSelector selector(List<String> targets) {
        if (targets.size() == 1 && targets.get(0).startsWith("re:")) {
            return ModuleSelector.regex(targets.get(0).substring(3));
        }
        if (targets.size() == 1 && targets.get(0).equals(ModuleSelector.ALL_LINEAR)) {
            return ModuleSelector.allLinear();
        }
        return ModuleSelector.names(targets);
    }

    private static void writeResults(Path output, Map<String, String> settings, FineTuner.Result result,
            Evaluation test, long trainable) throws java.io.IOException {
        ObjectNode o = Json.MAPPER.createObjectNode();
        ObjectNode s = o.putObject("settings");
        settings.forEach(s::put);
        o.put("trainable_parameters", trainable);
        o.put("steps", result.steps());
        o.put("train_seconds", result.seconds());
        o.put("stopped_early", result.stoppedEarly());
        long rss = io.github.peft4j.train.ProcessMemory.peakResidentKb();
        if (rss > 0) {
            o.put("peak_rss_mb", rss / 1024.0);
        }
        if (result.best() != null) {
            o.put("best_validation_accuracy", result.best().accuracy()).put("best_step", result.bestStep());
        }
        if (test != null) {
            o.put("test_accuracy", test.accuracy()).put("test_macro_f1", test.macroF1()).put("test_loss",
                    test.loss()).put("test_examples", test.examples());
            o.put("test_confusion", Arrays.deepToString(test.confusion()));
        }
        Files.writeString(output.resolve("results.json"), Json.write(o), StandardCharsets.UTF_8);
    }
}
