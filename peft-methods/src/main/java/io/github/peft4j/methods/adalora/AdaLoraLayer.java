package io.github.peft4j.methods.adalora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.LayerAdapter;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.core.Scalars;
import io.github.peft4j.core.TargetLayer;
import io.github.peft4j.core.nn.Dropouts;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * AdaLoRA on one linear layer: y = x Wᵀ + b + s·(x (A ⊙ E)ᵀ) Bᵀ with A [r, in], E [r, 1], B [out, r] and s = α / r₀.
 * While training it keeps the smoothed importance of every entry of A, B and E (for {@link AdaLoraMethod}'s rank
 * allocator) and the mask of its surviving triplets; a pruned triplet has E = 0. A layer built from a saved
 * {@code rank_pattern} holds only its surviving triplets and is no longer re-allocated.
 */
public final class AdaLoraLayer implements LayerAdapter {

    private static final String[] NAMES = {"lora_A", "lora_B", "lora_E"};

    private final String path;
    private final int rank;
    private final double scaling;
    private final double dropout;
    private final boolean resized;
    private final Parameter a;
    private final Parameter b;
    private final Parameter e;
    private final NDManager manager;
    private NDArray[] expIpt;
    private NDArray[] expUnc;
    private boolean[] keep;
    private NDArray[] gradients;

    AdaLoraLayer(TargetLayer layer, AdaLoraConfig config, AdapterContext ctx) {
        this.path = layer.path();
        boolean[] pattern = config.rankPattern().get(path);
        this.resized = pattern != null;
        this.rank = resized ? count(pattern) : config.initR();
        if (rank == 0) {
            throw new IllegalArgumentException(
                    "AdaLoraConfig.rank_pattern prunes '" + path + "' to rank 0, which" + " peft4j does not load yet");
        }
        this.scaling = config.scaling();
        this.dropout = config.dropout();
        this.manager = ctx.manager();
        int in = Math.toIntExact(layer.inFeatures());
        int out = Math.toIntExact(layer.outFeatures());
        SplittableRandom r = ctx.random(path);
        NDArray like = layer.weight().getArray();
        a = ParameterValues.weight(manager, "lora_A", normal(r, rank * in, 0.02), new Shape(rank, in), like);
        b = ParameterValues.weight(manager, "lora_B", normal(r, out * rank, 0.02), new Shape(out, rank), like);
        e = ParameterValues.weight(
                manager,
                "lora_E",
                config.initWeights() ? new float[rank] : normal(r, rank, 1),
                new Shape(rank, 1),
                like);
    }

    private static int count(boolean[] keep) {
        int n = 0;
        for (boolean k : keep) {
            n += k ? 1 : 0;
        }
        return n;
    }

