package io.github.peft4j.sparse.sara;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.core.TargetLayer;
import io.github.peft4j.linalg.SparseNuclearNorm;
import io.github.peft4j.sparse.GradientMode;
import io.github.peft4j.sparse.SparseLayer;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * SaRA on one linear layer: the values replace W's smallest entries ({@code W_eff = W} with {@code W[idx] = p}),
 * entries that grow past the selection threshold can be frozen at their learned values (progressive re-selection),
 * and a nuclear-norm term keeps the update low-rank.
 */
public final class SaraLayer extends SparseLayer {

    /** The training-state key of the frozen entries (positions in the values vector, int32). */
    public static final String FROZEN = "frozen";

    private final double selectionThreshold;
    private int[] frozen = new int[0];
    private float[] frozenValues = new float[0];
    private NDArray frozenMask;
    private NDArray mergedOriginal;

    SaraLayer(
            TargetLayer target,
            int[] positions,
            float[] initialValues,
            double selectionThreshold,
            GradientMode mode,
            NDManager manager,
            long seed) {
        super(target, SaraMethod.PREFIX, positions, initialValues, mode, manager, seed);
        this.selectionThreshold = selectionThreshold;
    }

    /**
     * Returns the magnitude threshold the entries were selected under: re-selection freezes entries whose value grew
     * past it.
     *
     * @return τ
     */
    public double getSelectionThreshold() {
        return selectionThreshold;
    }

    @Override
    protected NDArray effectiveEntries(NDArray wFlat, NDArray idx64, NDArray v) {
        return v;
    }

    /** p − W[idx] of the unmerged base. */
    @Override
    protected float[] updateValues() {
        float[] v = getValues().getArray().toFloatArray();
        float[] w0 = mergedOriginal != null ? mergedOriginal.toFloatArray() : baseEntries();
        for (int k = 0; k < v.length; k++) {
            v[k] -= w0[k];
        }
        return v;
    }

    @Override
    protected void adjustGradient(NDArray gradient) {
        if (frozenMask != null) {
            // in place through an operation: NDArray.set(float[]) would re-point the tensor at a Java buffer
            gradient.muli(frozenMask);
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
        double[] p = new double[pos.length];
        for (int k = 0; k < pos.length; k++) {
            p[k] = update[k];
        }
        // P is sparse: its Gram matrix and one small eigendecomposition, not an SVD of the dense [out, in] matrix
        SparseNuclearNorm.Result r = SparseNuclearNorm.at(out, in, pos, p);
        if (r.rank() == 0) {
            return 0; // P = 0: the subgradient 0 is valid
        }
        float[] add = new float[pos.length];
        for (int q = 0; q < pos.length; q++) {
            add[q] = (float) (lambda * r.gradient()[q]);
        }
        for (int f : frozen) {
            add[f] = 0;
        }
        addToGradient(add);
        return r.norm();
    }

    /**
     * Freezes the entries at some positions of the values vector at their current values: their gradient is masked
     * and {@link #restoreFrozen()} puts their values back after every optimizer step (undoing weight decay).
     *
     * @param entries positions in the values vector
     */
    public void freeze(int[] entries) {
        int[] all = IntStream.concat(Arrays.stream(frozen), Arrays.stream(entries))
                .distinct()
                .sorted()
                .toArray();
        float[] v = getValues().getArray().toFloatArray();
        float[] fv = new float[all.length];
        for (int i = 0; i < all.length; i++) {
            fv[i] = v[all[i]];
        }
        frozen = all;
        frozenValues = fv;
        float[] mask = new float[v.length];
        Arrays.fill(mask, 1f);
        for (int k : all) {
            mask[k] = 0;
        }
        if (frozenMask != null) {
            frozenMask.close();
        }
        NDArray vals = getValues().getArray();
        frozenMask = ParameterValues.create(vals.getManager(), mask, new Shape(mask.length), vals);
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
        float[] v = getValues().getArray().toFloatArray();
        for (int i = 0; i < frozen.length; i++) {
            v[frozen[i]] = frozenValues[i];
        }
        setValues(v);
    }

    /** The frozen entries; their values are the values vector's (restored after every step). */
    @Override
    public Map<String, NDArray> trainingState(NDManager manager) {
        if (frozen.length == 0) {
            return Map.of();
        }
        NDArray f = manager.create(frozen);
        return Map.of(FROZEN, f);
    }

    @Override
    public void restoreTrainingState(Map<String, NDArray> state) {
        for (String k : state.keySet()) {
            if (!k.equals(FROZEN)) {
                throw new IllegalArgumentException(
                        "unknown SaRA training state '" + k + "' (expected '" + FROZEN + "')");
            }
        }
        NDArray f = state.get(FROZEN);
        frozen = new int[0];
        frozenValues = new float[0];
        if (frozenMask != null) {
            frozenMask.close();
            frozenMask = null;
        }
        if (f != null) {
            int[] entries = f.toIntArray();
            for (int e : entries) {
                if (e < 0 || e >= size()) {
                    throw new IllegalArgumentException(
                            "frozen entry " + e + " is outside the values [0, " + size() + ")");
                }
            }
            freeze(entries);
        }
    }

    @Override
    public void merge(NDArray weight) {
        float[] original = baseEntries();
        putEntries(weight, getValues().getArray(), true);
        mergedOriginal = ParameterValues.create(
                getValues().getArray().getManager(),
                original,
                new Shape(original.length),
                getValues().getArray());
    }

    @Override
    public void unmerge(NDArray weight) {
        if (mergedOriginal == null) {
            return;
        }
        putEntries(weight, mergedOriginal, false);
        mergedOriginal.close();
        mergedOriginal = null;
    }

    @Override
    public String describe() {
        return super.describe()
                + (frozen.length == 0 ? "" : String.format(java.util.Locale.ROOT, ", %,d frozen", frozen.length));
    }

    @Override
    public void close() {
        if (frozenMask != null) {
            frozenMask.close();
        }
        if (mergedOriginal != null) {
            mergedOriginal.close();
        }
        super.close();
    }
}
