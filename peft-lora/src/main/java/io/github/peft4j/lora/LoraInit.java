package io.github.peft4j.lora;

/**
 * How LoRA's A and B start ({@code init_lora_weights}).
 *
 * <p>Data-driven initializers (PiSSA, LoRA-GA, EVA) are separate functions run after injection, not values here.
 */
public enum LoraInit {
    /**
     * {@code true}: A Kaiming-uniform (a = √5, as PyTorch {@code nn.Linear}: U(−1/√in, 1/√in)), B = 0, so the adapted
     * model equals the base model at step 0.
     */
    DEFAULT,
    /** {@code "gaussian"}: A ~ N(0, (1/r)²) (Python PEFT's std 1/r), B = 0. */
    GAUSSIAN,
    /**
     * {@code false}: A and B both Kaiming-uniform, so the adapter is not the identity: for tests and debugging only.
     */
    RANDOM
}
