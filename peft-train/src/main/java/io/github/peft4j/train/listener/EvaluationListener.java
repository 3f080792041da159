package io.github.peft4j.train.listener;

import ai.djl.ndarray.NDManager;
import io.github.peft4j.train.Evaluation;
import io.github.peft4j.train.Evaluator;
import io.github.peft4j.train.FitContext;
import io.github.peft4j.train.FitListener;
import io.github.peft4j.train.StepRecord;
import io.github.peft4j.train.TrainingData;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Evaluates on held-out data every N steps and at the last step, and keeps the best evaluation (by accuracy) in the
 * run's context; the best survives a resume through the checkpoint.
 */
public final class EvaluationListener implements FitListener {

    private static final Logger LOG = LoggerFactory.getLogger(EvaluationListener.class);

    private final Evaluator evaluator;
    private final TrainingData data;
    private final long every;
    private final NDManager manager;

    /**
     * Creates the listener.
     *
     * @param evaluator how to evaluate
     * @param data the held-out examples
     * @param every evaluate every this many steps (0 = only at the last step)
     * @param manager parent of the evaluation's scopes
     */
    public EvaluationListener(Evaluator evaluator, TrainingData data, long every, NDManager manager) {
        this.evaluator = evaluator;
        this.data = data;
        this.every = every;
        this.manager = manager;
    }

    @Override
    public void onStep(FitContext ctx, StepRecord step) {
        boolean due = (every > 0 && step.step() % every == 0) || step.step() == step.total();
        if (!due || ctx.interrupted()) {
            return; // an interrupted run checkpoints and leaves; it does not spend time on evaluation
        }
        Evaluation e = evaluator.evaluate(ctx.model(), data, manager);
        ctx.recordEvaluation(e, step.step());
        LOG.info(String.format(Locale.ROOT, "step %d/%d: eval %s", step.step(), step.total(), e.summary()));
    }
}
