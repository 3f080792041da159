package io.github.peft4j.core;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A fine-tuning method: the service each method module registers in
 * {@code META-INF/services/io.github.peft4j.core.AdapterMethod}, typed by its config and its layer class so that
 * method code never downcasts.
 *
 * <p>peft-core does the rest: target matching, injection, freezing, several adapters, merge, save and load, and
 * the training state of a checkpoint. docs/architecture.md has the recipe for adding a method.
 *
 * @param <C> the method's config
 * @param <L> the method's layer adapter
 */
public interface AdapterMethod<C extends AdapterConfig, L extends LayerAdapter> {

    /**
     * Returns the {@code peft_type} this method reads and writes, e.g. {@code LORA}.
     *
     * @return the peft type
     */
    String peftType();

    /**
     * Returns the config class this method handles.
     *
     * @return the class
     */
    Class<C> configType();

    /**
     * Whether this method can adapt a module. The default: linear layers ({@link Linear} with a 2-D weight
     * [out, in]).
     *
     * @param block a module the targets matched
     * @return true if {@link #createAdapter} accepts it
     */
    default boolean canAdapt(Block block) {
        if (!(block instanceof Linear)) {
            return false;
        }
        Parameter w = block.getDirectParameters().get("weight");
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
     * Whether the method's update can be merged into the base weights. False for nonlinear adapters (bottleneck
     * adapters), which {@link PeftModel#merge()} then refuses with a message instead of changing the weights.
     *
     * @return true by default
     */
    default boolean supportsMerge() {
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
    C parseConfig(ObjectNode json);

    /**
     * Creates the adapter for one layer, its parameters initialised.
     *
     * @param layer the target layer
     * @param config the config
     * @param context the adapter name, seed and manager
     * @return the adapter
     * @throws IllegalArgumentException if the config does not fit the layer (e.g. the rank is too large)
     */
    L createAdapter(TargetLayer layer, C config, AdapterContext context);

    /**
     * Creates the adapters of all target layers of one adapter, in model order. The default calls
     * {@link #createAdapter} per layer; a method whose layers share state sized by all of them (VeRA's projections,
     * as large as the largest layer) overrides it. On failure, the adapters already created are closed.
     *
     * @param layers the target layers, in model order
     * @param config the config
     * @param context the adapter name, seed and manager
     * @return the adapters by module path, in model order
     * @throws IllegalArgumentException if the config does not fit a layer
     */
    default Map<String, L> createAdapters(List<TargetLayer> layers, C config, AdapterContext context) {
        Map<String, L> out = new LinkedHashMap<>();
        try {
            for (TargetLayer t : layers) {
                out.put(t.path(), createAdapter(t, config, context));
            }
        } catch (RuntimeException e) {
            out.values().forEach(LayerAdapter::close);
            throw e;
        }
        return out;
    }

    /**
     * Returns the tensors an adapter saves outside its layers (VeRA's shared projections), keyed by their name after
     * {@code base_model.} in {@code adapter_model.safetensors}, e.g. {@code vera_A}. They never train. A loaded file
     * must hold exactly these (besides the layers' tensors), and their values replace the ones created. None by
     * default.
     *
     * @param config the adapter's config
     * @param layers the adapter's layers by module path
     * @return name to tensor, in save order
     */
    default Map<String, Parameter> sharedTensors(C config, Map<String, L> layers) {
        return Map.of();
    }

    /**
     * Returns the {@code adapter_config.json} to write for an adapter. The default is {@code config.toJson()}; a
     * method whose layers save tensors of another shape than they train with (a residual initialisation exported at
     * rank 2r) adjusts the config to match {@link LayerAdapter#exportTensors}.
     *
     * @param config the adapter's config
     * @param layers the adapter's layers by module path
     * @return the JSON to write
     */
    default ObjectNode exportConfig(C config, Map<String, L> layers) {
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
    default List<String> modelCardNotes(C config, Map<String, L> layers) {
        return List.of();
    }

    /**
     * Training hook: called after every backward pass (every micro-batch) on the active adapter, while the pass's
     * arrays are alive. Methods that compute gradients outside autograd (SaRA's SDDMM) write them here. None by
     * default.
     *
     * @param config the adapter's config
     * @param layers the adapter's layers by module path
     */
    default void afterBackward(C config, Map<String, L> layers) {}

    /**
     * Training hook: called once per optimizer step after the gradients are complete and before clipping and the
     * update (gradient regularisers go here). None by default.
     *
     * @param config the adapter's config
     * @param layers the adapter's layers by module path
     * @param step the 0-based step about to be applied
     */
    default void beforeStep(C config, Map<String, L> layers, long step) {}

    /**
     * Training hook: called once per optimizer step after the update (re-selection, regrowth). None by default.
     * Whatever state this changes must be in the layers' {@link LayerAdapter#trainingState} so that a resumed run
     * continues exactly.
     *
     * @param config the adapter's config
     * @param layers the adapter's layers by module path
     * @param step the 0-based step just applied
     * @param optimizer lets the method reset optimizer state of entries it repurposes
     */
    default void afterStep(C config, Map<String, L> layers, long step, OptimizerAccess optimizer) {}
}
