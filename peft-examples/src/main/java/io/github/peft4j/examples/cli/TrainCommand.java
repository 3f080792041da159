package io.github.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.loss.Loss;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.Targets;
import io.github.peft4j.examples.Classifier;
import io.github.peft4j.examples.cli.method.AdaLoraOptions;
import io.github.peft4j.examples.cli.method.BottleneckOptions;
import io.github.peft4j.examples.cli.method.DseeOptions;
import io.github.peft4j.examples.cli.method.FullFineTuning;
import io.github.peft4j.examples.cli.method.Ia3MethodOption;
import io.github.peft4j.examples.cli.method.LnTuningMethodOption;
import io.github.peft4j.examples.cli.method.LoraOptions;
import io.github.peft4j.examples.cli.method.PolyOptions;
import io.github.peft4j.examples.cli.method.PromptOptions;
import io.github.peft4j.examples.cli.method.SparseOptions;
import io.github.peft4j.examples.cli.method.SsfMethodOption;
import io.github.peft4j.examples.cli.method.TrainMethod;
import io.github.peft4j.examples.data.Split;
import io.github.peft4j.models.bert.Bert;
import io.github.peft4j.models.bert.BertForSequenceClassification;
import io.github.peft4j.models.bert.BertTokenizer;
import io.github.peft4j.train.Checkpoint;
import io.github.peft4j.train.DataParallel;
import io.github.peft4j.train.Evaluation;
import io.github.peft4j.train.Evaluator;
import io.github.peft4j.train.FineTuneConfig;
import io.github.peft4j.train.FineTuner;
import io.github.peft4j.train.LossSpikeGuard;
import io.github.peft4j.train.Precision;
import io.github.peft4j.train.Schedule;
import io.github.peft4j.train.TrainingData;
import io.github.peft4j.train.TrainingRecipe;
import io.github.peft4j.train.TrainingReport;
import io.github.peft4j.train.listener.Progress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code peft train}: fine-tune a classifier and evaluate it on the held-out test split. The method's own options and
 * config live in one {@link TrainMethod} per {@code --method}; this class wires data, model, loop and report.
 */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        description = "Fine-tune a BERT-family classifier (--task seq-cls: LoRA, DoRA, SSF, SaRA, SpIEL or full),"
                + " evaluate it on the test split, or a decoder LLM on JSONL examples (--task causal-lm: validation"
                + " loss and perplexity); save the adapter (or model), metrics.jsonl, results.json and report.html."
                + " Ctrl-C or SIGTERM writes a checkpoint before exiting; --resume continues from it.")
public final class TrainCommand implements Callable<Integer> {

    /** Modules every classifier adapter trains fully and saves whole: the pooler and the classification head. */
    static final List<String> HEAD = List.of("classifier", "pooler");

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    /** This run's place in a data-parallel run ({@link #runReplica}); null for a run on its own. */
    private DataParallel dataParallel;

    @Mixin
    private ModelOptions modelOptions;

    @Mixin
    private DataOptions dataOptions;

    @Mixin
    private LoraOptions loraOptions;

    @Mixin
    private SparseOptions sparseOptions;

    @Mixin
    private RecipeOptions recipeOptions;

    @Mixin
    private BottleneckOptions bottleneckOptions;

    @Mixin
    private AdaLoraOptions adaLoraOptions;

    @Mixin
    private PromptOptions promptOptions;

    @Mixin
    private DseeOptions dseeOptions;

    @Mixin
    private PolyOptions polyOptions;

    @Option(
            names = "--task",
            defaultValue = "seq-cls",
            description = "seq-cls (a classifier on labelled texts) or causal-lm (a decoder on JSONL {prompt,"
                    + " completion}, {messages} or {text}) (default: ${DEFAULT-VALUE})")
    private String task;

    @Option(names = "--packing", description = "causal-lm: pack examples end to end into blocks of --max-length tokens")
    private boolean packing;

    @Option(
            names = "--full-loss",
            description = "causal-lm: every token counts in the loss, prompts too (default: completions only)")
    private boolean fullLoss;

