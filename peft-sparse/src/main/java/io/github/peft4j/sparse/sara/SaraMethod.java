package io.github.peft4j.sparse.sara;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.AdapterMethod;
import io.github.peft4j.core.OptimizerAccess;
import io.github.peft4j.core.TargetLayer;
import io.github.peft4j.sparse.kernels.SparseKernels;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** SaRA, registered through {@code META-INF/services}. */
public final class SaraMethod implements AdapterMethod<SaraConfig, SaraLayer> {

    /** Matrices whose smaller side is at most this are not eligible for the nuclear-norm term (the reference's). */
    public static final int MIN_LOWRANK_DIM = 64;

    /** Tensor name prefix: {@code sara_indices}, {@code sara_values}. */
    public static final String PREFIX = "sara";

    private static final Logger LOG = LoggerFactory.getLogger(SaraMethod.class);

    /** Creates the method (used by {@link java.util.ServiceLoader}). */
    public SaraMethod() {}

    @Override
    public String peftType() {
        return SaraConfig.PEFT_TYPE;
    }

    @Override
    public Class<SaraConfig> configType() {
        return SaraConfig.class;
    }

    @Override
    public SaraConfig parseConfig(ObjectNode json) {
        return SaraConfig.fromJson(json);
    }

    @Override
    public SaraLayer createAdapter(TargetLayer layer, SaraConfig c, AdapterContext context) {
        float[] w;
        try (NDArray d = layer.weight().getArray().stopGradient();
                NDArray f = d.toType(DataType.FLOAT32, true)) {
            w = f.toFloatArray();
        }
        int[] positions;
        double tau;
        if (c.fraction() != null) {
            int count = (int) Math.round(c.fraction() * w.length);
            if (count == 0) {
                throw new IllegalArgumentException("sara_fraction " + c.fraction() + " selects no entry of '"
                        + layer.path() + "' (" + w.length + " weights); use a larger fraction");
            }
            positions = SparseKernels.smallestMagnitude(w, count);
            tau = 0;
            for (int p : positions) {
                tau = Math.max(tau, Math.abs(w[p]));
            }
        } else {
            positions = SparseKernels.belowThreshold(w, c.threshold().floatValue());
            if (positions.length == 0) {
                float min = Float.POSITIVE_INFINITY;
                for (float v : w) {
                    min = Math.min(min, Math.abs(v));
                }
                throw new IllegalArgumentException(String.format(
                        Locale.ROOT,
                        "sara_threshold %g selects nothing"
                                + " in '%s': its smallest |w| is %g; use a larger threshold or sara_fraction",
                        c.threshold(),
                        layer.path(),
                        min));
            }
            tau = c.threshold();
        }
        float[] values = new float[positions.length];
        for (int k = 0; k < positions.length; k++) {
            values[k] = w[positions[k]];
        }
        return new SaraLayer(
                layer,
                positions,
                values,
                tau,
                c.gradient(),
                context.manager(),
                context.random(layer.path()).nextLong());
    }

    @Override
    public void afterBackward(SaraConfig config, Map<String, SaraLayer> layers) {
        layers.values().forEach(SaraLayer::afterBackward);
    }

    /** The nuclear-norm term on one eligible matrix, drawn per step from the layers' seed. */
    @Override
    public void beforeStep(SaraConfig c, Map<String, SaraLayer> layers, long step) {
        if (c.lowRankLambda() == 0) {
            return;
        }
        List<SaraLayer> eligible = new ArrayList<>();
        for (SaraLayer s : layers.values()) {
            if (Math.min(s.getTarget().inFeatures(), s.getTarget().outFeatures()) > MIN_LOWRANK_DIM) {
                eligible.add(s);
            }
        }
        if (eligible.isEmpty()) {
            return;
        }
        long seed = eligible.get(0).getSeed();
        SaraLayer chosen =
                eligible.get(new SplittableRandom(seed ^ (step * 0x9E3779B97F4A7C15L)).nextInt(eligible.size()));
        double nuclear = chosen.addNuclearNormGradient(c.lowRankLambda());
        LOG.debug("step {}: nuclear-norm term on '{}', ||P||_* = {}", step, chosen.getPath(), nuclear);
    }

    /** Keeps frozen entries at their values and runs the progressive re-selection at its step. */
    @Override
    public void afterStep(SaraConfig c, Map<String, SaraLayer> layers, long step, OptimizerAccess optimizer) {
        for (SaraLayer l : layers.values()) {
            l.restoreFrozen();
        }
        if (c.reselectStep() > 0 && step + 1 == c.reselectStep()) {
            long frozen = 0;
            long total = 0;
            for (SaraLayer s : layers.values()) {
                float[] v = s.getValues().getArray().toFloatArray();
                double tau = s.getSelectionThreshold();
                List<Integer> out = new ArrayList<>();
                for (int k = 0; k < v.length; k++) {
                    if (Math.abs(v[k]) > tau) {
                        out.add(k);
                    }
                }
                int[] entries = out.stream().mapToInt(Integer::intValue).toArray();
                s.freeze(entries);
                optimizer.resetState(s.getValues(), entries);
                frozen += entries.length;
                total += v.length;
            }
            LOG.info(
                    "SaRA re-selection after step {}: {} of {} entries grew past their threshold and are frozen at"
                            + " their learned values",
                    step + 1,
                    frozen,
                    total);
        }
    }
}
