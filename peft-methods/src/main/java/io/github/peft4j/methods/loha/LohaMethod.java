package io.github.peft4j.methods.loha;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.AdapterMethod;
import io.github.peft4j.core.TargetLayer;

/** The LoHa method, registered through {@code META-INF/services}. */
public final class LohaMethod implements AdapterMethod<LohaConfig, LohaLayer> {

    /** Creates the method (used by {@link java.util.ServiceLoader}). */
    public LohaMethod() {}

    @Override
    public String peftType() {
        return LohaConfig.PEFT_TYPE;
    }

    @Override
    public Class<LohaConfig> configType() {
        return LohaConfig.class;
    }

    @Override
    public boolean supportsWeightPath() {
        return false;
    }

    @Override
    public LohaConfig parseConfig(ObjectNode json) {
        return LohaConfig.fromJson(json);
    }

    @Override
    public LohaLayer createAdapter(TargetLayer layer, LohaConfig config, AdapterContext context) {
        return new LohaLayer(layer, config, context);
    }
}
