package io.github.peft4j.sparse.dsee;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.AdapterMethod;
import io.github.peft4j.core.TargetLayer;

/** The DSEE method, registered through {@code META-INF/services}. */
public final class DseeMethod implements AdapterMethod<DseeConfig, DseeLayer> {

    /** Creates the method (used by {@link java.util.ServiceLoader}). */
    public DseeMethod() {}

    @Override
    public String peftType() {
        return DseeConfig.PEFT_TYPE;
    }

    @Override
    public Class<DseeConfig> configType() {
        return DseeConfig.class;
    }

    @Override
    public DseeConfig parseConfig(ObjectNode json) {
        return DseeConfig.fromJson(json);
    }

    @Override
    public DseeLayer createAdapter(TargetLayer layer, DseeConfig config, AdapterContext context) {
        return new DseeLayer(layer, config, context);
    }
}
