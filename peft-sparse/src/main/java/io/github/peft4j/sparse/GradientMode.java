package io.github.peft4j.sparse;

/** How a sparse layer gets the gradient of its values. */
public enum GradientMode {
    /**
     * Per layer by density: {@link #SDDMM} below {@link SparseLayer#SDDMM_MAX_DENSITY}, else {@link #DENSE} (the
     * crossover measured with {@code SparseKernelBenchmark}, docs/sparse.md).
     */
    AUTO,
    /**
     * The values' gradient straight from the layer's output gradient and input with the SDDMM kernel, outside
     * autograd: the dense [out, in] weight gradient is never formed. Needs the activation path and a training loop
     * that calls {@code PeftModel.afterBackward()} (FineTuner does); weight-path layers fall back to {@link #DENSE}.
     */
    SDDMM,
    /** Autograd through {@code put}: libtorch forms the dense weight gradient transiently and gathers it. */
    DENSE
}
