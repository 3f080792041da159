package io.github.peft4j.sparse.spiel;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.AdapterMethod;
import io.github.peft4j.core.OptimizerAccess;
import io.github.peft4j.core.TargetLayer;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Map;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Sparse fine-tuning with regrowth (SpIEL), registered through {@code META-INF/services}. */
public final class SpielMethod implements AdapterMethod<SpielConfig, SpielLayer> {

    /** Tensor name prefix: {@code spiel_indices}, {@code spiel_values}. */
    public static final String PREFIX = "spiel";

    private static final Logger LOG = LoggerFactory.getLogger(SpielMethod.class);

    /** Creates the method (used by {@link java.util.ServiceLoader}). */
    public SpielMethod() {}

    @Override
    public String peftType() {
        return SpielConfig.PEFT_TYPE;
    }

    @Override
    public Class<SpielConfig> configType() {
        return SpielConfig.class;
    }

    @Override
    public SpielConfig parseConfig(ObjectNode json) {
        return SpielConfig.fromJson(json);
    }

    /** The layer's share of the budget: round(d · numel), at least 1. Positions random (seeded), deltas 0. */
    @Override
    public SpielLayer createAdapter(TargetLayer layer, SpielConfig c, AdapterContext context) {
        long numel = layer.inFeatures() * layer.outFeatures();
        if (numel > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(
                    "'" + layer.path() + "' has " + numel + " weights; sparse indices are" + " int32");
        }
        int nnz = (int) Math.max(1, Math.round(c.density() * numel));
        SplittableRandom rnd = context.random(layer.path());
        int[] positions = sample((int) numel, nnz, rnd);
        return new SpielLayer(layer, positions, c.gradient(), context.manager(), rnd.nextLong());
    }

    /** nnz distinct positions of [0, n), ascending (Floyd's algorithm). */
    static int[] sample(int n, int nnz, SplittableRandom rnd) {
        BitSet chosen = new BitSet(n);
        for (int j = n - nnz; j < n; j++) {
            int t = rnd.nextInt(j + 1);
            chosen.set(chosen.get(t) ? j : t);
        }
        return chosen.stream().toArray();
    }

    @Override
    public void afterBackward(SpielConfig config, Map<String, SpielLayer> layers) {
        layers.values().forEach(SpielLayer::afterBackward);
    }

    @Override
    public void afterStep(SpielConfig c, Map<String, SpielLayer> layers, long step, OptimizerAccess optimizer) {
        long done = step + 1;
        long next = (done / c.regrowInterval() + 1) * c.regrowInterval();
        if (done % c.regrowInterval() == 0) {
            double rho = c.dropFractionAt(done);
            long moved = 0;
            for (SpielLayer l : layers.values()) {
                moved += regrow(l, rho, optimizer);
            }
            LOG.info("SpIEL step {}: dropped and regrew {} entries (rho {})", done, moved, rho);
        }
        // accumulate the dense gradient over the window before the next regrowth
        boolean accumulate = next - done <= c.gradientWindow() && next - done > 0;
        for (SpielLayer l : layers.values()) {
            l.accumulateDenseGradient(accumulate && c.dropFractionAt(next) > 0);
        }
    }

    /**
     * Drops the round(ρ·nnz) smallest |Δ| and regrows as many unselected positions with the largest accumulated
     * |gradient|, in the dropped slots (Δ = 0, optimizer state reset).
     *
     * @return the number of slots moved
     */
    static int regrow(SpielLayer layer, double rho, OptimizerAccess optimizer) {
        float[] grad = layer.denseGradient();
        int[] positions = layer.positions();
        int drop = (int) Math.round(rho * positions.length);
        if (drop == 0 || grad == null) {
            return 0;
        }
        float[] delta = layer.getValues().getArray().toFloatArray();
        Integer[] slots = new Integer[positions.length];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = i;
        }
        Arrays.sort(slots, (a, b) -> {
            int cmp = Float.compare(Math.abs(delta[a]), Math.abs(delta[b]));
            return cmp != 0 ? cmp : Integer.compare(a, b);
        });
        BitSet selected = new BitSet(grad.length);
        for (int p : positions) {
            selected.set(p);
        }
        // candidates: unselected positions by |gradient|, largest first (ties: lower position)
        int candidates = grad.length - positions.length;
        drop = Math.min(drop, candidates);
        int[] grow = largestUnselected(grad, selected, drop);
        int[] resetSlots = new int[drop];
        for (int i = 0; i < drop; i++) {
            int slot = slots[i];
            positions[slot] = grow[i];
            delta[slot] = 0;
            resetSlots[i] = slot;
        }
        layer.reassign(positions, delta);
        optimizer.resetState(layer.getValues(), resetSlots);
        return drop;
    }

    private static int[] largestUnselected(float[] grad, BitSet selected, int count) {
        Integer[] order = new Integer[grad.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        // unselected first, by |gradient| descending, ties to the lower position
        Arrays.sort(order, (a, b) -> {
            boolean sa = selected.get(a);
            boolean sb = selected.get(b);
            if (sa != sb) {
                return sa ? 1 : -1;
            }
            int cmp = Float.compare(Math.abs(grad[b]), Math.abs(grad[a]));
            return cmp != 0 ? cmp : Integer.compare(a, b);
        });
        int[] out = new int[count];
        for (int i = 0; i < count; i++) {
            out[i] = order[i];
        }
        return out;
    }
}
