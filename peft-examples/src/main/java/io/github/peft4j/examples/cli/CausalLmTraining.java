package io.github.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.Targets;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.examples.cli.method.PromptOptions;
import io.github.peft4j.examples.cli.method.TrainMethod;
import io.github.peft4j.models.decoder.CausalLanguageModel;
import io.github.peft4j.models.decoder.Decoders;
import io.github.peft4j.models.text.CausalLmExamples;
import io.github.peft4j.models.text.HfTokenizer;
import io.github.peft4j.prompt.PromptLearningModel;
import io.github.peft4j.train.CausalLmData;
import io.github.peft4j.train.CausalLmLoss;
import io.github.peft4j.train.DataParallel;
import io.github.peft4j.train.Evaluation;
import io.github.peft4j.train.Evaluator;
import io.github.peft4j.train.FineTuneConfig;
import io.github.peft4j.train.FineTuner;
import io.github.peft4j.train.LossSpikeGuard;
import io.github.peft4j.train.Precision;
import io.github.peft4j.train.ProcessMemory;
import io.github.peft4j.train.TrainingRecipe;
import io.github.peft4j.train.TrainingReport;
import io.github.peft4j.train.listener.Progress;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code peft train --task causal-lm}: fine-tunes a decoder on JSONL examples with any method, reports validation loss
 * and perplexity, and saves the adapter (or, for full fine-tuning, the model) with the tokenizer files.
 *
 * @param model the model options (directory or hub id, max length, device)
 * @param data the JSONL file, or a directory with train.jsonl and optional validation.jsonl
 * @param limit use only the first N examples (0: all)
 * @param method the method
 * @param config the loop's settings
 * @param targets the target modules, or null for all-linear
 * @param output the run directory
 * @param resume the checkpoint to resume from, or null
 * @param stopAfter stop as if interrupted after this step (0: off)
 * @param precision the number format of the frozen base weights
 * @param progress whether to show progress
 * @param packing whether to pack examples into blocks of max length
 * @param fullLoss whether every token counts (otherwise only completions)
 * @param recipes the training recipes (--llrd, --lisa-layers, ...)
 * @param spikeGuard the loss-spike guard (--loss-spike-factor), or null
 * @param dataParallel this run's place in a data-parallel run (rank 0 prints and writes), or null
 */
