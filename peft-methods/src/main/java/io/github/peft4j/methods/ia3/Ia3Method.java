package io.github.peft4j.methods.ia3;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.AdapterMethod;
import io.github.peft4j.core.TargetLayer;

/** The IA³ method, registered through {@code META-INF/services}. */
public final class Ia3Method implements AdapterMethod<Ia3Config, Ia3Layer> {

    /** Creates the method (used by {@link java.util.ServiceLoader}). */
    public Ia3Method() {}

    @Override
    public String peftType() {
        return Ia3Config.PEFT_TYPE;
    }

    @Override
    public Class<Ia3Config> configType() {
        return Ia3Config.class;
    }

    @Override
    public boolean supportsWeightPath() {
        return false;
    }

    @Override
    public Ia3Config parseConfig(ObjectNode json) {
        return Ia3Config.fromJson(json);
    }

    @Override
    public Ia3Layer createAdapter(TargetLayer layer, Ia3Config config, AdapterContext context) {
        return new Ia3Layer(layer, config.isFeedforward(layer.path()), config.initWeights(), context);
    }
}
