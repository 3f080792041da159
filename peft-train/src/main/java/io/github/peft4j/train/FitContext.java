package io.github.peft4j.train;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * A {@link FineTuner} run as its listeners see it: the settings, where it writes, the step it is at, the evaluation
 * made at this step (if any), the best one so far, and whether someone asked it to stop.
 */
public final class FitContext {

    private final Block model;
    private final FineTuneConfig config;
    private final Path output;
    private final long totalSteps;
    private final long stepsPerEpoch;
    private final long startStep;
    private final long lastStep;
    private final Map<String, Parameter> trainable;
    private final AdamW optimizer;
    private final List<Point> history = new ArrayList<>();
    private Evaluation evaluation;
    private Evaluation best;
    private long bestStep = -1;
    private int evaluationsSinceBest;
    private String stopReason;
    private boolean interrupted;
    private long dataOffset;
    private int rollbacks;

    /**
     * One logged point of the run, for reports.
     *
     * @param step the step
     * @param loss the training loss
     * @param lr the learning rate
     * @param evaluation the evaluation made at this step, or null
     */
    public record Point(long step, double loss, double lr, Evaluation evaluation) {}

    FitContext(
            Block model,
            FineTuneConfig config,
            Path output,
            long totalSteps,
            long stepsPerEpoch,
            long startStep,
            long lastStep,
            Map<String, Parameter> trainable,
            AdamW optimizer) {
        this.model = model;
        this.config = config;
        this.output = output;
        this.totalSteps = totalSteps;
        this.stepsPerEpoch = stepsPerEpoch;
        this.startStep = startStep;
        this.lastStep = lastStep;
        this.trainable = trainable;
        this.optimizer = optimizer;
    }

    /**
     *
     * Returns the model being trained.
     *
     *
     *
     * @return the model being trained
     *
     */
    public Block model() {
        return model;
    }

    /**
     *
     * Returns the settings.
     *
     *
     *
     * @return the settings
     *
     */
    public FineTuneConfig config() {
        return config;
    }

    /**
     *
     * Returns the run directory.
     *
     *
     *
     * @return the run directory
     *
     */
    public Path output() {
        return output;
    }

    /**
     *
     * Returns the steps the schedule plans.
     *
     *
     *
     * @return the steps the schedule plans
     *
     */
    public long totalSteps() {
        return totalSteps;
    }

    /**
     *
     * Returns optimizer steps per epoch.
     *
     *
     *
     * @return optimizer steps per epoch
     *
     */
    public long stepsPerEpoch() {
        return stepsPerEpoch;
    }

    /**
     *
     * Returns the step this run started from (0, or the resumed checkpoint's).
     *
     *
     *
     * @return the step this run started from (0, or the resumed checkpoint's)
     *
     */
    public long startStep() {
        return startStep;
    }

    /**
     *
     * Returns the step this run ends at unless stopped: the total, or an earlier step asked for.
     *
     *
     *
     * @return the step this run ends at unless stopped: the total, or an earlier step asked for
     *
     */
    public long lastStep() {
        return lastStep;
    }

    /**
     *
     * Returns the trainable parameters by stable key.
     *
     *
     *
     * @return the trainable parameters by stable key
     *
     */
    public Map<String, Parameter> trainable() {
        return Collections.unmodifiableMap(trainable);
    }

    /**
     *
     * Returns the optimizer, whose state a checkpoint saves.
     *
     *
     *
     * @return the optimizer, whose state a checkpoint saves
     *
     */
    public AdamW optimizer() {
        return optimizer;
    }

    /**
     *
     * Returns the points logged so far by this run (not by the run before a resume).
     *
     *
     *
     * @return the points logged so far by this run (not by the run before a resume)
     *
     */
    public List<Point> history() {
        return Collections.unmodifiableList(history);
    }

    void addPoint(Point p) {
        history.add(p);
    }

    /**
     *
     * Returns the evaluation made at the current step, or null.
     *
     *
     *
     * @return the evaluation made at the current step, or null
     *
     */
    public Evaluation evaluation() {
        return evaluation;
    }

    /**
     *
     * Returns the best evaluation so far (by accuracy), or null.
     *
     *
     *
     * @return the best evaluation so far (by accuracy), or null
     *
     */
    public Evaluation best() {
        return best;
    }

    /**
     *
     * Returns the step of {@link #best()}, or -1.
     *
     *
     *
     * @return the step of {@link #best()}, or -1
     *
     */
    public long bestStep() {
        return bestStep;
    }

    /**
     *
     * Returns evaluations since the best one (0 right after a new best).
     *
     *
     *
     * @return evaluations since the best one (0 right after a new best)
     *
     */
    public int evaluationsSinceBest() {
        return evaluationsSinceBest;
    }

    /**
     * Records this step's evaluation and updates the best one ({@link Evaluation#betterThan}).
     *
     * @param e the evaluation
     * @param step the step it was made at
     */
    public void recordEvaluation(Evaluation e, long step) {
        evaluation = e;
        if (e.betterThan(best)) {
            best = e;
            bestStep = step;
            evaluationsSinceBest = 0;
        } else {
            evaluationsSinceBest++;
        }
    }

    void restoreBest(Evaluation e, long step, int since) {
        best = e;
        bestStep = step;
        evaluationsSinceBest = since;
    }

    void clearStepEvaluation() {
        evaluation = null;
    }

    /**
     * Asks the loop to stop after this step (the checkpoint listener then writes a checkpoint).
     *
     * @param reason why, for the log
     */
    public void requestStop(String reason) {
        if (stopReason == null) {
            stopReason = reason;
        }
    }

    /**
     *
     * Returns whether a stop was requested.
     *
     *
     *
     * @return whether a stop was requested
     *
     */
    public boolean stopRequested() {
        return stopReason != null;
    }

    /**
     *
     * Returns why the run stops early, or null.
     *
     *
     *
     * @return why the run stops early, or null
     *
     */
    public String stopReason() {
        return stopReason;
    }

    void markInterrupted(String reason) {
        interrupted = true;
        requestStop(reason);
    }

    /**
     *
     * Returns whether a signal (Ctrl-C, SIGTERM) interrupted the run.
     *
     *
     *
     * @return whether a signal (Ctrl-C, SIGTERM) interrupted the run
     *
     */
    public boolean interrupted() {
        return interrupted;
    }

    /**
     * Returns how many steps' worth of data the run has skipped after loss-spike rollbacks: step t trains on the
     * batch of step t + this.
     *
     * @return the offset
     */
    public long dataOffset() {
        return dataOffset;
    }

    /**
     * Returns how many times the run was rolled back after a loss spike ({@link LossSpikeGuard}).
     *
     * @return the rollbacks
     */
    public int rollbacks() {
        return rollbacks;
    }

    void rolledBack(long stepsSkipped) {
        dataOffset += stepsSkipped;
        rollbacks++;
    }

    void restoreRollbacks(long offset, int count) {
        dataOffset = offset;
        rollbacks = count;
    }
}
