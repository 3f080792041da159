package io.github.peft4j.core;

/**
 * How an adapter reaches a layer's computation.
 *
 * <ul>
 *   <li>{@link #ACTIVATION}: the layer is replaced by a wrapper that runs the base layer and adds the adapter's own
 *       computation on the layer input (LoRA: {@code s · (x Aᵀ) Bᵀ}). Costs O(n·r·(in+out)) per pass and never forms
 *       a dense [out, in] update, so backward never builds the dense weight gradient. Needs a parent that lets a child
 *       be swapped: a {@link ai.djl.nn.SequentialBlock} or a {@link io.github.peft4j.core.nn.ModuleContainer}.
 *   <li>{@link #WEIGHT}: the layer is left in place; peft4j intercepts {@code ParameterStore.getValue} so the layer
 *       reads {@code W + ΔW}. Works for any DJL block, but each pass forms ΔW (O(out·in·r)) and backward computes the
 *       dense [out, in] gradient of the effective weight.
 *   <li>{@link #AUTO}: activation where the parent allows it, else weight.
 * </ul>
 */
public enum InjectionMode {
    /** Activation where possible, weight otherwise. */
    AUTO,
    /** Always the activation path; fails for a layer whose parent cannot swap children. */
    ACTIVATION,
    /** Always the weight path. */
    WEIGHT
}
