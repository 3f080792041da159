package io.github.peft4j.train;

import java.util.Locale;

/** The number format of a fine-tuning run's frozen base weights; adapters and optimizer state are always float32. */
public enum Precision {
    /** Everything in float32. */
    FP32,
    /**
     * Frozen linear weights in bf16, multiplied in bf16 ({@link io.github.peft4j.core.nn.Bf16Base}); adapters, trained
     * modules, normalisations, embeddings and the optimizer's state in float32.
     */
    BF16;

    /**
     * Parses {@code fp32} or {@code bf16} (any case).
     *
     * @param text the name
     * @return the precision
     * @throws IllegalArgumentException naming the accepted values
     */
    public static Precision parse(String text) {
        for (Precision p : values()) {
            if (p.name().equalsIgnoreCase(text)) {
                return p;
            }
        }
        throw new IllegalArgumentException("precision must be fp32 or bf16; got '" + text + "'");
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
