package io.github.peft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import io.github.peft4j.core.Scalars;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * AdamW (Loshchilov and Hutter, https://arxiv.org/abs/1711.05101) as PyTorch computes it, with its state in arrays
 * peft4j owns so that a checkpoint can save and restore it (DJL's optimizers keep their moments private).
 *
 * <p>p ← p − lr·wd·p; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p − lr·m̂/(√v̂ + ε), with bias-corrected m̂, v̂.
 */
public final class AdamW implements AutoCloseable {

    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final NDManager manager;
    private final Map<String, NDArray> m = new LinkedHashMap<>();
    private final Map<String, NDArray> v = new LinkedHashMap<>();
    private long t;

    /**
     * Creates the optimizer.
     *
     * @param beta1 β₁ (0.9)
     * @param beta2 β₂ (0.999)
     * @param eps ε (1e-8)
     * @param weightDecay decoupled weight decay (0.01)
     * @param manager owns the moment arrays
     */
    public AdamW(double beta1, double beta2, double eps, double weightDecay, NDManager manager) {
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.manager = manager;
    }

    /**
     * Applies one update to every parameter from its accumulated gradient.
     *
     * @param params the trainable parameters by stable key
     * @param lr the learning rate
     */
    public void step(Map<String, Parameter> params, double lr) {
        step(params, lr, k -> 1);
    }

    /**
     * Applies one update to every parameter from its accumulated gradient, each at its own learning rate (as PyTorch's
     * parameter groups: the weight decay scales with it).
     *
     * @param params the trainable parameters by stable key
     * @param lr the base learning rate
     * @param scale the factor on {@code lr} of each key; a parameter whose factor is 0 is not updated (its moments
     *     neither)
     */
    public void step(Map<String, Parameter> params, double lr, ToDoubleFunction<String> scale) {
        t++;
        double c1 = 1 - Math.pow(beta1, (double) t);
        double c2 = 1 - Math.pow(beta2, (double) t);
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            double plr = lr * scale.applyAsDouble(e.getKey());
            if (plr == 0) {
                continue;
            }
            NDArray p = e.getValue().getArray();
            try (NDManager scope = manager.newSubManager();
                    NDArray g = p.getGradient();
                    NDArray w = p.stopGradient()) {
                // every temporary lives in scope: results go to the manager of their first operand
                NDArray gg = scoped(scope, g.duplicate());
                NDArray mk = m.computeIfAbsent(e.getKey(), k -> zeros(p));
                NDArray vk = v.computeIfAbsent(e.getKey(), k -> zeros(p));
                Scalars.muli(mk, beta1).addi(scoped(scope, Scalars.mul(gg, 1 - beta1)));
                Scalars.muli(vk, beta2).addi(Scalars.muli(scoped(scope, gg.square()), 1 - beta2));
                NDArray denom = Scalars.addi(scoped(scope, Scalars.div(vk, c2)).sqrt(), eps);
                NDArray update = Scalars.muli(scoped(scope, Scalars.div(mk, c1)).divi(denom), plr);
                if (weightDecay != 0) {
                    Scalars.muli(w, 1 - plr * weightDecay);
                }
                w.subi(update);
            }
        }
    }

    private static NDArray scoped(NDManager scope, NDArray a) {
        a.attach(scope);
        return a;
    }

    private NDArray zeros(NDArray like) {
        return manager.zeros(like.getShape(), like.getDataType(), like.getDevice());
    }

    /**
     * Resets both moments of some entries of a parameter to zero (as if they had never been updated), for methods
     * that repurpose entries during training.
     *
     * @param key the parameter's key in {@link #step}
     * @param positions flat positions in the parameter
     */
    public void resetState(String key, int[] positions) {
        for (NDArray s : new NDArray[] {m.get(key), v.get(key)}) {
            if (s == null) {
                continue;
            }
            float[] values = s.toFloatArray();
            for (int i : positions) {
                values[i] = 0;
            }
            try (NDArray fresh = manager.create(values, s.getShape()).toType(s.getDataType(), false)) {
                io.github.peft4j.core.ParameterValues.copyInto(s, fresh);
            }
        }
    }

    /**
     * Returns the number of updates applied.
     *
     * @return t
     */
    public long getStep() {
        return t;
    }

    /**
     * Returns the state for a checkpoint: {@code m.<key>} and {@code v.<key>} arrays.
     *
     * @return the arrays (live)
     */
    public Map<String, NDArray> state() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        m.forEach((k, a) -> out.put("m." + k, a));
        v.forEach((k, a) -> out.put("v." + k, a));
        return out;
    }

    /**
     * Restores the state of a checkpoint.
     *
     * @param state the arrays of {@link #state()}
     * @param step the number of updates applied
     */
    public void restore(Map<String, NDArray> state, long step) {
        close();
        for (Map.Entry<String, NDArray> e : state.entrySet()) {
            NDArray copy = e.getValue().duplicate();
            copy.attach(manager);
            String key = e.getKey().substring(2);
            (e.getKey().startsWith("m.") ? m : v).put(key, copy);
        }
        t = step;
    }

    @Override
    public void close() {
        m.values().forEach(NDArray::close);
        v.values().forEach(NDArray::close);
        m.clear();
        v.clear();
    }
}