    private static float[] normal(SplittableRandom r, int n, double std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (std * ParameterValues.gaussian(r));
        }
        return v;
    }

    @Override
    public Map<String, Parameter> parameters() {
        Map<String, Parameter> m = new LinkedHashMap<>();
        m.put("lora_A", a);
        m.put("lora_B", b);
        m.put("lora_E", e);
        return m;
    }

    @Override
    public boolean readsBaseWeight() {
        return false;
    }

    @Override
    public NDArray forward(ParameterStore store, NDArray input, NDArray baseOutput, boolean training) {
        NDArray av = store.getValue(a, input.getDevice(), training);
        NDArray ev = store.getValue(e, input.getDevice(), training);
        NDArray ae = av.mul(ev);
        ae.attach(input.getManager());
        NDArray x = Dropouts.apply(input, dropout, training);
        NDArray h = Linear.linear(x, ae, null).singletonOrThrow();
        NDArray y = Linear.linear(h, store.getValue(b, input.getDevice(), training), null)
                .singletonOrThrow();
        return baseOutput.add(Scalars.mul(y, scaling));
    }

    @Override
    public NDArray adaptWeight(ParameterStore store, NDArray weight, NDManager scope, boolean training) {
        NDArray av = store.getValue(a, weight.getDevice(), training);
        NDArray ae = av.mul(store.getValue(e, weight.getDevice(), training));
        ae.attach(scope);
        NDArray d = store.getValue(b, weight.getDevice(), training).matMul(ae);
        d.attach(scope);
        NDArray out = weight.add(Scalars.mul(d, scaling));
        out.attach(scope);
        return out;
    }

    @Override
    public NDArray deltaWeight(NDManager m) {
        try (NDManager s = m.newSubManager()) {
            NDArray av = detached(a, s);
            NDArray ae = av.mul(detached(e, s));
            NDArray d = Scalars.mul(detached(b, s).matMul(ae), scaling);
            d.attach(m);
            return d;
        }
    }

    private static NDArray detached(Parameter p, NDManager scope) {
        NDArray v = p.getArray().stopGradient();
        v.attach(scope);
        return v;
    }

    // ---------------------------------------------------------------- the rank allocator's view of the layer

    /** Whether the allocator re-allocates this layer (false once it was built from a saved rank pattern). */
    boolean allocates() {
        return !resized;
    }

    /** The module path. */
    String path() {
        return path;
    }

    /** The surviving triplets, or null before the first pruning. */
    boolean[] keep() {
        return keep == null ? null : keep.clone();
    }

    /**
     * Keeps a copy of this step's gradients for {@link #updateImportance}: a loop may reset them in its update (DJL's
     * {@code Trainer.step()} does), while Python's allocator reads them after the update.
     */
    void keepGradients() {
        dropGradients();
        Parameter[] ps = {a, b, e};
        gradients = new NDArray[3];
        for (int i = 0; i < 3; i++) {
            try (NDArray g = ps[i].getArray().getGradient()) {
                gradients[i] = g.duplicate();
                gradients[i].attach(manager);
            }
        }
    }

    private void dropGradients() {
        if (gradients != null) {
            for (NDArray g : gradients) {
                g.close();
            }
            gradients = null;
        }
    }

    /**
     * Updates the smoothed sensitivity and uncertainty of every entry from |p ⊙ ∂L/∂p| (the values after the update,
     * the step's gradients: the copy {@link #keepGradients} took, or the parameters' own), as Python's
     * {@code RankAllocator.update_ipt}.
     */
    void updateImportance(double beta1, double beta2) {
        Parameter[] ps = {a, b, e};
        if (expIpt == null) {
            expIpt = new NDArray[3];
            expUnc = new NDArray[3];
            for (int i = 0; i < 3; i++) {
                NDArray v = ps[i].getArray();
                expIpt[i] = manager.zeros(v.getShape(), v.getDataType(), v.getDevice());
                expUnc[i] = manager.zeros(v.getShape(), v.getDataType(), v.getDevice());
            }
        }
        for (int i = 0; i < 3; i++) {
            try (NDManager s = manager.newSubManager();
                    NDArray g = gradients != null
                            ? gradients[i].duplicate()
                            : ps[i].getArray().getGradient();
                    NDArray w = ps[i].getArray().stopGradient()) {
                NDArray ipt = w.mul(g).abs();
                ipt.attach(s);
                NDArray ema = Scalars.mul(expIpt[i], beta1).add(Scalars.mul(ipt, 1 - beta1));
                ema.attach(s);
                NDArray unc = Scalars.mul(expUnc[i], beta2)
                        .add(Scalars.mul(ipt.sub(ema).abs(), 1 - beta2));
                unc.attach(s);
                ParameterValues.copyInto(expIpt[i], ema);
                ParameterValues.copyInto(expUnc[i], unc);
            }
        }
        dropGradients();
    }

    /**
     * The importance of each triplet: score(E_i) + mean_j score(A_ij) + mean_k score(B_ki), score = smoothed
     * sensitivity × uncertainty.
     */
    float[] tripletScores() {
        try (NDManager s = manager.newSubManager()) {
            NDArray sa = expIpt[0].mul(expUnc[0]);
            sa.attach(s);
            NDArray sb = expIpt[1].mul(expUnc[1]);
            sb.attach(s);
            NDArray se = expIpt[2].mul(expUnc[2]);
            se.attach(s);
            NDArray ab = sa.mean(new int[] {1}).add(sb.mean(new int[] {0}));
            ab.attach(s);
            NDArray total = se.reshape(-1).add(ab);
            total.attach(s);
            return total.toFloatArray();
        }
    }

    /** Keeps the given triplets and sets E of the others to 0, as Python's {@code masked_fill_}. */
    void applyMask(boolean[] mask) {
        this.keep = mask.clone();
        float[] ev = e.getArray().toFloatArray();
        for (int i = 0; i < ev.length; i++) {
            if (!mask[i]) {
                ev[i] = 0;
            }
        }
        try (NDArray src = manager.create(ev, new Shape(ev.length, 1))) {
            ParameterValues.copyInto(e.getArray(), src);
        }
    }

    /** Forgets the importance scores (Python's {@code reset_ipt} at the end of the budgeting phase). */
    void resetImportance() {
        if (expIpt != null) {
            for (int i = 0; i < 3; i++) {
                expIpt[i].close();
                expUnc[i].close();
            }
        }
        expIpt = null;
        expUnc = null;
    }

    /** The Frobenius-norm orthogonality regulariser's gradient, c·∂‖PPᵀ − I‖/∂P, added to A's and B's gradients. */
    void addOrthogonalityGradient(double c) {
        addOrthGradient(a, c, true);
        addOrthGradient(b, c, false);
    }

    private void addOrthGradient(Parameter p, double c, boolean rows) {
        try (NDManager s = manager.newSubManager();
                NDArray w = p.getArray().stopGradient();
                NDArray g = p.getArray().getGradient()) {
            // A: M = A Aᵀ − I, ∂‖M‖/∂A = 2 M A / ‖M‖; B: M = BᵀB − I, ∂‖M‖/∂B = 2 B M / ‖M‖
            NDArray cov = rows ? w.matMul(w.transpose()) : w.transpose().matMul(w);
            cov.attach(s);
            NDArray eye = s.eye(
                    Math.toIntExact(cov.getShape().get(0)),
                    Math.toIntExact(cov.getShape().get(0)),
                    0,
                    cov.getDataType());
            NDArray m = cov.sub(eye);
            m.attach(s);
            double norm = m.norm().getFloat();
            if (norm == 0) {
                return;
            }
            NDArray grad = rows ? m.matMul(w) : w.matMul(m);
            grad.attach(s);
            g.addi(Scalars.mul(grad, 2 * c / norm));
        }
    }

    /** The saved form: only the surviving triplets, once a mask exists (Python resizes by its rank pattern). */
    @Override
    public Map<String, NDArray> exportTensors(NDManager m) {
        boolean[] k = exportMask();
        if (k == null) {
            return LayerAdapter.super.exportTensors(m);
        }
        int kept = count(k);
        float[] av = a.getArray().toFloatArray();
        float[] bv = b.getArray().toFloatArray();
        float[] ev = e.getArray().toFloatArray();
        int in = av.length / rank;
        int out = bv.length / rank;
        float[] ra = new float[kept * in];
        float[] rb = new float[out * kept];
        float[] re = new float[kept];
        for (int i = 0, j = 0; i < rank; i++) {
            if (!k[i]) {
                continue;
            }
            System.arraycopy(av, i * in, ra, j * in, in);
            for (int o = 0; o < out; o++) {
                rb[o * kept + j] = bv[o * rank + i];
            }
            re[j] = ev[i];
            j++;
        }
        NDArray like = a.getArray();
        Map<String, NDArray> res = new LinkedHashMap<>();
        res.put("lora_A", ParameterValues.create(m, ra, new Shape(kept, in), like));
        res.put("lora_B", ParameterValues.create(m, rb, new Shape(out, kept), like));
        res.put("lora_E", ParameterValues.create(m, re, new Shape(kept, 1), like));
        return res;
    }

    /**
     * The pattern to save: the mask, with a layer pruned to nothing keeping its first triplet (E = 0, so the update is
     * still zero) because a rank-0 layer has no tensors to write.
     */
    boolean[] exportMask() {
        if (keep == null || resized) {
            return null;
        }
        boolean[] k = keep.clone();
        if (count(k) == 0) {
            k[0] = true;
        }
        return k;
    }

    @Override
    public Map<String, NDArray> trainingState(NDManager m) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        if (expIpt != null) {
            for (int i = 0; i < 3; i++) {
                out.put("exp_avg_ipt." + NAMES[i], expIpt[i]);
                out.put("exp_avg_unc." + NAMES[i], expUnc[i]);
            }
        }
        if (keep != null) {
            float[] f = new float[keep.length];
            for (int i = 0; i < f.length; i++) {
                f[i] = keep[i] ? 1 : 0;
            }
            out.put("rank_mask", m.create(f));
        }
        return out;
    }

    @Override
    public void restoreTrainingState(Map<String, NDArray> state) {
        resetImportance();
        keep = null;
        if (state.containsKey("exp_avg_ipt.lora_A")) {
            expIpt = new NDArray[3];
            expUnc = new NDArray[3];
            for (int i = 0; i < 3; i++) {
                expIpt[i] = copy(state, "exp_avg_ipt." + NAMES[i]);
                expUnc[i] = copy(state, "exp_avg_unc." + NAMES[i]);
            }
        }
        NDArray mask = state.get("rank_mask");
        if (mask != null) {
            float[] f = mask.toFloatArray();
            keep = new boolean[f.length];
            for (int i = 0; i < f.length; i++) {
                keep[i] = f[i] != 0;
            }
        }
    }

    private NDArray copy(Map<String, NDArray> state, String key) {
        NDArray v = state.get(key);
        if (v == null) {
            throw new IllegalArgumentException("AdaLoRA training state of '" + path + "' lacks " + key);
        }
        NDArray c = v.duplicate();
        c.attach(manager);
        return c;
    }

    @Override
    public String describe() {
        return "AdaLoRA rank " + (keep == null ? rank : count(keep)) + " of " + rank + ", scaling " + scaling;
    }

    @Override
    public void close() {
        a.close();
        b.close();
        e.close();
        resetImportance();
        dropGradients();
    }
}
