package io.github.peft4j.methods.lntuning;

import ai.djl.nn.Block;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.AdapterMethod;
import io.github.peft4j.core.TargetLayer;
import io.github.peft4j.core.nn.AffineNorm;

/** The LayerNorm tuning method, registered through {@code META-INF/services}. */
public final class LnTuningMethod implements AdapterMethod<LnTuningConfig, LnTuningLayer> {

    /** Creates the method (used by {@link java.util.ServiceLoader}). */
    public LnTuningMethod() {}

    @Override
    public String peftType() {
        return LnTuningConfig.PEFT_TYPE;
    }

    @Override
    public Class<LnTuningConfig> configType() {
        return LnTuningConfig.class;
    }

    @Override
    public boolean canAdapt(Block block) {
        return block instanceof AffineNorm || AdapterMethod.super.canAdapt(block);
    }

    @Override
    public String adaptableModules() {
        return "normalisations (io.github.peft4j.core.nn.AffineNorm: LayerNorm, RMSNorm) and linear layers";
    }

    @Override
    public boolean supportsWeightPath() {
        return false;
    }

    @Override
    public LnTuningConfig parseConfig(ObjectNode json) {
        return LnTuningConfig.fromJson(json);
    }

    @Override
    public LnTuningLayer createAdapter(TargetLayer layer, LnTuningConfig config, AdapterContext context) {
        return new LnTuningLayer(layer, context);
    }
}
