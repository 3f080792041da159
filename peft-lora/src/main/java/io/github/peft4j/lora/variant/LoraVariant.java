package io.github.peft4j.lora.variant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.MergeChecks;
import java.util.Map;

/**
 * How a LoRA layer applies its low-rank update (Python PEFT's {@code LoraVariant}): plain LoRA
 * ({@link StandardLora}), DoRA's magnitude and direction ({@link Dora}), or LoRA trained on a residual base
 * ({@link ResidualLora}, after PiSSA or LoRA-GA). The layer owns A, B and dropout; the variant computes the output,
 * the effective weight, the update and the saved tensors.
 */
public interface LoraVariant extends AutoCloseable {

    /**
     * Returns the variant's own tensors, keyed by their Hugging Face name (DoRA's {@code lora_magnitude_vector}).
     *
     * @return name to parameter; empty by default
     */
    default Map<String, Parameter> parameters() {
        return Map.of();
    }

    /**
     * Activation path: the adapted layer output.
     *
     * @param store the parameter store
     * @param input the layer input
     * @param dropped the input after LoRA dropout (the same array when dropout does not apply)
     * @param baseOutput W x + b
     * @param a A as read through the store
     * @param b B as read through the store
     * @param training whether training
     * @return the output
     */
    NDArray forward(
            ParameterStore store,
            NDArray input,
            NDArray dropped,
            NDArray baseOutput,
            NDArray a,
            NDArray b,
            boolean training);

    /**
     * Weight path: the effective weight.
     *
     * @param store the parameter store
     * @param weight W
     * @param a A as read through the store
     * @param b B as read through the store
     * @param scope owns temporaries
     * @param training whether training
     * @return the weight the base layer should use, in {@code scope}
     */
    NDArray adaptWeight(ParameterStore store, NDArray weight, NDArray a, NDArray b, NDManager scope, boolean training);

    /**
     * Returns ΔW relative to the current base weight, without gradient.
     *
     * @param manager owns the result
     * @return ΔW
     */
    NDArray deltaWeight(NDManager manager);

    /**
     * Merges into the base weight in place: adds ΔW after checking that it is finite. DoRA, whose update is not
     * additive, overrides it.
     *
     * @param weight W, modified
     */
    default void merge(NDArray weight) {
        MergeChecks.mergeAdditive(weight, this::deltaWeight);
    }

    /**
     * Removes a merge in place: subtracts ΔW.
     *
     * @param weight the merged weight, modified
     */
    default void unmerge(NDArray weight) {
        MergeChecks.unmergeAdditive(weight, this::deltaWeight);
    }

    /**
     * Returns the tensors to save under their Hugging Face names ({@code lora_A.weight}, ...).
     *
     * @param manager owns arrays created here
     * @return name to array
     */
    Map<String, NDArray> exportTensors(NDManager manager);

    /**
     * Returns the state beyond parameters that a resumed run needs. None by default.
     *
     * @param manager owns arrays created here
     * @return name to array
     */
    default Map<String, NDArray> trainingState(NDManager manager) {
        return Map.of();
    }

    /**
     * Names the variant for summaries.
     *
     * @return e.g. {@code LoRA}, {@code DoRA}, {@code LoRA on a PiSSA residual}
     */
    String describe();

    @Override
    void close();
}
