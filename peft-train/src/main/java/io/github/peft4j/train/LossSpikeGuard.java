package io.github.peft4j.train;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;

/**
 * Rolls a run back to its last checkpoint when a step's loss jumps above {@code factor} times the median of the
 * previous {@code window} losses, and skips the data of the steps rolled back, as PaLM and OLMo handle loss spikes
 * (restart from a checkpoint before the spike, skip the batches around it). A non-finite loss is not a spike: its
 * update is skipped already. At most {@code maxRollbacks} per run; a spike after that, or before the first checkpoint,
 * is only reported. Set with {@link FineTuner.Builder#optLossSpikeGuard}.
 *
 * @param factor how many times the recent median a loss must exceed, &gt; 1
 * @param window how many recent losses the median is over (and must have been seen), ≥ 3
 * @param maxRollbacks the most rollbacks of a run, ≥ 1
 */
public record LossSpikeGuard(double factor, int window, int maxRollbacks) {

    /** Validates. */
    public LossSpikeGuard {
        if (!(factor > 1) || !Double.isFinite(factor)) {
            throw new IllegalArgumentException("LossSpikeGuard.factor must be a finite number > 1; got " + factor);
        }
        if (window < 3) {
            throw new IllegalArgumentException("LossSpikeGuard.window must be ≥ 3; got " + window);
        }
        if (maxRollbacks < 1) {
            throw new IllegalArgumentException("LossSpikeGuard.maxRollbacks must be ≥ 1; got " + maxRollbacks);
        }
    }

    /** The recent losses of one run. */
    final class Detector {
        private final Deque<Double> recent = new ArrayDeque<>();

        /** Whether a loss is a spike; a loss that is not joins the window. */
        boolean isSpike(double loss) {
            if (!Double.isFinite(loss)) {
                return false;
            }
            if (recent.size() >= window && loss > factor * median()) {
                return true;
            }
            recent.addLast(loss);
            if (recent.size() > window) {
                recent.removeFirst();
            }
            return false;
        }

        /** The median of the window. */
        double median() {
            double[] v = recent.stream().mapToDouble(Double::doubleValue).toArray();
            Arrays.sort(v);
            int n = v.length;
            return n == 0 ? Double.NaN : n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
        }

        /** Forgets the window (after a rollback, the losses before it are another run's). */
        void reset() {
            recent.clear();
        }
    }
}
