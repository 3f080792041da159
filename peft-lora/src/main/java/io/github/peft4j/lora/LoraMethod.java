package io.github.peft4j.lora;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.AdapterMethod;
import io.github.peft4j.core.LayerAdapter;
import io.github.peft4j.core.TargetLayer;

/** The LoRA method, registered through {@code META-INF/services}. */
public final class LoraMethod implements AdapterMethod {

    /** Creates the method (used by {@link java.util.ServiceLoader}). */
    public LoraMethod() {}

    @Override
    public String peftType() {
        return LoraConfig.PEFT_TYPE;
    }

    @Override
    public boolean accepts(AdapterConfig config) {
        return config instanceof LoraConfig;
    }

    @Override
    public AdapterConfig parseConfig(ObjectNode json) {
        return LoraConfig.fromJson(json);
    }

    @Override
    public LayerAdapter createAdapter(TargetLayer layer, AdapterConfig config, AdapterContext context) {
        return new LoraLayer(layer, (LoraConfig) config, context);
    }
}
