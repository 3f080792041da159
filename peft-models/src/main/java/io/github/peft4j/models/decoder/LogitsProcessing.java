package io.github.peft4j.models.decoder;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The per-row token choice of {@link Generator}: Hugging Face's logits processors and warpers, then argmax or a
 * draw.
 */
final class LogitsProcessing {

    private LogitsProcessing() {}

    /**
     * Picks the next token of one row.
     *
     * @param logits the row's last logits (modified)
     * @param seen the ids already in the row (prompt and generated), for the repetition penalty
     * @param c the config
     * @param random the row's sampling stream
     * @return the token id
     */
    static int next(float[] logits, long[] seen, GenerationConfig c, SplittableRandom random) {
        if (c.repetitionPenalty() != 1) {
            boolean[] done = new boolean[logits.length];
            for (long id : seen) {
                int i = (int) id;
                if (i >= 0 && i < logits.length && !done[i]) {
                    done[i] = true;
                    logits[i] = (float)
                            (logits[i] < 0 ? logits[i] * c.repetitionPenalty() : logits[i] / c.repetitionPenalty());
                }
            }
        }
        if (!c.doSample()) {
            return argmax(logits);
        }
        double[] z = new double[logits.length];
        for (int i = 0; i < z.length; i++) {
            z[i] = logits[i] / c.temperature();
        }
        Integer[] order = new Integer[z.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(z[b], z[a]));
        int keep = z.length;
        if (c.topK() > 0) {
            keep = Math.min(keep, c.topK());
        }
        double max = z[order[0]];
        double total = 0;
        double[] p = new double[keep];
        for (int i = 0; i < keep; i++) {
            p[i] = Math.exp(z[order[i]] - max);
            total += p[i];
        }
        if (c.topP() < 1) {
            // keep the most likely tokens until their mass reaches top_p (at least one)
            double cum = 0;
            int n = 0;
            while (n < keep) {
                cum += p[n] / total;
                n++;
                if (cum >= c.topP()) {
                    break;
                }
            }
            keep = n;
            total = 0;
            for (int i = 0; i < keep; i++) {
                total += p[i];
            }
        }
        double u = random.nextDouble() * total;
        double acc = 0;
        for (int i = 0; i < keep; i++) {
            acc += p[i];
            if (u < acc) {
                return order[i];
            }
        }
        return order[keep - 1];
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
