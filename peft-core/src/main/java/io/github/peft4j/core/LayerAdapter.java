package io.github.peft4j.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One adapter on one layer: the contract every method implements (HF PEFT's tuner layer).
 *
 * <p>{@link #deltaWeight} is the single place where the weight update is computed; the default merge adds it and
 * unmerge subtracts it. Methods whose update is not additive (DoRA) override {@link #merge} and {@link #unmerge}.
 *
 * <p>Arrays created by {@link #forward} and {@link #adaptWeight} must end up in the given or input's manager (never in
 * a parameter's manager), so that per-step scopes free them.
 */
public interface LayerAdapter extends AutoCloseable {

    /**
     * Returns the adapter's tensors keyed by their Hugging Face name inside the module, e.g. {@code lora_A.weight}:
     * the trainable ones (floating point) and fixed ones such as sparse indices. The key order is the save order.
     *
     * @return the parameters
     */
    Map<String, Parameter> parameters();

    /**
     * Returns the tensors to save, keyed like {@link #parameters()}. By default the parameters' own arrays; an adapter
     * whose file form differs from its training form (LoRA after a residual initialisation, saved at rank 2r
     * relative to the original base weights) builds them in {@code manager}.
     *
     * @param manager owns any array created here
     * @return name to array, in save order
     */
    default Map<String, NDArray> exportTensors(NDManager manager) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        parameters().forEach((k, p) -> out.put(k, p.getArray()));
        return out;
    }

    /**
     * Returns the training state beyond {@link #parameters()} that a resumed run needs to continue exactly (frozen
     * entries, accumulated gradients, residual terms), as arrays of this manager. None by default.
     *
     * @param manager owns any array created here
     * @return name to array
     */
    default Map<String, NDArray> trainingState(NDManager manager) {
        return Map.of();
    }

    /**
     * Restores what {@link #trainingState} returned, after {@link #parameters()} were restored.
     *
     * @param state name to array (possibly empty)
     * @throws IllegalArgumentException if a required entry is missing or has the wrong shape
     */
    default void restoreTrainingState(Map<String, NDArray> state) {
        if (!state.isEmpty()) {
            throw new IllegalArgumentException(
                    getClass().getSimpleName() + " keeps no training state; got " + state.keySet());
        }
    }

    /**
     * Whether the adapter computes the layer output itself on the activation path (from the input, with its own
     * effective weight), so the base layer's forward is skipped and {@link #forward} gets a null base output. False
     * by default.
     *
     * @return true to replace the base computation
     */
    default boolean computesOutput() {
        return false;
    }

    /**
     * Whether the adapter reads the base layer's weight while training or serving (beyond its shape), so the weight
     * must stay float32: a weight-decomposed norm, a sparse update of the weight's entries. An adapter that only adds
     * to the base output answers false, and its base layer may then hold its weight in bf16
     * ({@link io.github.peft4j.core.nn.Bf16Base}). True by default, the safe answer.
     *
     * @return whether the base weight is read
     */
    default boolean readsBaseWeight() {
        return true;
    }

    /**
     * Called after a loaded adapter's tensors were copied into {@link #parameters()}: a method whose tensors must
     * satisfy more than their shape (indices inside the weight) checks them here.
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    default void afterLoad() {}

    /**
     * Activation path: the adapted layer output.
     *
     * @param store the parameter store to read the adapter's parameters through (so optimizers see them)
     * @param input the layer input [..., in]
     * @param baseOutput the base layer output [..., out], or null when {@link #computesOutput()}
     * @param training whether this is a training pass (enables dropout)
     * @return the adapted output [..., out]
     */
    NDArray forward(ParameterStore store, NDArray input, NDArray baseOutput, boolean training);

    /**
     * Weight path: the effective weight the base block should see instead of W.
     *
     * @param store the parameter store to read the adapter's parameters through
     * @param weight the base weight [out, in]
     * @param scope the manager that owns temporaries of this forward pass
     * @param training whether this is a training pass
     * @return the effective weight [out, in], attached to {@code scope}
     */
    NDArray adaptWeight(ParameterStore store, NDArray weight, NDManager scope, boolean training);

    /**
     * Returns the weight update ΔW [out, in] of this adapter, without gradient, in a manager of the caller's.
     *
     * @param manager the manager that owns the result
     * @return ΔW
     */
    NDArray deltaWeight(NDManager manager);

    /**
     * Adds the update to the base weight in place.
     *
     * @param weight the base weight array, modified in place
     */
    default void merge(NDArray weight) {
        MergeChecks.mergeAdditive(weight, this::deltaWeight);
    }

    /**
     * Removes the update from the base weight in place.
     *
     * @param weight the merged weight array, modified in place
     */
    default void unmerge(NDArray weight) {
        MergeChecks.unmergeAdditive(weight, this::deltaWeight);
    }

    /**
     * Describes what this adapter trains on its layer, for model cards and {@code peft inspect}: e.g.
     * {@code LoRA rank 8, scaling 2} or {@code 14,746 of 147,456 weights (10.00%)}.
     *
     * @return one line, without the module path
     */
    String describe();

    /** Releases the adapter's arrays. */
    @Override
    void close();
}
