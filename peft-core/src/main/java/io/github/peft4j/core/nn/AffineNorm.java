package io.github.peft4j.core.nn;

import ai.djl.nn.Block;

/**
 * A normalisation layer with a per-feature affine output, {@code y = γ ⊙ normalise(x) + β}, whose parameters are
 * named {@code weight} (γ, [dim]) and {@code bias} (β, [dim], optional), as PyTorch's {@code nn.LayerNorm} names them.
 * Methods that adapt normalisations (SSF scales and shifts their output and merges into γ and β) recognise them by
 * this interface, whatever the model family.
 */
public interface AffineNorm extends Block {}
