package io.github.peft4j.train;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import io.github.peft4j.core.ModuleTree;
import io.github.peft4j.core.PeftModel;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Hugging Face name of each parameter of a model ({@code bert.encoder.layer.3.output.dense.weight}, an adapter's
 * {@code bert.encoder.layer.3.attention.self.query.lora_B.weight}) and the transformer layer it belongs to, for
 * recipes that treat layers differently.
 */
public final class ParameterNames {

    private static final Pattern LAYER = Pattern.compile("(?:^|\\.)(?:layer|layers|h|block|blocks)\\.(\\d+)\\.");
    private static final Pattern EMBEDDING =
            Pattern.compile("(?:^|\\.)(?:embeddings|embed_tokens|wte|wpe|word_embeddings)(?:\\.|$)");

    private final Map<Parameter, String> names = new IdentityHashMap<>();
    private final int layers;

    private ParameterNames(Block model) {
        if (model instanceof PeftModel peft) {
            ModuleTree.namedParameters(peft.getBaseModel()).forEach((k, p) -> names.put(p, k));
            for (Pair<String, Parameter> p : peft.getDirectParameters()) {
                String k = p.getKey();
                names.put(p.getValue(), k.substring(k.indexOf('/') + 1)); // "<adapter>/<path>.<name>"
            }
        } else {
            ModuleTree.namedParameters(model).forEach((k, p) -> names.put(p, k));
        }
        int max = -1;
        for (String n : names.values()) {
            max = Math.max(max, layerOf(n));
        }
        this.layers = max + 1;
    }

    /**
     * Names a model's parameters.
     *
     * @param model a model, or a {@link PeftModel} (its adapters' parameters named by their module path)
     * @return the names
     */
    public static ParameterNames of(Block model) {
        return new ParameterNames(model);
    }

    /**
     * The name of a parameter.
     *
     * @param p the parameter
     * @return its Hugging Face name, or its DJL name if it is not in the model
     */
    public String name(Parameter p) {
        return names.getOrDefault(p, p.getName());
    }

    /**
     * The transformer layer of a parameter's name: the number after {@code layer.}, {@code layers.}, {@code h.} or
     * {@code block(s).}.
     *
     * @param name a parameter name
     * @return the 0-based layer, or -1 outside the layers (embeddings, final norm, head)
     */
    public static int layerOf(String name) {
        Matcher m = LAYER.matcher(name);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    /**
     * Whether a parameter name is an embedding's.
     *
     * @param name a parameter name
     * @return true for word, position and token-type embeddings and their LayerNorm
     */
    public static boolean isEmbedding(String name) {
        return layerOf(name) < 0 && EMBEDDING.matcher(name).find();
    }

    /**
     * The number of transformer layers: one more than the largest layer index of any parameter.
     *
     * @return the count (0 if no parameter is in a layer)
     */
    public int layers() {
        return layers;
    }
}
