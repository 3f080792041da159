package io.github.peft4j.lora;

import ai.djl.ndarray.NDArray;
import io.github.peft4j.core.Scalars;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.LayerAdapter;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.core.TargetLayer;
import io.github.peft4j.lora.variant.Dora;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BinaryOperator;

/**
 * LoRA on one linear layer: A [r, in], B [out, r], scaling s.
 *
 * <ul>
 *   <li>activation path: {@code y = base(x) + s · (dropout(x) Aᵀ) Bᵀ}, never forming B A;
 *   <li>weight path: the layer reads {@code W + s · B A} (dropout does not apply there);
 *   <li>{@code ΔW = s · B A}.
 * </ul>
 */
public final class LoraLayer implements LayerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(LoraLayer.class);

    private final String path;
    private final TargetLayer target;
    private final int rank;
    private final double scaling;
    private final double dropout;
    private final Parameter loraA;
    private final Parameter loraB;
    private final Dora dora;
    private boolean warnedDropout;
    /** Frozen A₀ of a residual initialisation (PiSSA, LoRA-GA), or null. */
    private NDArray offsetA;
    /** Frozen B₀ of a residual initialisation, or null. */
    private NDArray offsetB;
    private String residualInit;
    private BinaryOperator<NDArray> forwardHook;

    LoraLayer(TargetLayer layer, LoraConfig config, AdapterContext ctx) {
        this.path = layer.path();
        this.target = layer;
        this.rank = config.rankFor(path);
        this.scaling = config.scalingFor(path);
        this.dropout = config.dropout();
        long in = layer.inFeatures();
        long out = layer.outFeatures();
        if (rank > Math.min(in, out)) {
            throw new IllegalArgumentException("LoraConfig.r" + (config.rankPattern().isEmpty() ? ""
                    : " (or rank_pattern)") + " must be in [1, min(in=" + in + ", out=" + out + ")] for '" + path
                    + "'; got " + rank);
        }
        NDArray w = layer.weight().getArray();
        SplittableRandom rnd = ctx.random(path);
        float[] a = new float[Math.toIntExact(rank * in)];
        float[] b = new float[Math.toIntExact(out * rank)];
        switch (config.init()) {
            case DEFAULT -> uniform(rnd, a, 1 / Math.sqrt(in));
            case GAUSSIAN -> {
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) (nextGaussian(rnd) / rank);
                }
            }
            case RANDOM -> {
                uniform(rnd, a, 1 / Math.sqrt(in));
                uniform(rnd, b, 1 / Math.sqrt(rank));
            }
            default -> throw new IllegalStateException(config.init().toString());
        }
        this.loraA = parameter(ctx.manager(), "lora_A", a, new Shape(rank, in), w);
        this.loraB = parameter(ctx.manager(), "lora_B", b, new Shape(out, rank), w);
        this.dora = config.useDora() ? new Dora(layer, loraA.getArray(), loraB.getArray(), scaling, ctx.manager())
                : null;
    }

    private static void uniform(SplittableRandom rnd, float[] x, double bound) {
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
        }
    }

    private static double nextGaussian(SplittableRandom rnd) {
        double u1 = rnd.nextDouble();
        double u2 = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    }

    private static Parameter parameter(NDManager manager, String name, float[] data, Shape shape, NDArray like) {
        NDArray arr = manager.create(data, shape);
        if (like.getDataType() != DataType.FLOAT32) {
            NDArray t = arr.toType(like.getDataType(), false);
            arr.close();
            arr = t;
        }
        if (!arr.getDevice().equals(like.getDevice())) {
            NDArray t = arr.toDevice(like.getDevice(), false);
            t.attach(manager);
            arr.close();
            arr = t;
        }
        return Parameter.builder().setName(name).setType(Parameter.Type.WEIGHT).optArray(arr).build();
    }

    /**
     * Returns A [r, in].
     *
     * @return the parameter
     */
    public Parameter getLoraA() {
        return loraA;
    }

    /**
     * Returns B [out, r].
     *
     * @return the parameter
     */
    public Parameter getLoraB() {
        return loraB;
    }

    /**
     * Returns the module path of the adapted layer.
     *
     * @return the path
     */
    public String getPath() {
        return path;
    }

    /**
     * Returns the adapted layer.
     *
     * @return the target
     */
    public TargetLayer getTarget() {
        return target;
    }

    /**
     * Overwrites A and B, for initializers ({@code io.github.peft4j.lora.init}). The adapter's function changes
     * accordingly: keep B = 0 to stay the identity.
     *
     * @param a A's values, row-major [r, in]
     * @param b B's values, row-major [out, r]
     * @throws IllegalArgumentException if a length does not match
     */
    public void setWeights(float[] a, float[] b) {
        NDArray av = loraA.getArray();
        NDArray bv = loraB.getArray();
        checkLength("A", a, av.getShape());
        checkLength("B", b, bv.getShape());
        try (NDManager tmp = av.getManager().newSubManager()) {
            ParameterValues.copyInto(av, tmp.create(a, av.getShape()));
            ParameterValues.copyInto(bv, tmp.create(b, bv.getShape()));
        }
    }

    /**
     * Residual initialisation (PiSSA, LoRA-GA): sets A and B to A₀, B₀ and from then on subtracts the frozen
     * s·B₀A₀, so the layer computes {@code (W − s·B₀A₀) x + s·B A x}: the residual base weight of those methods,
     * unchanged output at step 0, while the stored W stays the original. Disabling, unloading or deleting the
     * adapter therefore gives back the original model, merging writes W + s(BA − B₀A₀), and saving exports the
     * rank-2r adapter [A; A₀], [B, −B₀] that is right relative to the original base.
     *
     * @param a A₀, row-major [r, in]
     * @param b B₀, row-major [out, r]
     * @param initName the initializer's name for the model card, e.g. {@code PiSSA}
     * @throws IllegalStateException for DoRA, whose norm would not stay consistent with a subtracted term
     */
    public void setResidualWeights(float[] a, float[] b, String initName) {
        if (dora != null) {
            throw new IllegalStateException("residual initialisations (PiSSA, LoRA-GA) do not combine with DoRA"
                    + " (use_dora) on '" + path + "'");
        }
        setWeights(a, b);
        closeOffset();
        residualInit = initName;
        NDManager m = loraA.getArray().getManager();
        offsetA = loraA.getArray().stopGradient().duplicate();
        offsetB = loraB.getArray().stopGradient().duplicate();
        offsetA.attach(m);
        offsetB.attach(m);
    }

    /**
     * Whether a residual initialisation is in effect (see {@link #setResidualWeights}).
     *
     * @return true after {@link #setResidualWeights}
     */
    public boolean hasResidualOffset() {
        return offsetA != null;
    }

    /**
     * Returns the name of the residual initialisation in effect, or null.
     *
     * @return e.g. {@code PiSSA}
     */
    public String getResidualInit() {
        return offsetA == null ? null : residualInit;
    }

    private static void checkLength(String name, float[] v, Shape shape) {
        if (v.length != shape.size()) {
            throw new IllegalArgumentException(name + " needs " + shape.size() + " values for shape " + shape
                    + "; got " + v.length);
        }
    }

    private void closeOffset() {
        if (offsetA != null) {
            offsetA.close();
            offsetB.close();
            offsetA = null;
            offsetB = null;
        }
    }

    /**
     * Returns the scaling s (alpha / r, or alpha / √r with rsLoRA).
     *
     * @return s
     */
    public double getScaling() {
        return scaling;
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public Map<String, Parameter> parameters() {
        Map<String, Parameter> m = new LinkedHashMap<>();
        m.put("lora_A.weight", loraA);
        m.put("lora_B.weight", loraB);
        if (dora != null) {
            m.put("lora_magnitude_vector", dora.getMagnitude());
        }
        return m;
    }

    /**
     * Installs a hook for data-driven initializers ({@code io.github.peft4j.lora.init}): while set, the activation
     * path calls {@code hook.apply(input, baseOutput)} and returns its result instead of adding the adapter, so an
     * initializer sees each layer's input and can attach a probe to its output. Null removes it.
     *
     * @param hook (layer input, base output) → layer output, or null
     */
    public void setForwardHook(BinaryOperator<NDArray> hook) {
        this.forwardHook = hook;
    }

    @Override
    public NDArray forward(ParameterStore store, NDArray input, NDArray baseOutput, boolean training) {
        if (forwardHook != null) {
            return forwardHook.apply(input, baseOutput);
        }
        NDArray a = store.getValue(loraA, input.getDevice(), training);
        NDArray b = store.getValue(loraB, input.getDevice(), training);
        NDArray x = dropout > 0 && training ? Dropout.dropout(input, (float) dropout, true).singletonOrThrow()
                : input;
        NDArray h = Linear.linear(x, a).singletonOrThrow();
        NDArray u = Linear.linear(h, b).singletonOrThrow();
        if (offsetA != null) {
            // the residual base (W − s·B₀A₀) sees the input without dropout, as W does
            NDArray h0 = Linear.linear(input, offsetA.toDevice(input.getDevice(), false)).singletonOrThrow();
            u = u.sub(Linear.linear(h0, offsetB.toDevice(input.getDevice(), false)).singletonOrThrow());
        }
        if (dora != null) {
            return dora.forward(store, x, x != input, baseOutput, u, a, b, scaling, training);
        }
        return baseOutput.add(Scalars.mul(u, scaling));
    }

    @Override
    public NDArray adaptWeight(ParameterStore store, NDArray weight, NDManager scope, boolean training) {
        if (training && dropout > 0 && !warnedDropout) {
            warnedDropout = true;
            LOG.warn("lora_dropout={} is ignored on the weight path ('{}'); it applies to activation-path layers",
                    dropout, path);
        }
        NDArray a = store.getValue(loraA, weight.getDevice(), training);
        NDArray b = store.getValue(loraB, weight.getDevice(), training);
        if (dora != null) {
            return dora.adaptWeight(store, weight, a, b, scaling, scope, training);
        }
        NDArray ba = b.matMul(a);
        ba.attach(scope);
        if (offsetA != null) {
            NDArray ba0 = offsetB.toDevice(weight.getDevice(), false).matMul(offsetA.toDevice(weight.getDevice(),
                    false));
            ba0.attach(scope);
            ba = ba.sub(ba0);
        }
        return Scalars.mul(ba, scaling).add(weight);
    }

    /**
     * Returns ΔW = s·BA, or for DoRA (m/n) ⊙ (W + s·BA) − W relative to the current base weight.
     *
     * @param manager the manager that owns the result
     * @return ΔW
     */
    @Override
    public NDArray deltaWeight(NDManager manager) {
        try (NDArray a = loraA.getArray().stopGradient(); NDArray b = loraB.getArray().stopGradient()) {
            NDArray d = b.matMul(a);
            d.attach(manager);
            if (offsetA != null) {
                try (NDArray d0 = offsetB.matMul(offsetA)) {
                    d.subi(d0.toDevice(d.getDevice(), false));
                }
            }
            Scalars.muli(d, scaling);
            if (dora == null) {
                return d;
            }
            try (NDArray w = target.weight().getArray().stopGradient();
                    NDArray m = dora.getMagnitude().getArray().stopGradient()) {
                NDArray wp = d.add(w);
                NDArray scale = m.div(wp.norm(new int[] {1})).expandDims(1);
                return wp.mul(scale).sub(w);
            }
        }
    }

    /**
     * Saves [A; A₀] and [B, −B₀] (rank 2r, right relative to the original base) after a residual initialisation,
     * else A and B as they are.
     */
    @Override
    public Map<String, NDArray> exportTensors(NDManager manager) {
        if (offsetA == null) {
            return LayerAdapter.super.exportTensors(manager);
        }
        Map<String, NDArray> m = new LinkedHashMap<>();
        try (NDArray a = loraA.getArray().stopGradient(); NDArray b = loraB.getArray().stopGradient()) {
            NDArray a2 = a.concat(offsetA.toDevice(a.getDevice(), false), 0);
            NDArray negB0 = offsetB.toDevice(b.getDevice(), false).neg();
            NDArray b2 = b.concat(negB0, 1);
            a2.attach(manager);
            b2.attach(manager);
            negB0.close();
            m.put("lora_A.weight", a2);
            m.put("lora_B.weight", b2);
        }
        return m;
    }

    @Override
    public void merge(NDArray weight) {
        if (dora == null) {
            LayerAdapter.super.merge(weight);
            return;
        }
        try (NDArray a = loraA.getArray().stopGradient(); NDArray b = loraB.getArray().stopGradient()) {
            dora.merge(weight, a, b, scaling);
        }
    }

    @Override
    public void unmerge(NDArray weight) {
        if (dora == null) {
            LayerAdapter.super.unmerge(weight);
            return;
        }
        try (NDArray a = loraA.getArray().stopGradient(); NDArray b = loraB.getArray().stopGradient()) {
            dora.unmerge(weight, a, b, scaling);
        }
    }

    /**
     * Returns the DoRA variant, or null for plain LoRA.
     *
     * @return the variant
     */
    public Dora getDora() {
        return dora;
    }

    @Override
    public void close() {
        closeOffset();
        loraA.close();
        loraB.close();
        if (dora != null) {
            dora.close();
        }
    }

    @Override
    public String toString() {
        return "LoraLayer(" + path + ", r=" + rank + ", s=" + scaling + ")";
    }
}
