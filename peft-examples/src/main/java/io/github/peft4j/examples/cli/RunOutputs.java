package io.github.peft4j.examples.cli;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.train.Evaluation;
import io.github.peft4j.train.FineTuner;
import io.github.peft4j.train.ProcessMemory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;

/** What {@code peft train} prints and writes about a finished run: parameter counts, {@code results.json}. */
final class RunOutputs {

    private RunOutputs() {}

    /**
     * Says how to continue an interrupted run.
     *
     * @param result the run's result
     * @param output the run directory
     * @return the exit code of an interrupted run (130)
     */
    static int interrupted(FineTuner.Result result, Path output) {
        System.out.printf(
                Locale.ROOT,
                "interrupted after step %d of %d; continue with --resume %s%n",
                result.steps(),
                result.totalSteps(),
                output.resolve(FineTuner.CHECKPOINT));
        return 130;
    }

    static long trainableCount(Block model) {
        return model.getParameters().values().stream()
                .filter(Parameter::requiresGradient)
                .mapToLong(p -> p.getArray().size())
                .sum();
    }

    static String counts(Block model, PeftModel peft) {
        return peft != null
                ? peft.getTrainableParameters().toString()
                : String.format(Locale.ROOT, "trainable params: %,d (full fine-tuning)", trainableCount(model));
    }

    static void writeResults(
            Path output, Map<String, String> settings, FineTuner.Result result, Evaluation test, long trainable)
            throws IOException {
        ObjectNode o = Json.MAPPER.createObjectNode();
        ObjectNode s = o.putObject("settings");
        settings.forEach(s::put);
        o.put("trainable_parameters", trainable);
        o.put("steps", result.steps());
        o.put("train_seconds", result.seconds());
        o.put("stopped_early", result.stoppedEarly());
        long rss = ProcessMemory.peakResidentKb();
        if (rss > 0) {
            o.put("peak_rss_mb", rss / 1024.0);
        }
        if (result.best() != null) {
            o.put("best_validation_accuracy", result.best().accuracy()).put("best_step", result.bestStep());
        }
        if (test != null) {
            o.put("test_accuracy", test.accuracy())
                    .put("test_macro_f1", test.macroF1())
                    .put("test_loss", test.loss())
                    .put("test_examples", test.examples());
            o.put("test_confusion", Arrays.deepToString(test.confusion()));
        }
        Files.writeString(output.resolve("results.json"), Json.write(o), StandardCharsets.UTF_8);
    }
}
