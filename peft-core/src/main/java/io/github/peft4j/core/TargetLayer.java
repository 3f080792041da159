package io.github.peft4j.core;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;

/**
 * A module chosen for an adapter: a linear layer {@code y = x Wᵀ + b} with W of shape [out, in].
 *
 * @param path the module's dotted path, e.g. {@code encoder.layer.0.attention.self.query}
 * @param block the base block
 * @param weight the weight parameter, [out, in]
 * @param bias the bias parameter, or {@code null}
 * @param inFeatures the input width
 * @param outFeatures the output width
 */
public record TargetLayer(
        String path, Block block, Parameter weight, Parameter bias, long inFeatures, long outFeatures) {}
