package io.github.peft4j.sparse;

import ai.djl.ndarray.NDArray;
import io.github.peft4j.core.Scalars;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.LayerAdapter;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.core.TargetLayer;
import io.github.peft4j.linalg.LowRank;
import io.github.peft4j.sparse.kernels.SparseKernels;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Sparse fine-tuning of one linear layer: trainable values at fixed flat positions {@code idx} of W [out, in].
 *
 * <ul>
 *   <li>{@link Kind#ABSOLUTE} (SaRA): the values replace W's entries, {@code W_eff = W} with {@code W[idx] = p};
 *   <li>{@link Kind#DELTA} (SpIEL): the values are added, {@code W_eff = W + scatter(Δ)}.
 * </ul>
 *
 * <p>Optimizer state exists only for the values vector [nnz]. On the activation path the layer computes its output
 * itself ({@code y = x W_effᵀ + b}); its values' gradient comes either from autograd through {@code put}
 * ({@link GradientMode#DENSE}: libtorch forms the dense weight gradient transiently) or from the SDDMM kernel
 * ({@link GradientMode#SDDMM}: a zero probe on the output yields the output gradient g, and
 * {@code grad[k] = Σ_n g[n, row_k] x[n, col_k]} is computed in {@link #afterBackward()}, never forming the dense
 * gradient). On the weight path the base layer reads W_eff (dense mode).
 */
public final class SparseLayer implements LayerAdapter {

    /**
     * {@link GradientMode#AUTO} uses SDDMM up to this density on layers of fewer than {@link #LARGE_LAYER} weights,
     * and dense-then-gather above: on MiniLM's shapes SDDMM (copies in and out of libtorch included) wins at 1% for
     * 512 tokens and is even at 2,048–4,096, and loses from 10% on ({@code SddmmBenchmark}, docs/sparse.md).
     */
    public static final double SDDMM_MAX_DENSITY = 0.01;

    /**
     * Layers with at least this many weights use SDDMM up to {@link #SDDMM_MAX_DENSITY_LARGE}: at 4096 × 4096 SDDMM
     * is 9.7× faster than dense-then-gather at 1% and 1.7× at 10% (copies included), even at 20%.
     */
    public static final long LARGE_LAYER = 4L << 20;

    /** The SDDMM density limit of layers with at least {@link #LARGE_LAYER} weights. */
    public static final double SDDMM_MAX_DENSITY_LARGE = 0.1;

    private static final Logger LOG = LoggerFactory.getLogger(SparseLayer.class);

    /** Whether the values replace W's entries or add to them. */
    public enum Kind {
        /** {@code W[idx] = values} (SaRA). */
        ABSOLUTE,
        /** {@code W[idx] += values} (SpIEL). */
        DELTA
    }

    private final String path;
    private final TargetLayer target;
    private final Kind kind;
    private final String prefix;
    private final GradientMode mode;
    private final int out;
    private final int in;
    private final Parameter indices;
    private final Parameter values;
    private final long seed;
    private final List<NDArray[]> pending = new ArrayList<>();
    private NDArray mergedOriginal;
    private int[] frozen = new int[0];
    private float[] frozenValues = new float[0];
    private NDArray frozenMask;
    private NDArray denseGradient;
    private boolean accumulateDense;
    private boolean weightPathSeen;
    private double selectionThreshold = Double.NaN;

    /**
     * Creates the layer.
     *
     * @param target the linear layer
     * @param kind absolute (SaRA) or delta (SpIEL) values
     * @param prefix the tensor name prefix ({@code sara} or {@code spiel}): tensors {@code <prefix>_indices} and
     *     {@code <prefix>_values}
     * @param positions distinct flat positions in [0, out·in)
     * @param initialValues the values' start [positions.length]
     * @param mode how the values' gradient is computed
     * @param manager owns the arrays
     * @param seed for the method's random choices
     */
    public SparseLayer(TargetLayer target, Kind kind, String prefix, int[] positions, float[] initialValues,
            GradientMode mode, NDManager manager, long seed) {
        this.path = target.path();
        this.target = target;
        this.kind = kind;
        this.prefix = prefix;
        this.out = Math.toIntExact(target.outFeatures());
        this.in = Math.toIntExact(target.inFeatures());
        if ((long) out * in > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("'" + path + "' has " + (long) out * in + " weights; sparse indices"
                    + " are int32 (at most 2^31 - 1 entries per tensor)");
        }
        double density = (double) positions.length / ((long) out * in);
        // the SDDMM kernels run on the CPU: on a GPU, AUTO keeps the gradient in autograd
        this.mode = mode != GradientMode.AUTO ? mode : target.weight().getArray().getDevice().isGpu()
                ? GradientMode.DENSE : autoMode(out, in, density);
        this.seed = seed;
        NDArray w = target.weight().getArray();
        NDArray idx = manager.create(positions);
        NDArray vals = manager.create(initialValues).toType(w.getDataType(), false);
        if (!w.getDevice().equals(idx.getDevice())) {
            idx = idx.toDevice(w.getDevice(), false);
            vals = vals.toDevice(w.getDevice(), false);
            idx.attach(manager);
            vals.attach(manager);
        }
        this.indices = Parameter.builder().setName(prefix + "_indices").setType(Parameter.Type.OTHER)
                .optRequiresGrad(false).optArray(idx).build();
        this.values = Parameter.builder().setName(prefix + "_values").setType(Parameter.Type.WEIGHT)
                .optArray(vals).build();
    }

    /**
     * The gradient mode {@link GradientMode#AUTO} picks for a layer: SDDMM at or below the measured crossover
     * density of its size, else dense-then-gather.
     *
     * @param out output features
     * @param in input features
     * @param density nnz / (out·in)
     * @return SDDMM or DENSE
     */
    public static GradientMode autoMode(int out, int in, double density) {
        double limit = (long) out * in >= LARGE_LAYER ? SDDMM_MAX_DENSITY_LARGE : SDDMM_MAX_DENSITY;
        return density <= limit ? GradientMode.SDDMM : GradientMode.DENSE;
    }

    /**
     * Returns the module path.
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
     * Returns the values parameter [nnz].
     *
     * @return the parameter
     */
    public Parameter getValues() {
        return values;
    }

    /**
     * Returns the selected flat positions (ascending for SaRA; SpIEL's regrowth keeps slots in place).
     *
     * @return a copy
     */
    public int[] positions() {
        return indices.getArray().toIntArray();
    }

    /**
     * Returns the gradient mode in effect (AUTO resolved by density).
     *
     * @return SDDMM or DENSE
     */
    public GradientMode getGradientMode() {
        return weightPathSeen ? GradientMode.DENSE : mode;
    }

    /**
     * Returns the density nnz / (out·in).
     *
     * @return the density
     */
    public double density() {
        return (double) indices.getArray().size() / ((long) out * in);
    }

    /**
     * Returns the seed of this layer's random choices.
     *
     * @return the seed
     */
    public long getSeed() {
        return seed;
    }

    /**
     * Returns the magnitude threshold the entries were selected under (SaRA's re-selection keeps entries whose value
     * stays within it), or NaN.
     *
     * @return τ
     */
    public double getSelectionThreshold() {
        return selectionThreshold;
    }

    /**
     * Sets the selection threshold (see {@link #getSelectionThreshold()}).
     *
     * @param tau τ
     */
    public void setSelectionThreshold(double tau) {
        this.selectionThreshold = tau;
    }

    @Override
    public int rank() {
        return Math.toIntExact(indices.getArray().size());
    }

    @Override
    public Map<String, Parameter> parameters() {
        Map<String, Parameter> m = new LinkedHashMap<>();
        m.put(prefix + "_indices", indices);
        m.put(prefix + "_values", values);
        return m;
    }

    @Override
    public boolean computesOutput() {
        return true;
    }

    /** Absolute values at the positions: p (SaRA) or W[idx] + Δ (SpIEL), with the values' gradient if any. */
    private NDArray absolute(NDArray wFlat, NDArray idx64, NDArray v) {
        return kind == Kind.ABSOLUTE ? v : wFlat.take(idx64).add(v);
    }

    @Override
    public NDArray forward(ParameterStore store, NDArray input, NDArray baseOutput, boolean training) {
        if (training && !pending.isEmpty()) {
            throw new IllegalStateException("'" + path + "': the sparse gradient of the last backward pass was never"
                    + " collected: call PeftModel.afterBackward() after every backward pass (FineTuner does), or use"
                    + " GradientMode.DENSE");
        }
        NDManager scope = input.getManager();
        NDArray w = store.getValue(target.weight(), input.getDevice(), training);
        NDArray bias = target.bias() == null ? null : store.getValue(target.bias(), input.getDevice(), training);
        NDArray v = store.getValue(values, input.getDevice(), training);
        boolean sddmm = mode == GradientMode.SDDMM && training;
        try (NDManager t = scope.newSubManager()) {
            NDArray wd = w.stopGradient();
            wd.attach(t);
            NDArray wFlat = wd.reshape(-1);
            wFlat.attach(t);
            NDArray idx64 = indices.getArray().toType(DataType.INT64, false);
            idx64.attach(t);
            NDArray vIn = v;
            if (sddmm) {
                vIn = v.stopGradient();
                vIn.attach(t);
            }
            NDArray abs = absolute(wFlat, idx64, vIn);
            NDArray wEff = wFlat.put(idx64, abs).reshape(out, in);
            wEff.attach(scope);
            NDArray y = Linear.linear(input, wEff, bias).singletonOrThrow();
            y.attach(scope);
            if (training && (sddmm || accumulateDense)) {
                NDArray probe = y.zerosLike();
                probe.setRequiresGradient(true);
                y = y.add(probe);
                NDArray x = input.stopGradient();
                x.attach(scope);
                pending.add(new NDArray[] {x, probe});
            }
            if (sddmm) {
                // keeps the values in the graph so their gradient exists (zero) for afterBackward to fill
                NDArray total = v.sum();
                total.attach(scope);
                y = y.add(Scalars.mul(total, 0));
            }
            return y;
        }
    }

    @Override
    public NDArray adaptWeight(ParameterStore store, NDArray weight, NDManager scope, boolean training) {
        if (!weightPathSeen) {
            weightPathSeen = true;
            if (mode == GradientMode.SDDMM) {
                LOG.info("'{}' is on the weight path: its sparse gradient is computed densely (SDDMM needs the"
                        + " layer's input)", path);
            }
        }
        NDArray v = store.getValue(values, weight.getDevice(), training);
        NDArray wFlat = weight.reshape(-1);
        wFlat.attach(scope);
        NDArray idx64 = indices.getArray().toType(DataType.INT64, false);
        idx64.attach(scope);
        NDArray abs = absolute(wFlat.stopGradient(), idx64, v);
        if (abs != v) {
            abs.attach(scope);
        }
        NDArray wEff = wFlat.put(idx64, abs).reshape(out, in);
        wEff.attach(scope);
        return wEff;
    }

    /**
     * Collects the values' gradient of the last backward pass(es) with the SDDMM kernel, accumulates the dense
     * gradient when asked (SpIEL's regrowth), and masks frozen entries.
     */
    public void afterBackward() {
        if (!pending.isEmpty()) {
            int[] pos = positions();
            float[] grad = new float[pos.length];
            float[] sum = new float[pos.length];
            for (NDArray[] p : pending) {
                try (NDArray g = p[1].getGradient()) {
                    NDArray x = p[0];
                    int n = Math.toIntExact(x.size() / in);
                    float[] xs = x.toFloatArray();
                    float[] gs = g.toFloatArray();
                    if (mode == GradientMode.SDDMM && !weightPathSeen) {
                        SparseKernels.best().sddmm(gs, xs, n, out, in, pos, grad);
                        for (int k = 0; k < sum.length; k++) {
                            sum[k] += grad[k];
                        }
                    }
                    if (accumulateDense) {
                        try (NDArray gt = g.reshape(-1, out).transpose(); NDArray gx = gt.matMul(x.reshape(-1, in))) {
                            if (denseGradient == null) {
                                denseGradient = gx.duplicate();
                                denseGradient.attach(values.getArray().getManager());
                            } else {
                                denseGradient.addi(gx);
                            }
                        }
                    }
                }
            }
            pending.clear();
            if (mode == GradientMode.SDDMM && !weightPathSeen) {
                try (NDArray g = values.getArray().getGradient(); NDArray add = g.getManager().create(sum)) {
                    g.addi(add.toType(g.getDataType(), false));
                }
            }
        }
        if (frozenMask != null) {
            // in place through an operation: NDArray.set(float[]) would re-point the tensor at a Java buffer
            try (NDArray g = values.getArray().getGradient()) {
                g.muli(frozenMask);
            }
        }
    }

    /**
     * Adds λ · (∇‖P‖_*) restricted to the positions to the values' gradient, where P is the sparse update as a dense
     * [out, in] matrix and ∇‖P‖_* = U Vᵀ over P's non-negligible singular values (SaRA's low-rank constraint).
     *
     * @param lambda λ
     * @return the nuclear norm ‖P‖_*
     */
    public double addNuclearNormGradient(double lambda) {
        int[] pos = positions();
        float[] update = updateValues();
        double[] p = new double[out * in];
        boolean any = false;
        for (int k = 0; k < pos.length; k++) {
            p[pos[k]] = update[k];
            any |= update[k] != 0;
        }
        if (!any) {
            return 0; // P = 0: the subgradient 0 is valid
        }
        int k = Math.min(out, in);
        LowRank.Svd svd = LowRank.svd(p, out, in, k, 0, seed);
        double tol = svd.s()[0] * Math.max(out, in) * 1e-7;
        int rank = 0;
        double nuclear = 0;
        while (rank < k && svd.s()[rank] > tol) {
            nuclear += svd.s()[rank];
            rank++;
        }
        float[] add = new float[pos.length];
        for (int q = 0; q < pos.length; q++) {
            int r = pos[q] / in;
            int c = pos[q] % in;
            double s = 0;
            for (int j = 0; j < rank; j++) {
                s += svd.u(r, j) * svd.vt(j, c);
            }
            add[q] = (float) (lambda * s);
        }
        for (int f : frozen) {
            add[f] = 0;
        }
        try (NDArray g = values.getArray().getGradient(); NDArray a = g.getManager().create(add)) {
            g.addi(a.toType(g.getDataType(), false));
        }
        return nuclear;
    }

    /** The update at the positions: p − W[idx] (absolute) or Δ (delta). */
    float[] updateValues() {
        float[] v = values.getArray().toFloatArray();
        if (kind == Kind.DELTA) {
            return v;
        }
        float[] w0 = baseValues();
        for (int k = 0; k < v.length; k++) {
            v[k] -= w0[k];
        }
        return v;
    }

    /** W[idx] of the unmerged base. */
    private float[] baseValues() {
        if (mergedOriginal != null) {
            return mergedOriginal.toFloatArray();
        }
        try (NDArray w = target.weight().getArray().stopGradient(); NDArray flat = w.reshape(-1);
                NDArray idx64 = indices.getArray().toType(DataType.INT64, false); NDArray t = flat.take(idx64)) {
            return t.toFloatArray();
        }
    }

    /**
     * Freezes the entries at some positions of the values vector at their current values: their gradient is masked
     * and {@link #restoreFrozen()} puts their values back after every optimizer step (undoing weight decay).
     *
     * @param entries positions in the values vector
     */
    public void freeze(int[] entries) {
        int[] all = java.util.stream.IntStream.concat(java.util.Arrays.stream(frozen), java.util.Arrays.stream(
                entries)).distinct().sorted().toArray();
        float[] v = values.getArray().toFloatArray();
        float[] fv = new float[all.length];
        for (int i = 0; i < all.length; i++) {
            fv[i] = v[all[i]];
        }
        frozen = all;
        frozenValues = fv;
        float[] mask = new float[v.length];
        java.util.Arrays.fill(mask, 1f);
        for (int k : all) {
            mask[k] = 0;
        }
        if (frozenMask != null) {
            frozenMask.close();
        }
        NDArray vals = values.getArray();
        NDArray m = vals.getManager().create(mask).toType(vals.getDataType(), false);
        frozenMask = m.getDevice().equals(vals.getDevice()) ? m : m.toDevice(vals.getDevice(), false);
    }

    /**
     * Returns the frozen entries of the values vector.
     *
     * @return a copy
     */
    public int[] frozenEntries() {
        return frozen.clone();
    }

    /** Writes the frozen entries' values back (after an optimizer step). */
    public void restoreFrozen() {
        if (frozen.length == 0) {
            return;
        }
        float[] v = values.getArray().toFloatArray();
        for (int i = 0; i < frozen.length; i++) {
            v[frozen[i]] = frozenValues[i];
        }
        setValues(v);
    }

    /**
     * Replaces the positions and values (same count), e.g. after SpIEL's drop-and-regrow, which keeps every slot in
     * place (so the optimizer state of the slots it keeps stays aligned) and therefore leaves the positions unsorted.
     *
     * @param positions distinct flat positions
     * @param newValues the values
     */
    public void reassign(int[] positions, float[] newValues) {
        if (positions.length != rank() || newValues.length != positions.length) {
            throw new IllegalArgumentException("reassign keeps the count " + rank() + "; got " + positions.length
                    + " positions and " + newValues.length + " values");
        }
        checkPositions(positions);
        try (NDManager t = indices.getArray().getManager().newSubManager()) {
            ParameterValues.copyInto(indices.getArray(), t.create(positions));
        }
        setValues(newValues);
    }

    /**
     * Overwrites the values (a copy into the parameter; its array stays the same).
     *
     * @param v the values [nnz]
     */
    public void setValues(float[] v) {
        if (v.length != rank()) {
            throw new IllegalArgumentException("expected " + rank() + " values; got " + v.length);
        }
        try (NDManager t = values.getArray().getManager().newSubManager()) {
            ParameterValues.copyInto(values.getArray(), t.create(v));
        }
    }

    /**
     * Switches accumulation of the dense weight gradient gᵀx (for regrowth) on or off; off also drops it.
     *
     * @param on whether to accumulate
     */
    public void accumulateDenseGradient(boolean on) {
        accumulateDense = on;
        if (!on && denseGradient != null) {
            denseGradient.close();
            denseGradient = null;
        }
    }

    /**
     * Returns the accumulated dense gradient [out, in] as row-major values, or null if none was accumulated.
     *
     * @return the values
     */
    public float[] denseGradient() {
        return denseGradient == null ? null : denseGradient.toFloatArray();
    }

    private void checkPositions(int[] positions) {
        long size = (long) out * in;
        java.util.BitSet seen = new java.util.BitSet();
        for (int k = 0; k < positions.length; k++) {
            if (positions[k] < 0 || positions[k] >= size) {
                throw new IllegalArgumentException("index " + positions[k] + " at position " + k + " is outside the"
                        + " weight [" + out + ", " + in + "] (valid: 0.." + (size - 1) + ")");
            }
            if (seen.get(positions[k])) {
                throw new IllegalArgumentException("index " + positions[k] + " appears twice (again at position " + k
                        + "); indices must be distinct");
            }
            seen.set(positions[k]);
        }
    }

    @Override
    public void afterLoad() {
        checkPositions(positions());
    }

    @Override
    public NDArray deltaWeight(NDManager manager) {
        int[] pos = positions();
        float[] upd = updateValues();
        float[] d = new float[out * in];
        for (int k = 0; k < pos.length; k++) {
            d[pos[k]] = upd[k];
        }
        NDArray w = target.weight().getArray();
        NDArray r = manager.create(d, new Shape(out, in)).toType(w.getDataType(), false);
        return r.getDevice().equals(w.getDevice()) ? r : r.toDevice(w.getDevice(), false);
    }

    @Override
    public void merge(NDArray weight) {
        if (kind == Kind.DELTA) {
            LayerAdapter.super.merge(weight);
            return;
        }
        float[] original = baseValues();
        putValues(weight, values.getArray(), true);
        mergedOriginal = values.getArray().getManager().create(original);
    }

    /** Writes W[idx] = v into a weight in place (outside autograd), optionally refusing non-finite results. */
    private void putValues(NDArray weight, NDArray v, boolean checkFinite) {
        try (NDManager t = weight.getManager().newSubManager(); NDArray wv = weight.stopGradient();
                NDArray vv = v.stopGradient()) {
            NDArray flat = wv.reshape(-1);
            flat.attach(t);
            NDArray idx64 = indices.getArray().toType(DataType.INT64, false);
            idx64.attach(t);
            NDArray result = flat.put(idx64, vv.toType(weight.getDataType(), false)).reshape(out, in);
            result.attach(t);
            if (checkFinite) {
                io.github.peft4j.core.MergeChecks.requireFinite(result, "merged weight");
            }
            ParameterValues.copyInto(weight, result);
        }
    }

    @Override
    public void unmerge(NDArray weight) {
        if (kind == Kind.DELTA) {
            LayerAdapter.super.unmerge(weight);
            return;
        }
        if (mergedOriginal == null) {
            return;
        }
        putValues(weight, mergedOriginal, false);
        mergedOriginal.close();
        mergedOriginal = null;
    }

    @Override
    public void close() {
        pending.clear();
        if (frozenMask != null) {
            frozenMask.close();
        }
        indices.close();
        values.close();
        if (mergedOriginal != null) {
            mergedOriginal.close();
        }
        if (denseGradient != null) {
            denseGradient.close();
        }
    }

    @Override
    public String toString() {
        return "SparseLayer(" + path + ", " + kind + ", nnz=" + rank() + ", " + getGradientMode() + ")";
    }
}
