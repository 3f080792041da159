package io.github.peft4j.train.listener;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.train.Evaluation;
import io.github.peft4j.train.FitContext;
import io.github.peft4j.train.FitListener;
import io.github.peft4j.train.ProcessMemory;
import io.github.peft4j.train.StepRecord;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes {@code metrics.jsonl}: one JSON line per step (step, epoch, loss, lr, grad_norm, elapsed_s since this
 * process started training, rss_mb, and the evaluation's eval_loss, eval_accuracy, eval_macro_f1 when one was made).
 * A resumed run first drops the lines of steps after its checkpoint (written by the interrupted run after it), then
 * appends.
 */
public final class MetricsFile implements FitListener {

    /** The file name inside the run directory. */
    public static final String NAME = "metrics.jsonl";

    private BufferedWriter out;
    private long startNanos;

    @Override
    public void onFitStart(FitContext ctx) throws IOException {
        Path file = ctx.output().resolve(NAME);
        if (Files.isRegularFile(file)) {
            List<String> kept = new ArrayList<>();
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                JsonNode n = line.isBlank() ? null : Json.MAPPER.readTree(line);
                if (n != null && n.path("step").asLong(Long.MAX_VALUE) <= ctx.startStep()) {
                    kept.add(line);
                }
            }
            Files.write(file, kept, StandardCharsets.UTF_8);
        }
        startNanos = System.nanoTime();
        out = Files.newBufferedWriter(
                file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    @Override
    public void onStep(FitContext ctx, StepRecord step) throws IOException {
        ObjectNode line = Json.MAPPER
                .createObjectNode()
                .put("step", step.step())
                .put("epoch", step.epoch())
                .put("loss", step.loss())
                .put("lr", step.lr())
                .put("grad_norm", step.gradNorm())
                .put("elapsed_s", Math.round((System.nanoTime() - startNanos) / 1e6) / 1e3);
        if (step.skipped()) {
            line.put("skipped", true); // a non-finite loss or gradient: the update did not happen
        }
        long rss = ProcessMemory.residentKb();
        if (rss > 0) {
            line.put("rss_mb", rss / 1024.0);
        }
        Evaluation e = ctx.evaluation();
        if (e != null) {
            line.put("eval_loss", e.loss());
            if (e.isLanguageModel()) {
                line.put("eval_perplexity", e.perplexity()).put("eval_token_accuracy", e.accuracy());
            } else {
                line.put("eval_accuracy", e.accuracy()).put("eval_macro_f1", e.macroF1());
            }
        }
        out.write(line.toString());
        out.newLine();
        out.flush();
    }

    @Override
    public void onFitEnd(FitContext ctx) throws IOException {
        if (out != null) {
            out.close();
            out = null;
        }
    }
}
