package io.github.peft4j.methods.bottleneck;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.AdapterMethod;
import io.github.peft4j.core.TargetLayer;

/** The bottleneck adapter method, registered through {@code META-INF/services}. */
public final class BottleneckMethod implements AdapterMethod<BottleneckConfig, BottleneckLayer> {

    /** Creates the method (used by {@link java.util.ServiceLoader}). */
    public BottleneckMethod() {}

    @Override
    public String peftType() {
        return BottleneckConfig.PEFT_TYPE;
    }

    @Override
    public Class<BottleneckConfig> configType() {
        return BottleneckConfig.class;
    }

    @Override
    public boolean supportsWeightPath() {
        return false;
    }

    /** Nonlinear: there is no ΔW to merge. */
    @Override
    public boolean supportsMerge() {
        return false;
    }

    @Override
    public BottleneckConfig parseConfig(ObjectNode json) {
        return BottleneckConfig.fromJson(json);
    }

    @Override
    public BottleneckLayer createAdapter(TargetLayer layer, BottleneckConfig config, AdapterContext context) {
        return new BottleneckLayer(layer, config, context);
    }
}
