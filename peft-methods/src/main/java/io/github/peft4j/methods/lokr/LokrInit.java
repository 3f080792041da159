package io.github.peft4j.methods.lokr;

/** How LoKr's factors start ({@code init_weights} of Python's {@code LoKrConfig}). */
public enum LokrInit {
    /** {@code true}: w1 (or w1_a) zero, the rest Kaiming-uniform: the model is unchanged. Python's default. */
    DEFAULT,
    /** {@code "lycoris"}: w2 (or w2_b) zero, the rest Kaiming-uniform, as the LyCORIS library starts. */
    LYCORIS,
    /** {@code false}: every factor Kaiming-uniform (the model changes at init; for tests). */
    RANDOM
}
