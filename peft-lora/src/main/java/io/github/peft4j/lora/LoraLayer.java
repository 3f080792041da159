package io.github.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.LayerAdapter;
import io.github.peft4j.core.TargetLayer;
import io.github.peft4j.lora.variant.Dora;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

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

    @Override
    public NDArray forward(ParameterStore store, NDArray input, NDArray baseOutput, boolean training) {
        NDArray a = store.getValue(loraA, input.getDevice(), training);
        NDArray b = store.getValue(loraB, input.getDevice(), training);
        NDArray x = dropout > 0 && training ? Dropout.dropout(input, (float) dropout, true).singletonOrThrow()
                : input;
        NDArray h = Linear.linear(x, a).singletonOrThrow();
        NDArray u = Linear.linear(h, b).singletonOrThrow();
        if (dora != null) {
            return dora.forward(store, x, x != input, baseOutput, u, a, b, scaling, training);
        }
        return baseOutput.add(u.mul(scaling));
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
        return ba.mul(scaling).add(weight);
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
            d.muli(scaling);
            if (dora == null) {
                return d;
            }
            try (NDArray w = target.weight().getArray().stopGradient();
                    NDArray m = dora.getMagnitude().getArray().stopGradient()) {
                NDArray wp = d.add(w);
                NDArray scale = wp.norm(new int[] {1}).pow(-1).mul(m).expandDims(1);
                return wp.mul(scale).sub(w);
            }
        }
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
