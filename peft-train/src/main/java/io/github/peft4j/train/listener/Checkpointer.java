package io.github.peft4j.train.listener;

import io.github.peft4j.train.Checkpoint;
import io.github.peft4j.train.FitContext;
import io.github.peft4j.train.FitListener;
import io.github.peft4j.train.StepRecord;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a checkpoint ({@link Checkpoint}) every N steps, at the last step, and whenever the run stops early or is
 * interrupted. Runs after the other listeners so that their state at this step is in it.
 */
public final class Checkpointer implements FitListener {

    private static final Logger LOG = LoggerFactory.getLogger(Checkpointer.class);

    private final Checkpoint checkpoint;
    private final long every;

    /**
     * Creates the listener.
     *
     * @param checkpoint what and where to write
     * @param every write every this many steps (0 = only at the end and on a stop)
     */
    public Checkpointer(Checkpoint checkpoint, long every) {
        this.checkpoint = checkpoint;
        this.every = every;
    }

    @Override
    public void onStep(FitContext ctx, StepRecord step) throws IOException {
        boolean due = (every > 0 && step.step() % every == 0)
                || step.step() == step.total()
                || ctx.stopRequested()
                || step.step() == ctx.lastStep();
        if (due) {
            checkpoint.write(ctx, step.step());
            if (ctx.interrupted()) {
                LOG.info(
                        "interrupted: checkpoint of step {} written to {}; continue with --resume {}",
                        step.step(),
                        checkpoint.dir(),
                        checkpoint.dir());
            }
        }
    }
}
