package io.github.peft4j.sparse;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.LayerAdapter;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.core.Scalars;
import io.github.peft4j.core.TargetLayer;
import io.github.peft4j.core.nn.LayerScope;
import io.github.peft4j.sparse.kernels.SparseKernels;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What sparse fine-tuning of one linear layer shares, whatever the method: trainable values at flat positions
 * {@code idx} of W [out, in] (int32 indices plus a values vector, so optimizer state exists only for the values), the
 * layer's output from the effective weight, and the values' gradient by SDDMM or by autograd.
 *
 * <p>On the activation path the layer computes its output itself ({@code y = x W_effᵀ + b}); the values' gradient
 * comes either from autograd through {@code put} ({@link GradientMode#DENSE}: libtorch forms the dense weight
 * gradient transiently) or from the SDDMM kernel ({@link GradientMode#SDDMM}: a zero probe on the output yields the
 * output gradient g, and {@code grad[k] = Σ_n g[n, row_k] x[n, col_k]} is computed in {@link #afterBackward()}, never
 * forming the dense gradient). On the weight path the base layer reads W_eff (dense mode). The subclasses say what the
 * values are: SaRA's replace W's entries ({@code sara.SaraLayer}), SpIEL's are added to them
 * ({@code spiel.SpielLayer}).
 */
public abstract class SparseLayer implements LayerAdapter {

    /**
     * {@link GradientMode#AUTO} uses SDDMM up to this density on layers of fewer than {@link #LARGE_LAYER} weights,
     * and dense-then-gather above: on MiniLM's shapes with 2,048 tokens the in-place SDDMM is 2.0–2.9× faster than
     * dense-then-gather at 1%, 1.4–1.6× at 3%, even at 5% and 0.6–0.7× at 10% ({@code SddmmBenchmark},
     * docs/sparse.md). At these shapes SDDMM also keeps each layer's output gradient until the end of the backward
     * pass, so the limit stays below the even point.
     */
    public static final double SDDMM_MAX_DENSITY = 0.03;

    /**
     * Layers with at least this many weights use SDDMM up to {@link #SDDMM_MAX_DENSITY_LARGE}: at 4096 × 4096 with
     * 512 tokens SDDMM is 6.0× faster than dense-then-gather at 1%, 2.6× at 3%, 1.6× at 5% and 0.8× at 10%.
     */
    public static final long LARGE_LAYER = 4L << 20;

    /** The SDDMM density limit of layers with at least {@link #LARGE_LAYER} weights. */
    public static final double SDDMM_MAX_DENSITY_LARGE = 0.05;

    private static final Logger LOG = LoggerFactory.getLogger(SparseLayer.class);

    /** The adapted layer. */
    protected final TargetLayer target;
    /** W's rows. */
    protected final int out;
    /** W's columns. */
    protected final int in;

    private final String prefix;
    private final GradientMode mode;
    private final Parameter indices;
    private final Parameter values;
    private final long seed;
    private final List<NDArray[]> pending = new ArrayList<>();
    private boolean weightPathSeen;

    /**
     * Creates the layer.
     *
     * @param target the linear layer
     * @param prefix the tensor name prefix ({@code sara} or {@code spiel}): tensors {@code <prefix>_indices} and
     *     {@code <prefix>_values}
     * @param positions distinct flat positions in [0, out·in)
     * @param initialValues the values' start [positions.length]
     * @param mode how the values' gradient is computed
     * @param manager owns the arrays
     * @param seed for the method's random choices
     */
    protected SparseLayer(
            TargetLayer target,
            String prefix,
            int[] positions,
            float[] initialValues,
            GradientMode mode,
            NDManager manager,
            long seed) {
        this.target = target;
        this.prefix = prefix;
        this.out = Math.toIntExact(target.outFeatures());
        this.in = Math.toIntExact(target.inFeatures());
        if ((long) out * in > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("'" + target.path() + "' has " + (long) out * in + " weights; sparse"
                    + " indices are int32 (at most 2^31 - 1 entries per tensor)");
        }
        double density = (double) positions.length / ((long) out * in);
        NDArray w = target.weight().getArray();
        if (mode == GradientMode.SDDMM && w.getDataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException("'" + target.path() + "' holds " + w.getDataType() + " weights; the"
                    + " SDDMM gradient reads float32: use GradientMode.DENSE or AUTO");
        }
        // the SDDMM kernels run on the CPU in float32: elsewhere, AUTO keeps the gradient in autograd
        this.mode = mode != GradientMode.AUTO
                ? mode
                : w.getDevice().isGpu() || w.getDataType() != DataType.FLOAT32
                        ? GradientMode.DENSE
                        : autoMode(out, in, density);
        this.seed = seed;
        NDArray idx = ParameterValues.create(manager, positions, w.getDevice());
        NDArray vals = ParameterValues.create(manager, initialValues, new Shape(initialValues.length), w);
        this.indices = Parameter.builder()
                .setName(prefix + "_indices")
                .setType(Parameter.Type.OTHER)
                .optRequiresGrad(false)
                .optArray(idx)
                .build();
        this.values = Parameter.builder()
                .setName(prefix + "_values")
                .setType(Parameter.Type.WEIGHT)
                .optArray(vals)
                .build();
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
     * Returns the values parameter [nnz].
     *
     * @return the parameter
     */
    public Parameter getValues() {
        return values;
    }

    /**
     * Returns the number of trained entries.
     *
     * @return nnz
     */
    public int size() {
        return Math.toIntExact(indices.getArray().size());
    }

    /**
     * Returns the selected flat positions.
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
        return (double) size() / ((long) out * in);
    }

    /**
     * Returns the seed of this layer's random choices.
     *
     * @return the seed
     */
    public long getSeed() {
        return seed;
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

    /**
     * Returns the effective entries at the positions: the values themselves (SaRA) or W[idx] + values (SpIEL), with
     * the values' gradient if {@code v} has one.
     *
     * @param wFlat W flattened, without gradient
     * @param idx64 the positions as int64
     * @param v the values
     * @return the entries of W_eff at the positions
     */
    protected abstract NDArray effectiveEntries(NDArray wFlat, NDArray idx64, NDArray v);

    /**
     * Returns the update at the positions: W_eff[idx] − W[idx] of the unmerged base.
     *
     * @return the values [nnz]
     */
    protected abstract float[] updateValues();

    /**
     * Whether the next training passes must record the layer's output gradient and input even without SDDMM
     * (SpIEL's dense-gradient window before a regrowth). False by default.
     *
     * @return true to record
     */
    protected boolean recordsOutputGradient() {
        return false;
    }

    /**
     * Receives the output gradient and input of a training pass (after {@link #recordsOutputGradient()}). Nothing by
     * default.
     *
     * @param g the output gradient [..., out]
     * @param x the layer input [..., in], without gradient
     */
    protected void onOutputGradient(NDArray g, NDArray x) {}

    /**
     * Adjusts the values' gradient once it is complete for the pass (SaRA masks frozen entries). Nothing by default.
     *
     * @param gradient the values' gradient, modified in place
     */
    protected void adjustGradient(NDArray gradient) {}

    @Override
    public NDArray forward(ParameterStore store, NDArray input, NDArray baseOutput, boolean training) {
        if (training && !pending.isEmpty()) {
            throw new IllegalStateException("'" + target.path() + "': the sparse gradient of the last backward pass"
                    + " was never collected: call PeftModel.afterBackward() after every backward pass (FineTuner"
                    + " does), or use GradientMode.DENSE");
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
            NDArray entries = effectiveEntries(wFlat, idx64, vIn);
            NDArray wEff = wFlat.put(idx64, entries).reshape(out, in);
            wEff.attach(scope);
            NDArray y;
            if (training && (sddmm || recordsOutputGradient())) {
                // The output gradient g without an extra pass over the output: a leaf of the output's shape enters
                // the GEMM (addmm) as its additive term, and autograd leaves g in that leaf's gradient. The leaf is
                // the frozen bias (or a zero) expanded without a copy; a trainable bias is added after the GEMM
                // instead, so that its own gradient flows. Kept until afterBackward: outside the layer's scope,
                // freed with the batch
                NDManager batch = LayerScope.outer(scope);
                Shape shape = input.getShape();
                long n = shape.size() / in;
                NDArray x2 = input.reshape(n, in);
                x2.attach(t);
                boolean frozenBias = bias != null && !bias.hasGradient();
                NDArray source = frozenBias
                        ? bias.stopGradient()
                        : batch.zeros(new Shape(1), input.getDataType(), input.getDevice());
                NDArray probe = source.broadcast(new Shape(n, out));
                probe.attach(batch);
                source.close();
                probe.setRequiresGradient(true);
                NDArray y2 = Linear.linear(x2, wEff, probe).singletonOrThrow();
                y2.attach(t);
                y = y2.reshape(shape.slice(0, shape.dimension() - 1).add(out));
                y.attach(scope);
                if (bias != null && !frozenBias) {
                    y = y.add(bias);
                    y.attach(scope);
                }
                NDArray x = input.stopGradient();
                x.attach(batch);
                pending.add(new NDArray[] {x, probe});
            } else {
                y = Linear.linear(input, wEff, bias).singletonOrThrow();
                y.attach(scope);
            }
            if (sddmm) {
                // keeps the values in the graph so their gradient exists (zero) for afterBackward to fill: an
                // in-place add of 0 · Σv (no new [n, out] buffer; add's backward needs no saved tensor)
                NDArray total = v.sum();
                total.attach(t);
                NDArray zero = Scalars.mul(total, 0);
                zero.attach(t);
                y.addi(zero);
            }
            return y;
        }
    }

    @Override
    public NDArray adaptWeight(ParameterStore store, NDArray weight, NDManager scope, boolean training) {
        if (!weightPathSeen) {
            weightPathSeen = true;
            if (mode == GradientMode.SDDMM) {
                LOG.info(
                        "'{}' is on the weight path: its sparse gradient is computed densely (SDDMM needs the"
                                + " layer's input)",
                        target.path());
            }
        }
        NDArray v = store.getValue(values, weight.getDevice(), training);
        NDArray wFlat = weight.reshape(-1);
        wFlat.attach(scope);
        NDArray idx64 = indices.getArray().toType(DataType.INT64, false);
        idx64.attach(scope);
        NDArray entries = effectiveEntries(wFlat.stopGradient(), idx64, v);
        if (entries != v) {
            entries.attach(scope);
        }
        NDArray wEff = wFlat.put(idx64, entries).reshape(out, in);
        wEff.attach(scope);
        return wEff;
    }

    /**
     * Collects the values' gradient of the last backward pass(es) with the SDDMM kernel, hands the output gradient to
     * {@link #onOutputGradient} when recorded, and lets the subclass adjust the gradient.
     */
    public void afterBackward() {
        if (!pending.isEmpty()) {
            boolean sddmm = mode == GradientMode.SDDMM && !weightPathSeen;
            int[] pos = positions();
            float[] grad = new float[pos.length];
            float[] sum = new float[pos.length];
            for (NDArray[] p : pending) {
                try (NDArray g = p[1].getGradient()) {
                    NDArray x = p[0];
                    if (sddmm) {
                        int n = Math.toIntExact(x.size() / in);
                        // in place: views of libtorch's memory, no Java copies of g or x
                        SparseKernels.best().sddmm(floats(g), floats(x), n, out, in, pos, grad);
                        for (int k = 0; k < sum.length; k++) {
                            sum[k] += grad[k];
                        }
                    }
                    if (recordsOutputGradient()) {
                        onOutputGradient(g, x);
                    }
                }
            }
            pending.clear();
            if (sddmm) {
                addToGradient(sum);
            }
        }
        try (NDArray g = values.getArray().getGradient()) {
            adjustGradient(g);
        }
    }

    /** A float32 CPU array's memory as a buffer, without copying (a contiguous copy first if it is a strided view). */
    private static FloatBuffer floats(NDArray a) {
        if (a.getDataType() != DataType.FLOAT32) {
            throw new IllegalStateException("the SDDMM kernel reads float32; got " + a.getDataType());
        }
        return a.toByteBuffer(true).asFloatBuffer();
    }

    /**
     * Adds values to the values' gradient.
     *
     * @param add one per entry
     */
    protected void addToGradient(float[] add) {
        try (NDArray g = values.getArray().getGradient();
                NDArray a = ParameterValues.create(g.getManager(), add, g.getShape(), g)) {
            g.addi(a);
        }
    }

    /**
     * Overwrites the values (a copy into the parameter; its array stays the same).
     *
     * @param v the values [nnz]
     */
    public void setValues(float[] v) {
        if (v.length != size()) {
            throw new IllegalArgumentException("expected " + size() + " values; got " + v.length);
        }
        try (NDManager t = values.getArray().getManager().newSubManager()) {
            ParameterValues.copyInto(values.getArray(), t.create(v));
        }
    }

    /**
     * Overwrites the positions (same count): a copy into the indices parameter.
     *
     * @param positions distinct flat positions in the weight
     * @throws IllegalArgumentException if a position is outside the weight or repeated
     */
    protected void setPositions(int[] positions) {
        if (positions.length != size()) {
            throw new IllegalArgumentException("the count of positions stays " + size() + "; got " + positions.length);
        }
        checkPositions(positions);
        try (NDManager t = indices.getArray().getManager().newSubManager()) {
            ParameterValues.copyInto(indices.getArray(), t.create(positions));
        }
    }

    /** W[idx] of the current base weight. */
    protected float[] baseEntries() {
        try (NDArray w = target.weight().getArray().stopGradient();
                NDArray flat = w.reshape(-1);
                NDArray idx64 = indices.getArray().toType(DataType.INT64, false);
                NDArray t = flat.take(idx64)) {
            return t.toFloatArray();
        }
    }

    private void checkPositions(int[] positions) {
        long n = (long) out * in;
        BitSet seen = new BitSet();
        for (int k = 0; k < positions.length; k++) {
            if (positions[k] < 0 || positions[k] >= n) {
                throw new IllegalArgumentException("index " + positions[k] + " at position " + k + " is outside the"
                        + " weight [" + out + ", " + in + "] (valid: 0.." + (n - 1) + ")");
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
        return ParameterValues.create(
                manager, d, new Shape(out, in), target.weight().getArray());
    }

    /**
     * Writes W[idx] = v into a weight in place (outside autograd), optionally refusing non-finite results.
     *
     * @param weight the weight, modified
     * @param v the entries
     * @param checkFinite whether to refuse NaN or infinite results
     */
    protected void putEntries(NDArray weight, NDArray v, boolean checkFinite) {
        try (NDManager t = weight.getManager().newSubManager();
                NDArray wv = weight.stopGradient();
                NDArray vv = v.stopGradient()) {
            NDArray flat = wv.reshape(-1);
            flat.attach(t);
            NDArray idx64 = indices.getArray().toType(DataType.INT64, false);
            idx64.attach(t);
            NDArray typed = vv.toType(weight.getDataType(), false);
            if (typed != vv) {
                typed.attach(t);
            }
            NDArray result = flat.put(idx64, typed).reshape(out, in);
            result.attach(t);
            if (checkFinite) {
                io.github.peft4j.core.MergeChecks.requireFinite(result, "merged weight");
            }
            ParameterValues.copyInto(weight, result);
        }
    }

    @Override
    public String describe() {
        return String.format(
                Locale.ROOT,
                "%,d of %,d weights (%.2f%%), %s gradient",
                size(),
                (long) out * in,
                100 * density(),
                getGradientMode().name().toLowerCase(Locale.ROOT));
    }

    @Override
    public void close() {
        pending.clear();
        indices.close();
        values.close();
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "(" + target.path() + ", " + describe() + ")";
    }
}
