package io.github.peft4j.merge;

import java.util.Arrays;

/**
 * Skill localization by grafting (Panigrahi et al., 2023, with a magnitude mask in place of their learned one): keep
 * the largest fraction of a full fine-tune's update entries by |δ|, over all its tensors at once, and graft them onto
 * the base ({@link TaskVector#applyTo}); every other entry keeps its pre-trained value. Tensors the base lacks (a new
 * head) are kept whole.
 */
public final class Grafting {

    private Grafting() {}

    /**
     * Returns the update with all but the largest {@code fraction} of its entries (by magnitude, globally) set to 0.
     *
     * @param vector the update
     * @param fraction in [0, 1]
     * @return the sparse update; ties at the threshold are kept in key and index order until the count is reached
     */
    public static TaskVector topFraction(TaskVector vector, double fraction) {
        if (!(fraction >= 0 && fraction <= 1)) {
            throw new IllegalArgumentException("the grafted fraction must be in [0, 1]; got " + fraction);
        }
        long total = 0;
        for (LoraAdapter.Tensor t : vector.deltas().values()) {
            total += t.values().length;
        }
        long keep = Math.round(fraction * total);
        if (keep >= total) {
            return vector.scaled(k -> 1.0);
        }
        float threshold = Float.POSITIVE_INFINITY;
        long above = 0;
        if (keep > 0) {
            float[] all = new float[Math.toIntExact(total)];
            int i = 0;
            for (LoraAdapter.Tensor t : vector.deltas().values()) {
                for (float v : t.values()) {
                    all[i++] = Math.abs(v);
                }
            }
            Arrays.sort(all);
            threshold = all[Math.toIntExact(total - keep)];
            for (float v : all) {
                if (v > threshold) {
                    above++;
                }
            }
        }
        long[] tiesLeft = {keep - above};
        float t0 = threshold;
        return vector.masked((key, v) -> {
            float a = Math.abs(v);
            if (a > t0) {
                return true;
            }
            if (a == t0 && tiesLeft[0] > 0) {
                tiesLeft[0]--;
                return true;
            }
            return false;
        });
    }
}