record CausalLmTraining(
        ModelOptions model,
        String data,
        int limit,
        TrainMethod method,
        FineTuneConfig config,
        List<String> targets,
        Path output,
        Path resume,
        long stopAfter,
        Precision precision,
        boolean progress,
        boolean packing,
        boolean fullLoss,
        List<TrainingRecipe> recipes,
        LossSpikeGuard spikeGuard,
        DataParallel dataParallel) {

    /** The tokenizer files copied next to a saved model or adapter. */
    static final List<String> TOKENIZER_FILES = List.of(
            "tokenizer.json",
            "tokenizer_config.json",
            "special_tokens_map.json",
            "chat_template.jinja",
            "generation_config.json");

    int run() throws IOException {
        Path dir = model.modelDir();
        Files.createDirectories(output);
        try (NDManager manager = model.manager();
                HfTokenizer tokenizer = HfTokenizer.open(dir)) {
            CausalLanguageModel base = model.decoder(dir, manager);
            int maxLength = Math.min(model.maxLength, base.getConfig().maxPositions());
            CausalLmData[] split = split(tokenizer, maxLength, base.getConfig().padTokenId());
            CausalLmData train = split[0];
            CausalLmData val = split[1];
            System.out.printf(
                    Locale.ROOT,
                    "data: train %d sequences (%,d counted tokens), validation %d%n",
                    train.size(),
                    train.countedTokens(),
                    val == null ? 0 : val.size());
            List<String> targetList = targets != null ? targets : List.of("all-linear");
            Block trained;
            PeftModel peft = null;
            PromptLearningModel prompt = null;
            if (method instanceof PromptOptions.PromptMethod pm) {
                prompt = pm.wrap(base, tokenizer, model.model, config.seed());
                trained = prompt;
            } else if (!method.adapts()) {
                base.getParameters().values().forEach(p -> p.freeze(false));
                trained = base;
            } else {
                peft = PeftModel.builder()
                        .setBaseModel(base)
                        .optSeed(config.seed())
                        .build();
                if (resume == null) {
                    Targets where =
                            new Targets(TrainCommand.selector(targetList), null, List.of(), "CAUSAL_LM", model.model);
                    AdapterConfig c =
                            method.config(new TrainMethod.Run(where, FineTuner.totalSteps(config, train.size())));
                    peft.addAdapter(PeftModel.DEFAULT_ADAPTER, c);
                    method.initialise(peft, train, new CausalLmLoss(), config.seed());
                }
                trained = peft;
            }
            boolean writer = dataParallel == null || dataParallel.rank() == 0;
            FineTuner.Builder tb =
                    FineTuner.builder().setModel(trained).setConfig(config).optLoss(new CausalLmLoss());
            if (dataParallel == null) {
                tb.optGracefulStop(Duration.ofMinutes(2));
            } else {
                tb.optDataParallel(dataParallel);
            }
            if (peft != null) {
                tb.optHooks(peft).optCheckpointExport(peft::saveAdapters);
            }
            if (prompt != null) {
                tb.optCheckpointExport(prompt::save);
            }
            if (val != null) {
                tb.optEvaluation(Evaluator.languageModel(config.evalBatchSize()), val);
            }
            if (progress && writer) {
                tb.addListener(Progress.auto());
            }
            if (stopAfter > 0) {
                tb.optStopAfterStep(stopAfter);
            }
            tb.optPrecision(precision);
            recipes.forEach(tb::addRecipe);
            tb.optLossSpikeGuard(spikeGuard);
            if (resume == null && writer) {
                System.out.println(RunOutputs.counts(trained, peft));
            }
            FineTuner.Result result = tb.build().fit(train, output, resume);
            if (!writer) {
                return 0;
            }
            if (result.interrupted()) {
                return RunOutputs.interrupted(result, output);
            }
            Evaluation last = val == null
                    ? null
                    : Evaluator.languageModel(config.evalBatchSize()).evaluate(trained, val, manager);
            Path saved;
            if (peft != null) {
                saved = output.resolve("adapter");
                peft.saveAdapters(saved);
            } else if (prompt != null) {
                saved = output.resolve("adapter");
                prompt.save(saved);
            } else {
                saved = output.resolve("model");
                Decoders.save(saved, base);
            }
            for (String f : TOKENIZER_FILES) {
                if (Files.isRegularFile(dir.resolve(f))) {
                    Files.copy(dir.resolve(f), saved.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
            Map<String, String> settings = new LinkedHashMap<>();
            settings.put("model", model.model + " (" + dir + ")");
            settings.put(
                    "task",
                    "causal-lm, " + (fullLoss ? "every token counts" : "completions count")
                            + (packing ? ", packed" : ""));
            settings.put(
                    "data", data + " (train " + train.size() + ", validation " + (val == null ? 0 : val.size()) + ")");
            settings.put("method", method.describe(targetList));
            settings.put("parameters", RunOutputs.counts(trained, peft));
            settings.put("max length", Integer.toString(maxLength));
            settings.put("steps", result.steps() + " of " + result.totalSteps());
            settings.put("seed", Long.toString(config.seed()));
            settings.put("saved", saved.toString());
            TrainingReport.write(
                    output.resolve("report.html"), "peft4j causal-LM report", settings, result, null, List.of());
            writeResults(settings, result, last, trained);
            System.out.println();
            if (last != null) {
                System.out.println("validation: " + last.summary() + " (" + last.examples() + " tokens)");
            }
            System.out.printf(
                    Locale.ROOT,
                    "%d steps in %.0f s; %s saved to %s%n",
                    result.steps(),
                    result.seconds(),
                    peft == null && prompt == null ? "model" : "adapter",
                    saved.toAbsolutePath());
            return 0;
        }
    }

    /** Train and validation data: a directory's train/validation.jsonl, or one file split 90/10 by the seed. */
    private CausalLmData[] split(HfTokenizer tokenizer, int maxLength, Integer configPad) throws IOException {
        Path p = Path.of(data);
        long pad = tokenizer.padTokenId() != null
                ? tokenizer.padTokenId()
                : configPad != null ? configPad : tokenizer.eosTokenId() != null ? tokenizer.eosTokenId() : 0;
        if (Files.isDirectory(p)) {
            Path trainFile = p.resolve("train.jsonl");
            if (!Files.isRegularFile(trainFile)) {
                throw new IOException("--data directory " + p + " has no train.jsonl");
            }
            CausalLmData train = load(trainFile, tokenizer, maxLength, pad);
            Path valFile = p.resolve("validation.jsonl");
            return new CausalLmData[] {
                train, Files.isRegularFile(valFile) ? load(valFile, tokenizer, maxLength, pad) : null
            };
        }
        if (!Files.isRegularFile(p)) {
            throw new IOException("--data: '" + data + "' is neither a JSONL file nor a directory");
        }
        CausalLmExamples ex = read(p, tokenizer, maxLength);
        int n = ex.ids().size();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        SplittableRandom r = new SplittableRandom(config.seed());
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        int nVal = n >= 10 ? n / 10 : 0;
        List<long[]> ti = new ArrayList<>();
        List<boolean[]> tm = new ArrayList<>();
        List<long[]> vi = new ArrayList<>();
        List<boolean[]> vm = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            boolean v = k < nVal;
            (v ? vi : ti).add(ex.ids().get(order[k]));
            (v ? vm : tm).add(ex.counted().get(order[k]));
        }
        CausalLmData train = pack(new CausalLmData(ti, tm, pad), maxLength);
        return new CausalLmData[] {train, nVal == 0 ? null : new CausalLmData(vi, vm, pad)};
    }

    private CausalLmData load(Path file, HfTokenizer tokenizer, int maxLength, long pad) throws IOException {
        CausalLmExamples ex = read(file, tokenizer, maxLength);
        return pack(new CausalLmData(ex.ids(), ex.counted(), pad), maxLength);
    }

    private CausalLmExamples read(Path file, HfTokenizer tokenizer, int maxLength) throws IOException {
        CausalLmExamples ex = CausalLmExamples.read(file, tokenizer, maxLength, !fullLoss);
        if (ex.truncated() > 0 || ex.dropped() > 0) {
            System.out.printf(
                    Locale.ROOT,
                    "%s: %d example(s) cut to %d tokens, %d dropped (no completion token left)%n",
                    file,
                    ex.truncated(),
                    maxLength,
                    ex.dropped());
        }
        if (limit > 0 && ex.ids().size() > limit) {
            return new CausalLmExamples(
                    ex.ids().subList(0, limit), ex.counted().subList(0, limit), ex.truncated(), ex.dropped());
        }
        return ex;
    }

    private CausalLmData pack(CausalLmData d, int maxLength) {
        return packing ? d.packed(maxLength) : d;
    }

    private void writeResults(Map<String, String> settings, FineTuner.Result result, Evaluation last, Block model)
            throws IOException {
        ObjectNode o = Json.MAPPER.createObjectNode();
        ObjectNode s = o.putObject("settings");
        settings.forEach(s::put);
        o.put("trainable_parameters", RunOutputs.trainableCount(model));
        o.put("steps", result.steps());
        o.put("train_seconds", result.seconds());
        long rss = ProcessMemory.peakResidentKb();
        if (rss > 0) {
            o.put("peak_rss_mb", rss / 1024.0);
        }
        if (last != null) {
            o.put("validation_loss", last.loss())
                    .put("validation_perplexity", last.perplexity())
                    .put("validation_token_accuracy", last.accuracy())
                    .put("validation_tokens", last.examples());
        }
        Files.writeString(output.resolve("results.json"), Json.write(o), StandardCharsets.UTF_8);
    }
}
