package io.github.peft4j.methods.lntuning;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.LayerAdapter;
import io.github.peft4j.core.MergeChecks;
import io.github.peft4j.core.TargetLayer;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * LayerNorm tuning on one layer: trainable copies of the layer's {@code weight} (and {@code bias}) that the layer reads
 * instead of its own while the adapter is active. The layer's own forward runs, so any normalisation (LayerNorm,
 * RMSNorm) or linear layer works unchanged. Merging writes the copies into the layer and keeps the originals to put
 * back on unmerge, as Python swaps the layer and its copy.
 */
public final class LnTuningLayer implements LayerAdapter {

    private final TargetLayer layer;
    private final Parameter weight;
    private final Parameter bias;
    private final Map<String, Parameter> byBaseId = new HashMap<>();
    private NDArray stashedWeight;
    private NDArray stashedBias;

    LnTuningLayer(TargetLayer layer, AdapterContext ctx) {
        this.layer = layer;
        this.weight = copy(layer.weight(), "ln_tuning_layers.weight", ctx.manager());
        byBaseId.put(layer.weight().getId(), weight);
        if (layer.bias() != null) {
            this.bias = copy(layer.bias(), "ln_tuning_layers.bias", ctx.manager());
            byBaseId.put(layer.bias().getId(), bias);
        } else {
            this.bias = null;
        }
    }

    private static Parameter copy(Parameter base, String name, NDManager manager) {
        NDArray v = base.getArray().stopGradient();
        NDArray owned = v.duplicate();
        v.close();
        owned.attach(manager);
        return Parameter.builder()
                .setName(name)
                .setType(base.getType())
                .optArray(owned)
                .build();
    }

    @Override
    public Map<String, Parameter> parameters() {
        Map<String, Parameter> m = new LinkedHashMap<>();
        m.put("ln_tuning_layers.weight", weight);
        if (bias != null) {
            m.put("ln_tuning_layers.bias", bias);
        }
        return m;
    }

    @Override
    public boolean computesOutput() {
        return true;
    }

    @Override
    public NDArray forward(ParameterStore store, NDArray input, NDArray baseOutput, boolean training) {
        ParameterStore copies = new ParameterStore(input.getManager(), false) {
            @Override
            public NDArray getValue(Parameter parameter, Device device, boolean train) {
                Parameter own = parameter == null ? null : byBaseId.get(parameter.getId());
                return store.getValue(own != null ? own : parameter, device, train);
            }
        };
        return layer.block().forward(copies, new NDList(input), training).singletonOrThrow();
    }

    @Override
    public NDArray adaptWeight(ParameterStore store, NDArray w, NDManager scope, boolean training) {
        throw new UnsupportedOperationException(
                "LayerNorm tuning runs on the activation path only ('" + layer.path() + "')");
    }

    /** The copy's weight minus the layer's own (the original while merged). */
    @Override
    public NDArray deltaWeight(NDManager manager) {
        try (NDArray w = weight.getArray().stopGradient();
                NDArray base =
                        (stashedWeight != null ? stashedWeight : layer.weight().getArray()).stopGradient()) {
            NDArray d = w.sub(base);
            d.attach(manager);
            return d;
        }
    }

    @Override
    public void merge(NDArray w) {
        if (stashedWeight != null) {
            return;
        }
        MergeChecks.requireFinite(weight.getArray(), "LayerNorm tuning weight");
        stashedWeight = stash(w);
        put(w, weight.getArray());
        if (bias != null) {
            stashedBias = stash(layer.bias().getArray());
            put(layer.bias().getArray(), bias.getArray());
        }
    }

    @Override
    public void unmerge(NDArray w) {
        if (stashedWeight == null) {
            return;
        }
        put(w, stashedWeight);
        stashedWeight.close();
        stashedWeight = null;
        if (stashedBias != null) {
            put(layer.bias().getArray(), stashedBias);
            stashedBias.close();
            stashedBias = null;
        }
    }

    private static NDArray stash(NDArray a) {
        try (NDArray v = a.stopGradient()) {
            return v.duplicate();
        }
    }

    private static void put(NDArray target, NDArray values) {
        try (NDArray t = target.stopGradient();
                NDArray v = values.stopGradient()) {
            t.set(new NDIndex("..."), v);
        }
    }

    @Override
    public String describe() {
        return "trainable copy of the layer's " + (bias != null ? "weight and bias" : "weight") + " ("
                + layer.weight().getArray().size()
                + (bias != null ? " + " + layer.bias().getArray().size() : "")
                + " values)";
    }

    @Override
    public void close() {
        weight.close();
        if (bias != null) {
            bias.close();
        }
        if (stashedWeight != null) {
            stashedWeight.close();
        }
        if (stashedBias != null) {
            stashedBias.close();
        }
    }
}
