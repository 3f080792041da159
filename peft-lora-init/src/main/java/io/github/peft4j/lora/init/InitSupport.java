package io.github.peft4j.lora.init;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import io.github.peft4j.core.InjectionMode;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.lora.LoraConfig;
import io.github.peft4j.lora.LoraLayer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** What the initializers share: finding the LoRA layers, reading weights, pausing trainable parameters. */
final class InitSupport {

    private InitSupport() {}

    /** The LoRA layers of an adapter by module path, after checking the model is in a state to initialise. */
    static Map<String, LoraLayer> loraLayers(PeftModel model, String adapter, String method) {
        if (!model.getAdapterNames().contains(adapter)) {
            throw new IllegalArgumentException(
                    method + ": no adapter named '" + adapter + "'; adapters: " + model.getAdapterNames());
        }
        if (!(model.getConfig(adapter) instanceof LoraConfig)) {
            throw new IllegalArgumentException(method + " initialises LoRA adapters; '" + adapter + "' is "
                    + model.getConfig(adapter).peftType());
        }
        if (model.isMerged()) {
            throw new IllegalStateException(method + ": the model is merged; unmerge() before initialising");
        }
        return model.getLayerAdapters(adapter, LoraLayer.class);
    }

    /** Fails unless every layer runs on the activation path, where initializers can see the layer inputs. */
    static void requireActivationPath(PeftModel model, Map<String, LoraLayer> layers, String method) {
        List<String> weightPath = new ArrayList<>();
        for (String path : layers.keySet()) {
            if (model.getInjectionMode(path) != InjectionMode.ACTIVATION) {
                weightPath.add(path);
            }
        }
        if (!weightPath.isEmpty()) {
            throw new IllegalArgumentException(method + " reads each layer's input and needs the activation path;"
                    + " these layers are on the weight path: "
                    + (weightPath.size() > 5
                            ? weightPath.subList(0, 5) + " and " + (weightPath.size() - 5) + " more"
                            : weightPath)
                    + " (their parent module cannot host a wrapper; build the PeftModel with InjectionMode.AUTO"
                    + " on a model whose linear layers are replaceable children, as peft4j's BERT)");
        }
    }

    /** The layer's base weight [out, in] as row-major float32 values. */
    static float[] weightValues(LoraLayer layer) {
        NDArray w = layer.getTarget().weight().getArray();
        try (NDArray d = w.stopGradient();
                NDArray f = d.toType(DataType.FLOAT32, true)) {
            return f.toFloatArray();
        }
    }

    /** Per-layer seed from the user's seed and the module path (stable across runs and JVMs). */
    static long layerSeed(long seed, String path) {
        long h = 1125899906842597L;
        for (int i = 0; i < path.length(); i++) {
            h = 31 * h + path.charAt(i);
        }
        return seed * 0x9E3779B97F4A7C15L ^ h;
    }

    /**
     * Freezes every trainable parameter of the model and returns them, so a probing pass computes no gradient for
     * them; {@link #unfreeze} restores them.
     */
    static List<Parameter> freezeTrainable(PeftModel model) {
        List<Parameter> frozen = new ArrayList<>();
        for (Pair<String, Parameter> p : model.getParameters()) {
            if (p.getValue().requiresGradient()) {
                p.getValue().freeze(true);
                frozen.add(p.getValue());
            }
        }
        return frozen;
    }

    static void unfreeze(List<Parameter> frozen) {
        for (Parameter p : frozen) {
            p.freeze(false);
        }
    }

    /** √s appears in the factors: a non-positive scaling (negative lora_alpha) cannot be split. */
    static void requirePositiveScaling(Map<String, LoraLayer> layers, String method) {
        for (LoraLayer l : layers.values()) {
            if (!(l.getScaling() > 0)) {
                throw new IllegalArgumentException(method + " needs a positive scaling (lora_alpha > 0); '"
                        + l.getPath() + "' has s = " + l.getScaling());
            }
        }
    }

    /** Fails on empty data, saying what the method needs it for. */
    static void requireData(io.github.peft4j.train.TrainingData data, String method, String purpose) {
        if (data.size() == 0) {
            throw new IllegalArgumentException(method + " needs " + purpose + "; the data is empty");
        }
    }
}
