package io.github.peft4j.train.listener;

import io.github.peft4j.train.FitContext;
import io.github.peft4j.train.FitListener;
import io.github.peft4j.train.StepRecord;

/** Stops the run after a number of evaluations without a better accuracy. */
public final class EarlyStopping implements FitListener {

    private final int patience;

    /**
     * Creates the listener.
     *
     * @param patience evaluations without improvement before stopping (≥ 1)
     */
    public EarlyStopping(int patience) {
        if (patience < 1) {
            throw new IllegalArgumentException("early stopping patience must be >= 1; got " + patience);
        }
        this.patience = patience;
    }

    @Override
    public void onStep(FitContext ctx, StepRecord step) {
        if (ctx.evaluation() != null && ctx.evaluationsSinceBest() >= patience) {
            ctx.requestStop("early stopping at step " + step.step() + ": no better evaluation in " + patience
                    + " evaluations (best: " + ctx.best().summary() + " at step " + ctx.bestStep() + ")");
        }
    }
}