    @Option(
            names = "--method",
            defaultValue = "lora",
            description =
                    "lora, dora, ssf, ia3, loha, lokr, vera, hydra, adapter, adalora, dsee, poly, ln, sara, spiel,"
                            + " full; prompt or prefix (--task causal-lm)"
                            + " (default: ${DEFAULT-VALUE})")
    private String method;

    @Option(
            names = "--feedforward-modules",
            split = ",",
            description = "ia3: the targets whose input, not output, is scaled (default: output.dense with the default"
                    + " targets, none with --targets)")
    private List<String> feedforwardModules;

    @Option(
            names = "--targets",
            split = ",",
            description = "target modules: names, all-linear, or a regex prefixed with 're:' (default: query,value"
                    + " for lora, dora, loha, lokr, vera, hydra, adalora, dsee and poly;"
                    + " query,key,value,dense,LayerNorm for ssf; key,value,output.dense for ia3; LayerNorm for ln;"
                    + " output.dense for adapter (houlsby); all-linear for sara and spiel)")
    private List<String> targets;

    @Option(names = "--lr", description = "peak learning rate (default: 5e-4, 5e-5 for full)")
    private Double lr;

    @Option(names = "--epochs", defaultValue = "1", description = "epochs (default: ${DEFAULT-VALUE})")
    private int epochs;

    @Option(names = "--max-steps", defaultValue = "0", description = "optimizer steps; overrides --epochs when > 0")
    private long maxSteps;

    @Option(names = "--batch-size", defaultValue = "16", description = "batch size (default: ${DEFAULT-VALUE})")
    private int batchSize;

    @Option(
            names = "--grad-accum",
            defaultValue = "1",
            description = "micro-batches per optimizer step (default: ${DEFAULT-VALUE})")
    private int gradAccum;

    @Option(
            names = "--warmup",
            defaultValue = "0.06",
            description = "warm-up share of steps (default: ${DEFAULT-VALUE})")
    private double warmup;

    @Option(
            names = "--schedule",
            defaultValue = "linear",
            description = "constant, linear or cosine decay after warm-up (default: ${DEFAULT-VALUE})")
    private String schedule;

    @Option(
            names = "--eval-every",
            defaultValue = "100",
            description = "validate every N steps, 0 = at the end (default: ${DEFAULT-VALUE})")
    private long evalEvery;

    @Option(
            names = "--eval-batch-size",
            defaultValue = "32",
            description = "examples per forward pass when evaluating (default: ${DEFAULT-VALUE})")
    private int evalBatchSize;

    @Option(
            names = "--patience",
            defaultValue = "0",
            description =
                    "early stopping after N validations without improvement, 0 = off (default:" + " ${DEFAULT-VALUE})")
    private int patience;

    @Option(
            names = "--checkpoint-every",
            defaultValue = "100",
            description = "write a resumable checkpoint every N steps (default: ${DEFAULT-VALUE})")
    private long checkpointEvery;

    @Option(
            names = "--loss-spike-factor",
            description = "roll back to the last checkpoint when a step's loss exceeds this many times the median of"
                    + " the last --loss-spike-window steps, skipping the data since (off by default; e.g. 3)")
    private Double lossSpikeFactor;

    @Option(
            names = "--loss-spike-window",
            defaultValue = "20",
            description = "with --loss-spike-factor: the steps the median is over (default: ${DEFAULT-VALUE})")
    private int lossSpikeWindow;

    @Option(
            names = "--seed",
            defaultValue = "42",
            description = "seed of split, init, order, dropout (default: ${DEFAULT-VALUE})")
    private long seed;

    @Option(names = "--output", required = true, description = "run directory")
    private Path output;

    @Option(
            names = "--resume",
            description = "resume from this checkpoint (e.g. RUN/checkpoint); the adapter and its"
                    + " settings come from the checkpoint")
    private Path resume;

    @Option(
            names = "--stop-after",
            defaultValue = "0",
            description = "stop after step N as if interrupted, keeping the schedule of the full run; continue later"
                    + " with --resume OUTPUT/checkpoint (0 = run to the end)")
    private long stopAfter;

    @Option(names = "--no-progress", description = "no progress bar or progress lines")
    private boolean noProgress;

