package io.github.peft4j.methods.vera;

import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.AdapterMethod;
import io.github.peft4j.core.TargetLayer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The VeRA method, registered through {@code META-INF/services}: one shared projection pair per adapter, as large as
 * the largest target layer (Python's {@code _find_dim}), and a {@link VeraLayer} per target reading it.
 */
public final class VeraMethod implements AdapterMethod<VeraConfig, VeraLayer> {

    /** Creates the method (used by {@link java.util.ServiceLoader}). */
    public VeraMethod() {}

    @Override
    public String peftType() {
        return VeraConfig.PEFT_TYPE;
    }

    @Override
    public Class<VeraConfig> configType() {
        return VeraConfig.class;
    }

    @Override
    public boolean supportsWeightPath() {
        return false;
    }

    @Override
    public VeraConfig parseConfig(ObjectNode json) {
        return VeraConfig.fromJson(json);
    }

    /** A single layer gets a projection of its own size (what Python builds when it is the only target). */
    @Override
    public VeraLayer createAdapter(TargetLayer layer, VeraConfig config, AdapterContext context) {
        return createAdapters(List.of(layer), config, context).get(layer.path());
    }

    @Override
    public Map<String, VeraLayer> createAdapters(List<TargetLayer> layers, VeraConfig config, AdapterContext context) {
        if (layers.isEmpty()) {
            return Map.of();
        }
        long maxIn = layers.stream().mapToLong(TargetLayer::inFeatures).max().orElseThrow();
        long maxOut = layers.stream().mapToLong(TargetLayer::outFeatures).max().orElseThrow();
        VeraProjection shared = new VeraProjection(
                context.manager(),
                config.rank(),
                maxIn,
                maxOut,
                config.projectionPrngKey(),
                layers.get(0).weight().getArray());
        Map<String, VeraLayer> out = new LinkedHashMap<>();
        try {
            for (TargetLayer t : layers) {
                out.put(t.path(), new VeraLayer(t, config, context, shared));
            }
        } catch (RuntimeException e) {
            out.values().forEach(VeraLayer::close);
            shared.close();
            throw e;
        }
        return out;
    }

    /** {@code vera_A} and {@code vera_B} when {@code save_projection} is set, as Python saves them. */
    @Override
    public Map<String, Parameter> sharedTensors(VeraConfig config, Map<String, VeraLayer> layers) {
        if (!config.saveProjection() || layers.isEmpty()) {
            return Map.of();
        }
        VeraProjection p = layers.values().iterator().next().projection();
        Map<String, Parameter> out = new LinkedHashMap<>();
        out.put("vera_A", p.a());
        out.put("vera_B", p.b());
        return out;
    }
}
