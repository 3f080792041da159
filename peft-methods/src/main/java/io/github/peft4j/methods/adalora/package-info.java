/**
 * AdaLoRA (Zhang et al., 2023): an SVD-shaped low-rank update whose rank budget is re-allocated across layers during
 * training by importance scores; Python PEFT's {@code ADALORA} layout, rank pattern included.
 */
package io.github.peft4j.methods.adalora;
