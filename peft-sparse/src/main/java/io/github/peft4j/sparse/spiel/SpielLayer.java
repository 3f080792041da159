package io.github.peft4j.sparse.spiel;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.core.TargetLayer;
import io.github.peft4j.sparse.GradientMode;
import io.github.peft4j.sparse.SparseLayer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * SpIEL on one linear layer: additive deltas at positions that move ({@code W_eff = W + scatter(Δ)}); in the window
 * before each regrowth the layer accumulates the dense weight gradient gᵀx that picks the positions to grow.
 */
public final class SpielLayer extends SparseLayer {

    /** Training-state key: 1 while the dense gradient is being accumulated. */
    public static final String ACCUMULATING = "accumulating";
    /** Training-state key: the dense gradient accumulated so far [out, in]. */
    public static final String DENSE_GRADIENT = "dense_gradient";

    private boolean accumulateDense;
    private NDArray denseGradient;

    SpielLayer(TargetLayer target, int[] positions, GradientMode mode, NDManager manager, long seed) {
        super(target, SpielMethod.PREFIX, positions, new float[positions.length], mode, manager, seed);
    }

    @Override
    protected NDArray effectiveEntries(NDArray wFlat, NDArray idx64, NDArray v) {
        return wFlat.take(idx64).add(v);
    }

    @Override
    protected float[] updateValues() {
        return getValues().getArray().toFloatArray();
    }

    @Override
    protected boolean recordsOutputGradient() {
        return accumulateDense;
    }

    @Override
    protected void onOutputGradient(NDArray g, NDArray x) {
        try (NDArray gt = g.reshape(-1, out).transpose();
                NDArray gx = gt.matMul(x.reshape(-1, in))) {
            if (denseGradient == null) {
                denseGradient = gx.duplicate();
                denseGradient.attach(getValues().getArray().getManager());
            } else {
                denseGradient.addi(gx);
            }
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

    /**
     * Replaces the positions and deltas (same count) after a drop-and-regrow, which keeps every slot in place (so
     * the optimizer state of the slots it keeps stays aligned) and therefore leaves the positions unsorted.
     *
     * @param positions distinct flat positions
     * @param newValues the deltas
     */
    public void reassign(int[] positions, float[] newValues) {
        if (newValues.length != positions.length) {
            throw new IllegalArgumentException("reassign needs one value per position; got " + positions.length
                    + " positions and " + newValues.length + " values");
        }
        setPositions(positions);
        setValues(newValues);
    }

    /** The accumulation flag and the dense gradient accumulated so far (a stop inside the window loses nothing). */
    @Override
    public Map<String, NDArray> trainingState(NDManager manager) {
        Map<String, NDArray> m = new LinkedHashMap<>();
        m.put(ACCUMULATING, manager.create(new int[] {accumulateDense ? 1 : 0}));
        if (denseGradient != null) {
            m.put(DENSE_GRADIENT, denseGradient);
        }
        return m;
    }

    @Override
    public void restoreTrainingState(Map<String, NDArray> state) {
        for (String k : state.keySet()) {
            if (!k.equals(ACCUMULATING) && !k.equals(DENSE_GRADIENT)) {
                throw new IllegalArgumentException("unknown SpIEL training state '" + k + "'");
            }
        }
        NDArray flag = state.get(ACCUMULATING);
        accumulateDenseGradient(false);
        accumulateDense = flag != null && flag.toIntArray()[0] != 0;
        NDArray g = state.get(DENSE_GRADIENT);
        if (g != null) {
            if (g.getShape().size() != (long) out * in) {
                throw new IllegalArgumentException(
                        "dense gradient has shape " + g.getShape() + "; the weight is [" + out + ", " + in + "]");
            }
            NDArray like = getValues().getArray();
            denseGradient = ParameterValues.create(
                    like.getManager(), g.toFloatArray(), new ai.djl.ndarray.types.Shape(out, in), like);
        }
    }

    @Override
    public void close() {
        if (denseGradient != null) {
            denseGradient.close();
        }
        super.close();
    }
}
