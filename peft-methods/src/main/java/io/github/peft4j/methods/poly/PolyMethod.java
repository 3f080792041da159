package io.github.peft4j.methods.poly;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.AdapterMethod;
import io.github.peft4j.core.TargetLayer;

/** The Poly / MHR method, registered through {@code META-INF/services}. */
public final class PolyMethod implements AdapterMethod<PolyConfig, PolyLayer> {

    /** Creates the method (used by {@link java.util.ServiceLoader}). */
    public PolyMethod() {}

    @Override
    public String peftType() {
        return PolyConfig.PEFT_TYPE;
    }

    @Override
    public Class<PolyConfig> configType() {
        return PolyConfig.class;
    }

    /** Each row mixes its own weights: there is no one weight for the batch. */
    @Override
    public boolean supportsWeightPath() {
        return false;
    }

    /** The update differs per task: there is no one ΔW to merge (nor does Python merge Poly). */
    @Override
    public boolean supportsMerge() {
        return false;
    }

    @Override
    public PolyConfig parseConfig(ObjectNode json) {
        return PolyConfig.fromJson(json);
    }

    @Override
    public PolyLayer createAdapter(TargetLayer layer, PolyConfig config, AdapterContext context) {
        return new PolyLayer(layer, config, context);
    }
}
