package io.github.peft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.core.TensorFit;
import io.github.peft4j.core.TrainingHooks;
import io.github.peft4j.core.io.AtomicDirectory;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.Safetensors;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A resumable checkpoint of a {@link FineTuner} run, written atomically (a crash mid-write leaves the previous one):
 *
 * <pre>
 * trainer_state.json       step, seed, optimizer step, best evaluation, listeners' state
 * trainable.safetensors    every trainable parameter, by stable key
 * optimizer.safetensors    AdamW's moments (m.&lt;key&gt;, v.&lt;key&gt;)
 * model/                   the model's own training state (TrainingHooks.saveState: adapters' configs as trained,
 *                          sparse indices, frozen sets, residual terms, ...)
 * adapter/                 the deliverable at this step (e.g. the Hugging Face adapter), when an export is set
 * </pre>
 */
public final class Checkpoint {

    /** The state file. */
    public static final String STATE = "trainer_state.json";
    /** The trainable parameters' file. */
    public static final String TRAINABLE = "trainable.safetensors";
    /** The optimizer's file. */
    public static final String OPTIMIZER = "optimizer.safetensors";
    /** The model's training state folder. */
    public static final String MODEL = "model";
    /** The export folder. */
    public static final String EXPORT = "adapter";

    /** Writes a deliverable of the model into a directory (e.g. {@code PeftModel::saveAdapters}). */
    @FunctionalInterface
    public interface Export {
        /**
         * Writes.
         *
         * @param dir the directory to create
         * @throws IOException if writing fails
         */
        void write(Path dir) throws IOException;
    }

    private final Path dir;
    private final TrainingHooks hooks;
    private final Export export;
    private final List<FitListener> listeners;

    Checkpoint(Path dir, TrainingHooks hooks, Export export, List<FitListener> listeners) {
        this.dir = dir;
        this.hooks = hooks;
        this.export = export;
        this.listeners = listeners;
    }

    /**
     * Returns the checkpoint directory.
     *
     * @return the directory
     */
    public Path dir() {
        return dir;
    }

    /**
     * Writes the checkpoint of a step, replacing the previous one atomically.
     *
     * @param ctx the run
     * @param step the steps done
     * @throws IOException if writing fails (the previous checkpoint is then intact)
     */
    public void write(FitContext ctx, long step) throws IOException {
        ObjectNode state = Json.MAPPER
                .createObjectNode()
                .put("step", step)
                .put("total_steps", ctx.totalSteps())
                .put("seed", ctx.config().seed())
                .put("optimizer_step", ctx.optimizer().getStep())
                .put("best_step", ctx.bestStep())
                .put("evaluations_since_best", ctx.evaluationsSinceBest())
                .put("data_offset", ctx.dataOffset())
                .put("rollbacks", ctx.rollbacks());
        if (ctx.best() != null) {
            state.put("best_loss", ctx.best().loss())
                    .put("best_accuracy", ctx.best().accuracy())
                    .put("best_macro_f1", ctx.best().macroF1());
        }
        ArrayNode keys = state.putArray("trainable");
        ctx.trainable().keySet().forEach(keys::add);
        listeners.forEach(l -> l.saveState(state));
        try {
            writeFiles(ctx, state);
        } catch (IOException e) {
            throw new IOException(
                    "the checkpoint of step " + step + " could not be written: " + e.getMessage()
                            + (Files.isDirectory(dir) ? "; resume from the previous one with --resume " + dir : ""),
                    e);
        }
    }

    private void writeFiles(FitContext ctx, ObjectNode state) throws IOException {
        AtomicDirectory.write(dir, tmp -> {
            Map<String, NDArray> values = new LinkedHashMap<>();
            ctx.trainable().forEach((k, p) -> values.put(k, p.getArray()));
            Safetensors.write(tmp.resolve(TRAINABLE), values, Map.of("format", "pt"));
            Safetensors.write(tmp.resolve(OPTIMIZER), ctx.optimizer().state(), Map.of("format", "pt"));
            hooks.saveState(tmp.resolve(MODEL));
            if (export != null) {
                export.write(tmp.resolve(EXPORT));
            }
            Files.writeString(tmp.resolve(STATE), Json.write(state), StandardCharsets.UTF_8);
        });
    }

    /**
     * Reads a checkpoint's {@code trainer_state.json}.
     *
     * @param dir the checkpoint
     * @param seed the seed of the run that resumes it
     * @return the state
     * @throws IOException if the file is missing or not JSON
     * @throws IllegalArgumentException if the checkpoint was written with another seed
     */
    static ObjectNode readState(Path dir, long seed) throws IOException {
        AtomicDirectory.recover(dir); // a run killed while replacing this checkpoint left its previous version aside
        Path stateFile = dir.resolve(STATE);
        if (!Files.isRegularFile(stateFile)) {
            throw new IOException("not a peft4j checkpoint: " + stateFile + " is missing (expected a folder written"
                    + " by FineTuner, e.g. RUN/checkpoint)");
        }
        ObjectNode state = Json.readObject(stateFile);
        if (!state.path("step").canConvertToLong()) {
            throw new IOException(stateFile + " has no step");
        }
        if (state.path("seed").asLong() != seed) {
            throw new IllegalArgumentException("checkpoint " + dir + " was written with seed "
                    + state.path("seed").asLong() + " but this run uses seed " + seed + "; resume with the same seed");
        }
        return state;
    }

    /**
     * Copies a checkpoint's trainable parameters and optimizer state into a run.
     *
     * @param dir the checkpoint
     * @param state its {@code trainer_state.json}
     * @param trainable the run's trainable parameters
     * @param optimizer the run's optimizer
     * @param manager parent of the reading scope
     * @throws IOException if a file is missing or corrupted
     * @throws IllegalArgumentException if the parameters are not the checkpoint's (keys or shapes differ), naming them
     */
    static void restoreTensors(
            Path dir, ObjectNode state, Map<String, Parameter> trainable, AdamW optimizer, NDManager manager)
            throws IOException {
        for (String f : new String[] {TRAINABLE, OPTIMIZER}) {
            if (!Files.isRegularFile(dir.resolve(f))) {
                throw new IOException("checkpoint " + dir + " is incomplete: " + f + " is missing");
            }
        }
        try (NDManager scope = manager.newSubManager()) {
            Map<String, NDArray> values =
                    Safetensors.read(dir.resolve(TRAINABLE), scope).tensors();
            TensorFit.requireExact(
                    trainable,
                    values,
                    "checkpoint " + dir.resolve(TRAINABLE),
                    "Resume with the same model, method and targets.");
            Map<String, NDArray> opt =
                    Safetensors.read(dir.resolve(OPTIMIZER), scope).tensors();
            long optStep = state.path("optimizer_step").asLong();
            List<String> missingState = new ArrayList<>();
            if (optStep > 0) {
                for (String k : trainable.keySet()) {
                    if (!opt.containsKey("m." + k) || !opt.containsKey("v." + k)) {
                        missingState.add(k);
                    }
                }
            }
            if (!missingState.isEmpty()) {
                throw new IllegalArgumentException("checkpoint " + dir + ": " + OPTIMIZER + " lacks the AdamW moments"
                        + " of " + TensorFit.abbreviate(missingState) + " after " + optStep + " steps; the"
                        + " checkpoint is incomplete");
            }
            for (Map.Entry<String, Parameter> e : trainable.entrySet()) {
                ParameterValues.copyInto(e.getValue().getArray(), values.get(e.getKey()));
            }
            optimizer.restore(opt, optStep);
        }
    }
}
