package io.github.peft4j.core;

import java.io.IOException;
import java.nio.file.Path;

/**
 * What a training loop calls on a model with adapters, besides forward and backward: the methods' training hooks
 * and their state for checkpoints. {@link PeftModel} implements it; {@code FineTuner} (peft-train) calls it, and a
 * loop of one's own must too when the active method needs it (SaRA and SpIEL do; LoRA, DoRA and SSF do not).
 */
public interface TrainingHooks {

    /** No hooks: for models without adapters (full fine-tuning). */
    TrainingHooks NONE = new TrainingHooks() {
        @Override
        public void afterBackward() {}

        @Override
        public void beforeStep(long step) {}

        @Override
        public void afterStep(long step, OptimizerAccess optimizer) {}

        @Override
        public void saveState(Path dir) {}

        @Override
        public void loadState(Path dir) {}
    };

    /** Called after every backward pass (each micro-batch), while the pass's arrays are alive. */
    void afterBackward();

    /**
     * Called once per optimizer step, after all micro-batches' backward passes and before gradient clipping and the
     * update.
     *
     * @param step the 0-based step about to be applied
     */
    void beforeStep(long step);

    /**
     * Called once per optimizer step, after the update.
     *
     * @param step the 0-based step just applied
     * @param optimizer access to the optimizer's per-entry state ({@link OptimizerAccess#NONE} if it has none)
     */
    void afterStep(long step, OptimizerAccess optimizer);

    /**
     * Writes everything beyond the trainable parameters that a resumed run needs to continue exactly (the adapters'
     * configs as trained, non-trainable tensors such as sparse indices, frozen sets, residual terms).
     *
     * @param dir an empty directory inside the checkpoint being written
     * @throws IOException if writing fails
     */
    void saveState(Path dir) throws IOException;

    /**
     * Restores what {@link #saveState} wrote.
     *
     * @param dir the directory
     * @throws IOException if a file is missing or corrupted
     */
    void loadState(Path dir) throws IOException;
}
