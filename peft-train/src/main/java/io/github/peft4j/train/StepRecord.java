package io.github.peft4j.train;

/**
 * What one optimizer step did.
 *
 * @param step the steps done so far (1-based: 1 after the first step)
 * @param total the steps the schedule plans
 * @param epoch fractional epochs done
 * @param loss the step's mean training loss
 * @param lr the learning rate applied
 * @param gradNorm the global gradient norm before clipping (NaN or infinite when the update was skipped)
 * @param skipped whether the update was skipped for a non-finite loss or gradient
 */
public record StepRecord(
        long step, long total, double epoch, double loss, double lr, double gradNorm, boolean skipped) {}
