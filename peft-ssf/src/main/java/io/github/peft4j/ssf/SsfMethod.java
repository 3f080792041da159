package io.github.peft4j.ssf;

import ai.djl.nn.Block;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.AdapterMethod;
import io.github.peft4j.core.TargetLayer;
import io.github.peft4j.core.nn.AffineNorm;

/** The SSF method, registered through {@code META-INF/services}. */
public final class SsfMethod implements AdapterMethod<SsfConfig, SsfLayer> {

    /** Creates the method (used by {@link java.util.ServiceLoader}). */
    public SsfMethod() {}

    @Override
    public String peftType() {
        return SsfConfig.PEFT_TYPE;
    }

    @Override
    public Class<SsfConfig> configType() {
        return SsfConfig.class;
    }

    @Override
    public boolean canAdapt(Block block) {
        return block instanceof AffineNorm || AdapterMethod.super.canAdapt(block);
    }

    @Override
    public String adaptableModules() {
        return "linear layers (ai.djl.nn.core.Linear) and normalisations"
                + " (io.github.peft4j.core.nn.AffineNorm, e.g. LayerNorm)";
    }

    @Override
    public boolean supportsWeightPath() {
        return false;
    }

    @Override
    public SsfConfig parseConfig(ObjectNode json) {
        return SsfConfig.fromJson(json);
    }

    @Override
    public SsfLayer createAdapter(TargetLayer layer, SsfConfig config, AdapterContext context) {
        return new SsfLayer(layer, config, context);
    }
}
