package io.github.peft4j.core;

import java.util.Locale;

/**
 * Parameter counts of an adapted model.
 *
 * @param trainable the number of scalars that receive gradients
 * @param all the number of scalars of the whole model, adapters included
 */
public record TrainableParameters(long trainable, long all) {

    /**
     * Counts a block's parameters (for a {@code PeftModel}: the adapters and saved-module copies included, as Python
     * PEFT does).
     *
     * @param block the block
     * @return the counts
     */
    public static TrainableParameters of(ai.djl.nn.Block block) {
        long trainable = 0;
        long all = 0;
        for (ai.djl.util.Pair<String, ai.djl.nn.Parameter> p : block.getParameters()) {
            long n = p.getValue().getArray().size();
            all += n;
            if (p.getValue().requiresGradient()) {
                trainable += n;
            }
        }
        return new TrainableParameters(trainable, all);
    }

    /**
     * Returns the trainable share in percent.
     *
     * @return 100 · trainable / all
     */
    public double percent() {
        return all == 0 ? 0 : 100.0 * trainable / all;
    }

    /**
     * Formats the counts as Python PEFT's {@code print_trainable_parameters}.
     *
     * @return e.g. {@code trainable params: 1,327,104 || all params: 125,832,004 || trainable%: 1.0547}
     */
    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "trainable params: %,d || all params: %,d || trainable%%: %.4f",
                trainable,
                all,
                percent());
    }
}
