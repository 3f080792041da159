package io.github.peft4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;

/**
 * Something that takes part in a {@link FineTuner} run without being the loop: evaluation, early stopping, the metrics
 * file, progress, checkpoints (DJL's {@code TrainingListener} idea). The loop calls the listeners in order at every
 * event; a listener may read and change the run's {@link FitContext} (e.g. request a stop).
 */
public interface FitListener {

    /**
     * Called once before the first step (after a resume: after the checkpoint was restored).
     *
     * @param ctx the run
     * @throws IOException if the listener cannot set up its files
     */
    default void onFitStart(FitContext ctx) throws IOException {}

    /**
     * Called after every optimizer step.
     *
     * @param ctx the run
     * @param step what the step did
     * @throws IOException if the listener cannot write
     */
    default void onStep(FitContext ctx, StepRecord step) throws IOException {}

    /**
     * Called once after the last step, also when the run stopped early or was interrupted.
     *
     * @param ctx the run
     * @throws IOException if the listener cannot write
     */
    default void onFitEnd(FitContext ctx) throws IOException {}

    /**
     * Adds the listener's state to a checkpoint's {@code trainer_state.json}, so a resumed run continues it.
     *
     * @param state the object to add keys to
     */
    default void saveState(ObjectNode state) {}

    /**
     * Restores what {@link #saveState} wrote.
     *
     * @param state the checkpoint's {@code trainer_state.json}
     */
    default void restoreState(ObjectNode state) {}
}
