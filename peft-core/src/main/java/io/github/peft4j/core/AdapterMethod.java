package io.github.peft4j.core;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A fine-tuning method: the service each method module registers in
 * {@code META-INF/services/io.github.peft4j.core.AdapterMethod}.
 *
 * <p>peft-core does the rest: target matching, injection, freezing, multiple adapters, merge, save and load.
 */
public interface AdapterMethod {

    /**
     * Returns the {@code peft_type} this method reads and writes, e.g. {@code LORA}.
     *
     * @return the peft type
     */
    String peftType();

    /**
     * Whether this method handles a config object.
     *
     * @param config a config
     * @return true if {@link #createAdapter} accepts it
     */
    boolean accepts(AdapterConfig config);

    /**
     * Whether this method can adapt a module. The default: linear layers ({@link ai.djl.nn.core.Linear} with a 2-D
     * weight [out, in]).
     *
     * @param block a module the targets matched
     * @return true if {@link #createAdapter} accepts it
     */
    default boolean canAdapt(ai.djl.nn.Block block) {
        if (!(block instanceof ai.djl.nn.core.Linear)) {
            return false;
        }
        ai.djl.nn.Parameter w = block.getDirectParameters().get("weight");
        return w != null && w.getArray() != null && w.getArray().getShape().dimension() == 2;
    }

    /**
     * Describes what {@link #canAdapt} accepts, for error messages.
     *
     * @return e.g. {@code linear layers (ai.djl.nn.core.Linear)}
     */
    default String adaptableModules() {
        return "linear layers (ai.djl.nn.core.Linear)";
    }

    /**
     * Whether the method's adapters work on the weight path ({@link LayerAdapter#adaptWeight}). A method that also
     * changes the bias (SSF's shift) needs the activation path.
     *
     * @return true by default
     */
    default boolean supportsWeightPath() {
        return true;
    }

    /**
     * Reads {@code adapter_config.json}. Unknown keys are ignored with a warning; known keys whose value peft4j does
     * not support fail with a message naming the key.
     *
     * @param json the parsed file
     * @return the config
     * @throws IllegalArgumentException if a value is invalid or unsupported
     */
    AdapterConfig parseConfig(ObjectNode json);

    /**
     * Creates the adapter for one layer, its parameters initialised.
     *
     * @param layer the target layer
     * @param config the config ({@link #accepts} returned true)
     * @param context the adapter name, seed and manager
     * @return the adapter
     * @throws IllegalArgumentException if the config does not fit the layer (e.g. the rank is too large)
     */
    LayerAdapter createAdapter(TargetLayer layer, AdapterConfig config, AdapterContext context);

    /**
     * Returns the {@code adapter_config.json} to write for an adapter. The default is {@code config.toJson()}; a
     * method whose layers save tensors of another shape than they train with (a residual initialisation exported at
     * rank 2r) adjusts the config to match {@link LayerAdapter#exportTensors}.
     *
     * @param config the adapter's config
     * @param layers the adapter's layers by module path
     * @return the JSON to write
     */
    default ObjectNode exportConfig(AdapterConfig config, java.util.Map<String, LayerAdapter> layers) {
        return config.toJson();
    }

    /**
     * Returns extra lines for the adapter's model card ({@code README.md}), e.g. how the saved tensors relate to the
     * base weights. None by default.
     *
     * @param config the adapter's config
     * @param layers the adapter's layers by module path
     * @return Markdown lines, without leading bullet
     */
    default java.util.List<String> modelCardNotes(AdapterConfig config, java.util.Map<String, LayerAdapter> layers) {
        return java.util.List.of();
    }

    /**
     * Training hook: called after every backward pass (every micro-batch) on the active adapter, while the pass's
     * arrays are alive. Methods that compute gradients outside autograd (SaRA's SDDMM) write them here. None by
     * default.
     *
     * @param config the adapter's config
     * @param layers the adapter's layers by module path
     */
    default void afterBackward(AdapterConfig config, java.util.Map<String, LayerAdapter> layers) {
    }

    /**
     * Training hook: called once per optimizer step after the gradients are complete and before clipping and the
     * update (gradient regularisers go here). None by default.
     *
     * @param config the adapter's config
     * @param layers the adapter's layers by module path
     * @param step the 0-based step about to be applied
     */
    default void beforeStep(AdapterConfig config, java.util.Map<String, LayerAdapter> layers, long step) {
    }

    /**
     * Training hook: called once per optimizer step after the update (re-selection, regrowth). None by default.
     *
     * @param config the adapter's config
     * @param layers the adapter's layers by module path
     * @param step the 0-based step just applied
     * @param optimizer lets the method reset optimizer state of entries it repurposes
     */
    default void afterStep(AdapterConfig config, java.util.Map<String, LayerAdapter> layers, long step,
            OptimizerAccess optimizer) {
    }
}
