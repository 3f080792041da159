package io.github.peft4j.lora.variant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.Scalars;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * LoRA trained on a residual base after a residual initialisation (PiSSA, LoRA-GA): with A₀, B₀ the initial factors,
 * the layer computes {@code (W − s·B₀A₀) x + b + s · B A dropout(x)}, so its output at step 0 is the base model's
 * while the stored W stays the original. {@code ΔW = s(BA − B₀A₀)}; the saved adapter is the rank-2r
 * {@code [A; A₀], [B, −B₀]}, right relative to the original base.
 */
public final class ResidualLora implements LoraVariant {

    /** The prefix of the training-state keys: {@code residual.<init>.A}, {@code residual.<init>.B}. */
    public static final String STATE_PREFIX = "residual.";

    private final LoraWeights w;
    private final NDArray a0;
    private final NDArray b0;
    private final String init;

    /**
     * Creates the variant; A₀ and B₀ are copied.
     *
     * @param weights the layer's A, B and scaling
     * @param a0 A₀ [r, in]
     * @param b0 B₀ [out, r]
     * @param init the initializer's name, e.g. {@code PiSSA}
     */
    public ResidualLora(LoraWeights weights, NDArray a0, NDArray b0, String init) {
        this.w = weights;
        NDManager m = weights.a().getArray().getManager();
        this.a0 = copy(a0, m);
        this.b0 = copy(b0, m);
        this.init = init;
    }

    private static NDArray copy(NDArray x, NDManager m) {
        try (NDArray d = x.stopGradient()) {
            NDArray c = d.duplicate();
            c.attach(m);
            return c;
        }
    }

    /**
     * Returns the initializer's name.
     *
     * @return e.g. {@code PiSSA}
     */
    public String getInit() {
        return init;
    }

    @Override
    public NDArray forward(
            ParameterStore store,
            NDArray input,
            NDArray dropped,
            NDArray baseOutput,
            NDArray a,
            NDArray b,
            boolean training) {
        NDArray u = LoraWeights.lowRank(dropped, a, b);
        // the residual base (W − s·B₀A₀) sees the input without dropout, as W does
        NDArray u0 = LoraWeights.lowRank(
                input, a0.toDevice(input.getDevice(), false), b0.toDevice(input.getDevice(), false));
        return baseOutput.add(Scalars.mul(u.sub(u0), w.scaling()));
    }

    @Override
    public NDArray adaptWeight(
            ParameterStore store, NDArray weight, NDArray a, NDArray b, NDManager scope, boolean training) {
        NDArray ba = b.matMul(a);
        ba.attach(scope);
        NDArray ba0 = b0.toDevice(weight.getDevice(), false).matMul(a0.toDevice(weight.getDevice(), false));
        ba0.attach(scope);
        return Scalars.mul(ba.sub(ba0), w.scaling()).add(weight);
    }

    @Override
    public NDArray deltaWeight(NDManager manager) {
        NDArray d = w.scaledProduct(manager);
        try (NDArray p0 = b0.matMul(a0);
                NDArray s0 = Scalars.mul(p0, w.scaling())) {
            d.subi(s0.toDevice(d.getDevice(), false));
        }
        return d;
    }

    /** Saves [A; A₀] and [B, −B₀]: rank 2r, right relative to the original base. */
    @Override
    public Map<String, NDArray> exportTensors(NDManager manager) {
        Map<String, NDArray> m = new LinkedHashMap<>();
        try (NDArray a = w.a().getArray().stopGradient();
                NDArray b = w.b().getArray().stopGradient();
                NDArray negB0 = b0.toDevice(b.getDevice(), false).neg()) {
            NDArray a2 = a.concat(a0.toDevice(a.getDevice(), false), 0);
            NDArray b2 = b.concat(negB0, 1);
            a2.attach(manager);
            b2.attach(manager);
            m.put("lora_A.weight", a2);
            m.put("lora_B.weight", b2);
        }
        return m;
    }

    @Override
    public Map<String, NDArray> trainingState(NDManager manager) {
        return Map.of(STATE_PREFIX + init + ".A", a0, STATE_PREFIX + init + ".B", b0);
    }

    @Override
    public String describe() {
        return "LoRA on a " + init + " residual";
    }

    @Override
    public void close() {
        a0.close();
        b0.close();
    }
}
