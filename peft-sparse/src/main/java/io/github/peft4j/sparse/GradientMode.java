package io.github.peft4j.sparse;

/** How a sparse layer gets the gradient of its values. */
public enum GradientMode {
    /**
     * Per layer by size and density ({@link SparseLayer#autoMode}): {@link #SDDMM} up to the crossover measured with
     * {@code SddmmBenchmark} (3% on layers under 4 M weights, 5% above), else {@link #DENSE} (docs/sparse.md).
     */
    AUTO,
    /**
     * The values' gradient straight from the layer's output gradient and input with the SDDMM kernel, outside
     * autograd: the dense [out, in] weight gradient is never formed. Needs the activation path and a training loop
     * that calls {@code PeftModel.afterBackward()} (FineTuner does); weight-path layers fall back to {@link #DENSE}.
     */
    SDDMM,
    /** Autograd through {@code put}: libtorch forms the dense weight gradient transiently and gathers it. */
    DENSE;

    /**
     * Reads {@code sparse_gradient} ("auto", "sddmm" or "dense"; missing = auto).
     *
     * @param json the config
     * @param config the config's name for the message
     * @return the mode
     * @throws IllegalArgumentException on another value
     */
    public static GradientMode fromJson(com.fasterxml.jackson.databind.node.ObjectNode json, String config) {
        String v = json.path("sparse_gradient").asText("auto");
        try {
            return valueOf(v.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    config + ".sparse_gradient must be \"auto\", \"sddmm\" or \"dense\";" + " got "
                            + json.get("sparse_gradient"),
                    e);
        }
    }
}