    @Option(
            names = "--precision",
            defaultValue = "fp32",
            description = "fp32, or bf16: frozen linear weights held and multiplied in bf16 (half their memory);"
                    + " adapters, trained modules and optimizer state stay fp32 (default: ${DEFAULT-VALUE})")
    private String precision;

    /** The loss-spike guard of --loss-spike-factor (at most 3 rollbacks), or null. */
    private LossSpikeGuard spikeGuard() {
        if (lossSpikeFactor != null && (!(lossSpikeFactor > 1) || lossSpikeWindow < 3)) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(),
                    "--loss-spike-factor must be > 1 and --loss-spike-window ≥ 3; got " + lossSpikeFactor + " and "
                            + lossSpikeWindow);
        }
        return lossSpikeFactor == null ? null : new LossSpikeGuard(lossSpikeFactor, lossSpikeWindow, 3);
    }

    private Map<String, TrainMethod> methods() {
        Map<String, TrainMethod> m = new LinkedHashMap<>();
        for (TrainMethod t : List.of(
                loraOptions.method(false),
                loraOptions.method(true),
                new SsfMethodOption(),
                new Ia3MethodOption(feedforwardModules, targets != null),
                loraOptions.loha(),
                loraOptions.lokr(),
                loraOptions.vera(),
                loraOptions.hydra(),
                bottleneckOptions.method(),
                adaLoraOptions.method(loraOptions),
                dseeOptions.method(loraOptions, seed),
                polyOptions.method(loraOptions),
                new LnTuningMethodOption(),
                sparseOptions.sara(),
                sparseOptions.spiel(),
                new FullFineTuning(),
                promptOptions.method(false),
                promptOptions.method(true))) {
            m.put(t.name(), t);
        }
        return m;
    }

    /** The chosen method, after checking that no other method's options were given. */
    private TrainMethod chosenMethod() {
        Map<String, TrainMethod> all = methods();
        TrainMethod chosen = all.get(method.toLowerCase(Locale.ROOT));
        if (chosen == null) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "--method must be one of " + all.keySet() + "; got '" + method + "'");
        }
        Set<String> given = new TreeSet<>();
        spec.commandLine().getParseResult().matchedOptions().forEach(o -> given.add(o.longestName()));
        for (TrainMethod other : all.values()) {
            for (String o : other.options()) {
                if (given.contains(o) && !chosen.options().contains(o)) {
                    throw new CommandLine.ParameterException(
                            spec.commandLine(),
                            o + " does not apply to --method " + chosen.name() + " (it is an option of "
                                    + owners(all, o) + ")");
                }
            }
        }
        chosen.validate();
        return chosen;
    }

    private static List<String> owners(Map<String, TrainMethod> all, String option) {
        return all.values().stream()
                .filter(t -> t.options().contains(option))
                .map(TrainMethod::name)
                .toList();
    }

    @Override
    public Integer call() throws Exception {
        TrainMethod m = chosenMethod();
        if (dataParallel != null) {
            checkDataParallel(m);
        }
        List<TrainingRecipe> recipes;
        try {
            recipes = recipeOptions.recipes(m.name(), task, seed);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        FineTuneConfig cfg = fineTuneConfig(m);
        Precision prec;
        try {
            prec = Precision.parse(precision);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--" + e.getMessage());
        }
        if (prec == Precision.BF16 && "full".equals(m.name())) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(),
                    "--precision bf16 holds frozen base weights in bf16; --method full trains them all, so nothing"
                            + " would be frozen: use --precision fp32");
        }
        if ("causal-lm".equals(task)) {
            return new CausalLmTraining(
                            modelOptions,
                            dataOptions.data,
                            dataOptions.limit,
                            m,
                            cfg,
                            targets,
                            output,
                            resume,
                            stopAfter,
                            prec,
                            !noProgress,
                            packing,
                            fullLoss,
                            recipes,
                            spikeGuard(),
                            dataParallel)
                    .run();
        }
        if (!"seq-cls".equals(task)) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "--task must be seq-cls or causal-lm; got '" + task + "'");
        }
        if (packing || fullLoss) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "--packing and --full-loss apply to --task causal-lm");
        }
        if (m instanceof PromptOptions.PromptMethod) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(),
                    "--method " + m.name() + " tunes a decoder's prompt: it applies to --task causal-lm");
        }
        if (modelOptions.randomInit) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--random-init applies to --task causal-lm");
        }
        if (modelOptions.maxLength > 512) {
            throw new IllegalArgumentException(
                    "--max-length must be ≤ 512 for BERT-family classifiers; got " + modelOptions.maxLength);
        }
        return classifier(m, cfg, recipes);
    }

    /**
     * Runs {@code peft train} as one replica of a data-parallel run, as peft-spark's barrier tasks do: every replica
     * gets the same arguments; {@code --batch-size} is the global batch, split evenly over the replicas; rank 0
     * prints, writes the checkpoints, the adapter, the report and the test evaluation, the other ranks only train.
     *
     * @param args the arguments of {@code peft train}
     * @param dataParallel the replica's rank and transport
     * @return 0 when the run ended (or was interrupted after a checkpoint)
     * @throws CommandLine.ParameterException for arguments {@code peft train} refuses
     * @throws RuntimeException whatever stopped the run (the caller's task fails with it)
     */
    public static int runReplica(String[] args, DataParallel dataParallel) {
        TrainCommand command = new TrainCommand();
        command.dataParallel = Objects.requireNonNull(dataParallel, "dataParallel");
        CommandLine cl = new CommandLine(command);
        RuntimeException[] failure = new RuntimeException[1];
        cl.setParameterExceptionHandler((ex, a) -> {
            failure[0] = ex;
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            failure[0] = ex instanceof RuntimeException r ? r : new IllegalStateException(ex.getMessage(), ex);
            return 1;
        });
        int code = cl.execute(args);
        if (failure[0] != null) {
            throw failure[0];
        }
        return code;
    }

    private void checkDataParallel(TrainMethod m) {
        String why = null;
        if (m instanceof PromptOptions.PromptMethod) {
            why = "--method " + m.name() + " runs on one process (data-parallel prompt learning is not wired)";
        } else if (m.name().equals("sara") || m.name().equals("spiel")) {
            why = "--method " + m.name() + " keeps its gradients in sparse buffers outside the parameters, which"
                    + " data-parallel replicas do not average; use it on one process";
        } else if (batchSize % dataParallel.worldSize() != 0) {
            why = "--batch-size " + batchSize + " is the global batch of " + dataParallel.worldSize()
                    + " replicas and must be a multiple of " + dataParallel.worldSize();
        }
        if (why != null) {
            throw new CommandLine.ParameterException(spec.commandLine(), why);
        }
    }

    private FineTuneConfig fineTuneConfig(TrainMethod m) {
        Schedule sched;
        try {
            sched = Schedule.valueOf(schedule.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "--schedule must be constant, linear or cosine; got '" + schedule + "'", e);
        }
        boolean full = !m.adapts();
        FineTuneConfig cfg = FineTuneConfig.builder()
                .optLearningRate(lr != null ? lr : full ? 5e-5 : 5e-4)
                .optSchedule(sched)
                .optWarmupRatio(warmup)
                .optBatchSize(batchSize)
                .optGradientAccumulation(gradAccum)
                .optEpochs(epochs)
                .optMaxSteps(maxSteps)
                .optEvalEvery(evalEvery)
                .optEvalBatchSize(evalBatchSize)
                .optEarlyStoppingPatience(patience)
                .optCheckpointEvery(checkpointEvery)
                .optSeed(seed)
                .build();
        if (resume != null && !Files.isRegularFile(resume.resolve(Checkpoint.STATE))) {
            throw new IllegalArgumentException(
                    "--resume " + resume + " is not a checkpoint (no " + Checkpoint.STATE + ")");
        }
        return cfg;
    }

    private int classifier(TrainMethod m, FineTuneConfig cfg, List<TrainingRecipe> recipes) throws IOException {
        boolean full = !m.adapts();
        List<String> targetList = targets != null ? targets : m.defaultTargets();

        Path modelDir = modelOptions.modelDir();
        Split split = dataOptions.split(seed);
        int maxTask = Math.max(
                split.train().maxTask(),
                Math.max(split.validation().maxTask(), split.test().maxTask()));
        if (m.name().equals("poly") && maxTask >= polyOptions.tasks()) {
            throw new IllegalArgumentException("the data's 'task' column holds task id " + maxTask
                    + ", but --n-tasks is " + polyOptions.tasks() + ": give --n-tasks " + (maxTask + 1) + " or more");
        }
        List<String> classes = split.train().classes();
        if (classes.size() < 2) {
            throw new IllegalArgumentException("the training data has " + classes.size() + " class(es) " + classes
                    + "; a classifier needs at least 2");
        }
        System.out.printf(
                Locale.ROOT,
                "data: train %d %s, validation %d, test %d%n",
                split.train().size(),
                split.train().counts(),
                split.validation().size(),
                split.test().size());
        Files.createDirectories(output);
        try (NDManager manager = modelOptions.manager();
                BertTokenizer tokenizer = BertTokenizer.open(modelDir, modelOptions.maxLength)) {
            BertForSequenceClassification base =
                    Bert.loadForSequenceClassification(modelDir, classes.size(), manager, true, seed);
            TrainingData train = split.train().toTrainingData(classes, tokenizer);
            Block model;
            PeftModel peft = null;
            if (full) {
                base.getParameters().values().forEach(p -> p.freeze(false));
                model = base;
            } else if (resume != null) {
                peft = PeftModel.builder().setBaseModel(base).optSeed(seed).build();
                checkCheckpointMethod(m);
                model = peft; // the checkpoint adds the adapter it was trained with (config, initializer's state)
            } else {
                String baseName = "minilm".equalsIgnoreCase(modelOptions.model)
                        ? "sentence-transformers/all-MiniLM-L6-v2"
                        : modelOptions.model;
                Targets where = new Targets(selector(targetList), null, HEAD, "SEQ_CLS", baseName);
                AdapterConfig config = m.config(new TrainMethod.Run(where, FineTuner.totalSteps(cfg, train.size())));
                peft = PeftModel.builder()
                        .setBaseModel(base)
                        .setConfig(config)
                        .optSeed(seed)
                        .build();
                m.initialise(
                        peft,
                        train,
                        Loss.softmaxCrossEntropyLoss(),
                        seed); // EVA may change ranks and with them the counts
                model = peft;
            }
            TrainingData val =
                    split.validation().size() == 0 ? null : split.validation().toTrainingData(classes, tokenizer);
            boolean writer = dataParallel == null || dataParallel.rank() == 0;
            FineTuner.Builder tb = FineTuner.builder().setModel(model).setConfig(cfg);
            if (dataParallel == null) {
                tb.optGracefulStop(Duration.ofMinutes(2));
            } else {
                tb.optDataParallel(dataParallel);
            }
            if (peft != null) {
                tb.optHooks(peft).optCheckpointExport(peft::saveAdapters);
            }
            if (val != null) {
                tb.optEvaluation(Evaluator.classification(classes.size(), cfg.evalBatchSize()), val);
            }
            if (!noProgress && writer) {
                tb.addListener(Progress.auto());
            }
            if (stopAfter > 0) {
                tb.optStopAfterStep(stopAfter);
            }
            tb.optPrecision(Precision.parse(precision));
            recipes.forEach(tb::addRecipe);
            tb.optLossSpikeGuard(spikeGuard());
            FineTuner tuner = tb.build();
            if (resume == null && writer) {
                System.out.println(RunOutputs.counts(model, peft));
            }
            FineTuner.Result result = tuner.fit(train, output, resume);
            if (!writer) {
                return 0;
            }
            if (resume != null) {
                System.out.println(RunOutputs.counts(model, peft));
            }
            if (result.interrupted()) {
                return RunOutputs.interrupted(result, output);
            }
            Evaluation test = split.test().size() == 0
                    ? null
                    : Evaluation.of(
                            model,
                            split.test().toTrainingData(classes, tokenizer),
                            cfg.evalBatchSize(),
                            classes.size(),
                            manager);

            Path saved;
            if (peft != null) {
                saved = output.resolve("adapter");
                peft.saveAdapters(saved);
                Classifier.writeLabels(saved, classes);
            } else {
                saved = output.resolve("model");
                Classifier.writeMerged(base, classes, modelDir, saved);
            }
            Map<String, String> settings = settings(
                    m,
                    targetList,
                    split,
                    classes,
                    cfg,
                    result,
                    RunOutputs.counts(model, peft),
                    manager,
                    modelDir,
                    saved);
            TrainingReport.write(
                    output.resolve("report.html"), "peft4j fine-tuning report", settings, result, test, classes);
            RunOutputs.writeResults(output, settings, result, test, RunOutputs.trainableCount(model));

            System.out.println();
            if (test != null) {
                System.out.printf(
                        Locale.ROOT,
                        "test: accuracy %.4f, macro-F1 %.4f, loss %.4f (%d examples)%n",
                        test.accuracy(),
                        test.macroF1(),
                        test.loss(),
                        test.examples());
            }
            System.out.printf(
                    Locale.ROOT,
                    "%d steps in %.0f s; %s saved to %s%n",
                    result.steps(),
                    result.seconds(),
                    peft == null ? "model" : "adapter",
                    saved.toAbsolutePath());
            System.out.println("report: " + output.resolve("report.html").toAbsolutePath());
            return 0;
        }
    }

    /** The checkpoint's adapter must be of the method asked for (its settings come from the checkpoint). */
    private void checkCheckpointMethod(TrainMethod m) throws IOException {
        Path state = resume.resolve(Checkpoint.MODEL);
        if (!Files.isDirectory(state)) {
            throw new IllegalArgumentException(
                    "--resume " + resume + " is a checkpoint of full fine-tuning; resume" + " it with --method full");
        }
        AdapterConfig c = PeftModel.readStateConfigs(state).get(PeftModel.DEFAULT_ADAPTER);
        if (c == null || !m.trains(c)) {
            throw new IllegalArgumentException("--resume " + resume + " holds "
                    + (c == null ? "no adapter" + " 'default'" : "a " + c.peftType() + " adapter") + " but --method is "
                    + m.name());
        }
        System.out.println(
                "resuming " + m.name() + " from " + resume + " with the adapter settings it was trained" + " with");
    }

    private Map<String, String> settings(
            TrainMethod m,
            List<String> targetList,
            Split split,
            List<String> classes,
            FineTuneConfig cfg,
            FineTuner.Result result,
            String counts,
            NDManager manager,
            Path modelDir,
            Path saved) {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("model", modelOptions.model + " (" + modelDir + ")");
        settings.put(
                "data",
                dataOptions.data + " (train " + split.train().size() + ", validation "
                        + split.validation().size() + ", test " + split.test().size() + ")");
        settings.put("classes", classes.toString());
        settings.put(
                "method",
                m.describe(targetList)
                        + (m.adapts() ? ", modules_to_save=" + HEAD : "")
                        + (resume == null ? "" : " (resumed from " + resume + ")"));
        settings.put("parameters", counts);
        settings.put(
                "optimizer",
                String.format(
                        Locale.ROOT,
                        "AdamW lr=%g, weight decay %g, %s schedule, warm-up" + " %.2f, clip %.1f",
                        cfg.learningRate(),
                        cfg.weightDecay(),
                        cfg.schedule(),
                        cfg.warmupRatio(),
                        cfg.maxGradNorm()));
        settings.put(
                "batch",
                cfg.batchSize() + " × " + cfg.gradientAccumulation() + " accumulation, max length "
                        + modelOptions.maxLength);
        settings.put(
                "steps",
                result.steps() + " of " + result.totalSteps() + " (epochs " + epochs
                        + (maxSteps > 0 ? ", max steps " + maxSteps : "") + ")");
        settings.put("seed", Long.toString(seed));
        settings.put("precision", precision.toLowerCase(Locale.ROOT));
        settings.put(
                "device",
                manager.getDevice()
                        + (dataParallel == null ? "" : " × " + dataParallel.worldSize() + " data-parallel replicas"));
        settings.put("saved", saved.toString());
        return settings;
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
}
