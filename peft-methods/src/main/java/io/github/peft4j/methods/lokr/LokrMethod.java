package io.github.peft4j.methods.lokr;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.AdapterMethod;
import io.github.peft4j.core.TargetLayer;

/** The LoKr method, registered through {@code META-INF/services}. */
public final class LokrMethod implements AdapterMethod<LokrConfig, LokrLayer> {

    /** Creates the method (used by {@link java.util.ServiceLoader}). */
    public LokrMethod() {}

    @Override
    public String peftType() {
        return LokrConfig.PEFT_TYPE;
    }

    @Override
    public Class<LokrConfig> configType() {
        return LokrConfig.class;
    }

    @Override
    public boolean supportsWeightPath() {
        return false;
    }

    @Override
    public LokrConfig parseConfig(ObjectNode json) {
        return LokrConfig.fromJson(json);
    }

    @Override
    public LokrLayer createAdapter(TargetLayer layer, LokrConfig config, AdapterContext context) {
        return new LokrLayer(layer, config, context);
    }
}
