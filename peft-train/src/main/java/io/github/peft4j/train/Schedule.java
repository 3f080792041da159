package io.github.peft4j.train;

/** Learning-rate schedules: linear warm-up from 0, then constant, linear or cosine decay to 0 at the last step. */
public enum Schedule {
    /** Warm-up, then constant. */
    CONSTANT,
    /** Warm-up, then linear decay to 0. */
    LINEAR,
    /** Warm-up, then cosine decay to 0. */
    COSINE;

    /**
     * Returns the learning rate of a step.
     *
     * @param peak the peak learning rate
     * @param step the 0-based optimizer step
     * @param warmup warm-up steps
     * @param total total optimizer steps
     * @return the learning rate
     */
    public double at(double peak, long step, long warmup, long total) {
        if (step < warmup) {
            return peak * (step + 1) / warmup;
        }
        double progress = total <= warmup ? 1 : (double) (step - warmup) / Math.max(1, total - warmup);
        progress = Math.min(1, progress);
        return switch (this) {
            case CONSTANT -> peak;
            case LINEAR -> peak * (1 - progress);
            case COSINE -> peak * 0.5 * (1 + Math.cos(Math.PI * progress));
        };
    }
}
