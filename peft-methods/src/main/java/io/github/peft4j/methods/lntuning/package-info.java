/**
 * LayerNorm tuning (Zhao et al., 2024; Python PEFT's {@code LNTuningConfig}): a trainable copy of each target
 * normalisation layer replaces it while the adapter is active.
 */
package io.github.peft4j.methods.lntuning;
