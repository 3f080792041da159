package io.github.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.LayerAdapter;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.core.TargetLayer;
import io.github.peft4j.core.nn.Dropouts;
import io.github.peft4j.lora.variant.Dora;
import io.github.peft4j.lora.variant.LoraVariant;
import io.github.peft4j.lora.variant.LoraWeights;
import io.github.peft4j.lora.variant.ResidualLora;
import io.github.peft4j.lora.variant.StandardLora;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BinaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LoRA on one linear layer: A [r, in], B [out, r], scaling s, dropout on the adapter's input, and a
 * {@link LoraVariant} that applies the update (plain LoRA, DoRA, or LoRA on a residual base).
 *
 * <ul>
 *   <li>activation path: {@code y = base(x) + s · (dropout(x) Aᵀ) Bᵀ}, never forming B A;
 *   <li>weight path: the layer reads {@code W + s · B A} (dropout does not apply there);
 *   <li>{@code ΔW = s · B A}.
 * </ul>
 */
public final class LoraLayer implements LayerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(LoraLayer.class);

    private final TargetLayer target;
    private final int rank;
    private final double scaling;
    private final double dropout;
    private final LoraWeights weights;
    private LoraVariant variant;
    private boolean warnedDropout;
    private BinaryOperator<NDArray> forwardHook;

    LoraLayer(TargetLayer layer, LoraConfig config, AdapterContext ctx) {
        this.target = layer;
        this.rank = config.rankFor(layer.path());
        this.scaling = config.scalingFor(layer.path());
        this.dropout = config.dropout();
        long in = layer.inFeatures();
        long out = layer.outFeatures();
        if (rank > Math.min(in, out)) {
            throw new IllegalArgumentException(
                    "LoraConfig.r" + (config.rankPattern().isEmpty() ? "" : " (or rank_pattern)")
                            + " must be in [1, min(in=" + in + ", out=" + out + ")] for '"
                            + layer.path() + "'; got " + rank);
        }
        NDArray w = layer.weight().getArray();
        SplittableRandom rnd = ctx.random(layer.path());
        float[] a = new float[Math.toIntExact(rank * in)];
        float[] b = new float[Math.toIntExact(out * rank)];
        switch (config.init()) {
            case DEFAULT -> uniform(rnd, a, 1 / Math.sqrt((double) in));
            case GAUSSIAN -> {
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) (nextGaussian(rnd) / rank);
                }
            }
            case RANDOM -> {
                uniform(rnd, a, 1 / Math.sqrt((double) in));
                uniform(rnd, b, 1 / Math.sqrt((double) rank));
            }
            default -> throw new IllegalStateException(config.init().toString());
        }
        this.weights = new LoraWeights(
                layer,
                parameter(ctx.manager(), "lora_A", a, new Shape(rank, in), w),
                parameter(ctx.manager(), "lora_B", b, new Shape(out, rank), w),
                scaling);
        this.variant = config.useDora() ? new Dora(weights, ctx.manager()) : new StandardLora(weights);
    }

    private static void uniform(SplittableRandom rnd, float[] x, double bound) {
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
        }
    }

    private static double nextGaussian(SplittableRandom rnd) {
        return ParameterValues.gaussian(rnd);
    }

    private static Parameter parameter(NDManager manager, String name, float[] data, Shape shape, NDArray like) {
        return Parameter.builder()
                .setName(name)
                .setType(Parameter.Type.WEIGHT)
                .optArray(ParameterValues.create(manager, data, shape, like))
                .build();
    }

    /**
     * Returns A [r, in].
     *
     * @return the parameter
     */
    public Parameter getLoraA() {
        return weights.a();
    }

    /**
     * Returns B [out, r].
     *
     * @return the parameter
     */
    public Parameter getLoraB() {
        return weights.b();
    }

    /**
     * Returns the module path of the adapted layer.
     *
     * @return the path
     */
    public String getPath() {
        return target.path();
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
     * Returns the rank r of this layer (after {@code rank_pattern}).
     *
     * @return r
     */
    public int getRank() {
        return rank;
    }

    /**
     * Returns the scaling s (alpha / r, or alpha / √r with rsLoRA).
     *
     * @return s
     */
    public double getScaling() {
        return scaling;
    }

    /**
     * Returns the variant that applies the update.
     *
     * @return plain LoRA, DoRA or a residual
     */
    public LoraVariant getVariant() {
        return variant;
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
        NDArray av = weights.a().getArray();
        NDArray bv = weights.b().getArray();
        checkLength("A", a, av.getShape());
        checkLength("B", b, bv.getShape());
        try (NDManager tmp = av.getManager().newSubManager()) {
            ParameterValues.copyInto(av, tmp.create(a, av.getShape()));
            ParameterValues.copyInto(bv, tmp.create(b, bv.getShape()));
        }
    }

    /**
     * Residual initialisation (PiSSA, LoRA-GA): sets A and B to A₀, B₀ and from then on trains on the residual base
     * W − s·B₀A₀ ({@link ResidualLora}), so the output at step 0 is unchanged while the stored W stays the original.
     * Disabling, unloading or deleting the adapter gives back the original model, merging writes W + s(BA − B₀A₀),
     * and saving exports the rank-2r adapter that is right relative to the original base.
     *
     * @param a A₀, row-major [r, in]
     * @param b B₀, row-major [out, r]
     * @param initName the initializer's name for the model card, e.g. {@code PiSSA}
     * @throws IllegalStateException for DoRA, whose magnitude is defined on W
     */
    public void setResidualWeights(float[] a, float[] b, String initName) {
        if (variant instanceof Dora) {
            throw new IllegalStateException("residual initialisations (PiSSA, LoRA-GA) do not combine with DoRA"
                    + " (use_dora) on '" + target.path() + "'");
        }
        setWeights(a, b);
        useResidual(weights.a().getArray(), weights.b().getArray(), initName);
    }

    private void useResidual(NDArray a0, NDArray b0, String initName) {
        LoraVariant residual = new ResidualLora(weights, a0, b0, initName);
        variant.close();
        variant = residual;
    }

    /**
     * Returns the name of the residual initialisation in effect, or null.
     *
     * @return e.g. {@code PiSSA}
     */
    public String getResidualInit() {
        return variant instanceof ResidualLora r ? r.getInit() : null;
    }

    private static void checkLength(String name, float[] v, Shape shape) {
        if (v.length != shape.size()) {
            throw new IllegalArgumentException(
                    name + " needs " + shape.size() + " values for shape " + shape + "; got " + v.length);
        }
    }

    @Override
    public Map<String, Parameter> parameters() {
        Map<String, Parameter> m = new LinkedHashMap<>();
        m.put("lora_A.weight", weights.a());
        m.put("lora_B.weight", weights.b());
        m.putAll(variant.parameters());
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
        NDArray a = store.getValue(weights.a(), input.getDevice(), training);
        NDArray b = store.getValue(weights.b(), input.getDevice(), training);
        NDArray x = Dropouts.apply(input, dropout, training);
        return variant.forward(store, input, x, baseOutput, a, b, training);
    }

    /** DoRA reads the base weight for its norm; plain and residual LoRA only add to the base output. */
    @Override
    public boolean readsBaseWeight() {
        return variant instanceof Dora;
    }

    @Override
    public NDArray adaptWeight(ParameterStore store, NDArray weight, NDManager scope, boolean training) {
        if (training && dropout > 0 && !warnedDropout) {
            warnedDropout = true;
            LOG.warn(
                    "lora_dropout={} is ignored on the weight path ('{}'); it applies to activation-path layers",
                    dropout,
                    target.path());
        }
        NDArray a = store.getValue(weights.a(), weight.getDevice(), training);
        NDArray b = store.getValue(weights.b(), weight.getDevice(), training);
        return variant.adaptWeight(store, weight, a, b, scope, training);
    }

    @Override
    public NDArray deltaWeight(NDManager manager) {
        return variant.deltaWeight(manager);
    }

    @Override
    public void merge(NDArray weight) {
        variant.merge(weight);
    }

    @Override
    public void unmerge(NDArray weight) {
        variant.unmerge(weight);
    }

    @Override
    public Map<String, NDArray> exportTensors(NDManager manager) {
        return variant.exportTensors(manager);
    }

    @Override
    public Map<String, NDArray> trainingState(NDManager manager) {
        return variant.trainingState(manager);
    }

    /** Restores a residual initialisation saved with a checkpoint (keys {@code residual.<init>.A/B}). */
    @Override
    public void restoreTrainingState(Map<String, NDArray> state) {
        if (state.isEmpty()) {
            return;
        }
        String init = null;
        for (String k : state.keySet()) {
            if (!k.startsWith(ResidualLora.STATE_PREFIX) || !(k.endsWith(".A") || k.endsWith(".B"))) {
                throw new IllegalArgumentException("unknown LoRA training state '" + k + "' (expected "
                        + ResidualLora.STATE_PREFIX + "<init>.A and .B)");
            }
            init = k.substring(ResidualLora.STATE_PREFIX.length(), k.length() - 2);
        }
        NDArray a0 = state.get(ResidualLora.STATE_PREFIX + init + ".A");
        NDArray b0 = state.get(ResidualLora.STATE_PREFIX + init + ".B");
        if (a0 == null
                || b0 == null
                || !a0.getShape().equals(weights.a().getArray().getShape())
                || !b0.getShape().equals(weights.b().getArray().getShape())) {
            throw new IllegalArgumentException("residual state of '" + target.path() + "' needs A₀ "
                    + weights.a().getArray().getShape() + " and B₀ "
                    + weights.b().getArray().getShape() + "; got "
                    + state.keySet());
        }
        if (variant instanceof Dora) {
            throw new IllegalArgumentException("a residual state cannot be restored into a DoRA layer");
        }
        useResidual(a0, b0, init);
    }

    @Override
    public String describe() {
        return String.format(
                Locale.ROOT,
                "%s rank %d, scaling %s",
                variant.describe(),
                rank,
                scaling == Math.rint(scaling) ? Long.toString((long) scaling) : Double.toString(scaling));
    }

    @Override
    public void close() {
        variant.close();
        weights.a().close();
        weights.b().close();
    }

    @Override
    public String toString() {
        return "LoraLayer(" + target.path() + ", " + describe() + ")";
    }
}
