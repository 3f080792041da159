package io.github.peft4j.methods.hydra;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.AdapterMethod;
import io.github.peft4j.core.TargetLayer;

/** The Hydra method, registered through {@code META-INF/services}. */
public final class HydraMethod implements AdapterMethod<HydraConfig, HydraLayer> {

    /** Creates the method (used by {@link java.util.ServiceLoader}). */
    public HydraMethod() {}

    @Override
    public String peftType() {
        return HydraConfig.PEFT_TYPE;
    }

    @Override
    public Class<HydraConfig> configType() {
        return HydraConfig.class;
    }

    @Override
    public HydraConfig parseConfig(ObjectNode json) {
        return HydraConfig.fromJson(json);
    }

    @Override
    public HydraLayer createAdapter(TargetLayer layer, HydraConfig config, AdapterContext context) {
        return new HydraLayer(layer, config, context);
    }
}
