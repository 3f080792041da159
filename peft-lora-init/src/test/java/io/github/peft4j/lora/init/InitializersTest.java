package io.github.peft4j.lora.init;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.loss.Loss;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.peft4j.core.InjectionMode;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.testing.ManagedTest;
import io.github.peft4j.linalg.LowRank;
import io.github.peft4j.lora.LoraConfig;
import io.github.peft4j.lora.LoraLayer;
import io.github.peft4j.models.bert.BertForSequenceClassification;
import io.github.peft4j.testing.Synthetic;
import io.github.peft4j.train.FineTuneConfig;
import io.github.peft4j.train.FineTuner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PiSSA, LoRA-GA and EVA on a tiny BERT classifier: the properties of issue 6 (item 4). */
class InitializersTest extends ManagedTest {

    static BertForSequenceClassification base() {
        return io.github.peft4j.testing.TinyBert.classifier(manager);
    }

    static PeftModel wrap(BertForSequenceClassification base, LoraConfig config) {
        return PeftModel.builder().setBaseModel(base).setConfig(config).build();
    }

    static LoraConfig.Builder lora(int r, String... targets) {
        return LoraConfig.builder()
                .setTargetModules(targets)
                .optRank(r)
                .optAlpha(2.0 * r)
                .optModulesToSave("classifier");
    }

    static float[] logits(ai.djl.nn.Block model, Synthetic data) {
        try (NDManager s = manager.newSubManager()) {
            int[] idx = new int[data.size()];
            for (int i = 0; i < idx.length; i++) {
                idx[i] = i;
            }
            return model.forward(new ParameterStore(s, false), data.inputs(idx, s), false)
                    .get(0)
                    .toFloatArray();
        }
    }

    static double maxAbsDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d;
    }

    static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /** C = s · B A (row-major [out, in]) from a layer's current values. */
    static double[] sBA(LoraLayer l, float[] a, float[] b) {
        int out = (int) l.getTarget().outFeatures();
        int in = (int) l.getTarget().inFeatures();
        int r = a.length / in;
        double[] c = new double[out * in];
        for (int i = 0; i < out; i++) {
            for (int k = 0; k < r; k++) {
                double bik = b[i * r + k];
                for (int j = 0; j < in; j++) {
                    c[i * in + j] += l.getScaling() * bik * a[k * in + j];
                }
            }
        }
        return c;
    }

    static void train(PeftModel m, int steps, Path out) throws IOException {
        FineTuner.builder()
                .setModel(m)
                .setConfig(FineTuneConfig.builder()
                        .optLearningRate(5e-3)
                        .optBatchSize(16)
                        .optMaxSteps(steps)
                        .optSeed(4)
                        .build())
                .optHooks(m)
                .build()
                .fit(Synthetic.make(64, 9), out, null);
    }

    // ------------------------------------------------------------------ PiSSA

    @Test
    void pissaStartsOnThePrincipalComponentsAndLeavesTheOutputUnchanged() {
        Synthetic data = Synthetic.make(12, 1);
        PeftModel m = wrap(base(), lora(4, "query", "value", "dense").build());
        float[] before = logits(m, data);
        // random test weights have a flat spectrum (the randomized SVD's worst case): iterate enough to compare
        // with the exact decomposition; real weights decay fast (docs/results.md)
        Pissa.initialize(m, PeftModel.DEFAULT_ADAPTER, 16, 7);
        assertTrue(maxAbsDiff(before, logits(m, data)) <= 1e-5, "output changed by PiSSA");
        for (String path : m.getTargetPaths(PeftModel.DEFAULT_ADAPTER)) {
            LoraLayer l = (LoraLayer) m.getLayerAdapter(PeftModel.DEFAULT_ADAPTER, path);
            assertTrue(l.getResidualInit() != null);
            int out = (int) l.getTarget().outFeatures();
            int in = (int) l.getTarget().inFeatures();
            double[] w = toDouble(l.getTarget().weight().getArray().toFloatArray());
            double[] principal = sBA(
                    l,
                    l.getLoraA().getArray().toFloatArray(),
                    l.getLoraB().getArray().toFloatArray());
            // s·BA is the best rank-r approximation of W: compare with an exact SVD of all components
            LowRank.Svd exact = LowRank.svd(w, out, in, Math.min(out, in), 0, 1);
            double err = 0;
            double norm = 0;
            for (int i = 0; i < out; i++) {
                for (int j = 0; j < in; j++) {
                    double t = 0;
                    for (int k = 0; k < l.getRank(); k++) {
                        t += exact.u(i, k) * exact.s()[k] * exact.vt(k, j);
                    }
                    err += (principal[i * in + j] - t) * (principal[i * in + j] - t);
                    norm += t * t;
                }
            }
            assertTrue(Math.sqrt(err / norm) <= 1e-4, path + ": s·BA vs rank-r SVD, rel " + Math.sqrt(err / norm));
            // residual + s·BA reconstructs W
            double[] residual = new double[w.length];
            for (int i = 0; i < w.length; i++) {
                residual[i] = w[i] - principal[i];
            }
            double rec = 0;
            double wn = 0;
            for (int i = 0; i < w.length; i++) {
                rec += Math.pow(residual[i] + principal[i] - w[i], 2);
                wn += w[i] * w[i];
            }
            assertTrue(Math.sqrt(rec / wn) <= 1e-4, path);
            // the residual's largest singular value is W's (r+1)-th
            LowRank.Svd res = LowRank.svd(residual, out, in, Math.min(out, in), 0, 2);
            assertEquals(exact.s()[l.getRank()], res.s()[0], 1e-4 * exact.s()[0], path);
        }
    }

    @Test
    void pissaExportsARank2rAdapterRightForTheOriginalBase(@TempDir Path tmp) throws IOException {
        Synthetic data = Synthetic.make(12, 2);
        BertForSequenceClassification original = base();
        float[] baseLogits = logits(original, data);
        PeftModel m = wrap(
                original,
                lora(4, "query", "value").optRankPattern(Map.of("value", 2)).build());
        Pissa.initialize(m, PeftModel.DEFAULT_ADAPTER, 4, 7);
        train(m, 6, tmp.resolve("run"));
        float[] tuned = logits(m, data);
        assertTrue(maxAbsDiff(tuned, baseLogits) > 1e-3, "training changed nothing");
        m.disableAdapters();
        assertTrue(maxAbsDiff(logits(m, data), baseLogits) <= 1e-6, "disabled adapter must give the original base");
        m.enableAdapters();

        Path dir = tmp.resolve("adapter");
        m.saveAdapter(PeftModel.DEFAULT_ADAPTER, dir);
        JsonNode cfg =
                new ObjectMapper().readTree(dir.resolve("adapter_config.json").toFile());
        assertEquals(8, cfg.get("r").asInt());
        assertEquals(16.0, cfg.get("lora_alpha").asDouble());
        assertEquals(4, cfg.get("rank_pattern").get("value").asInt());
        assertTrue(cfg.get("init_lora_weights").asBoolean());
        assertTrue(Files.readString(dir.resolve("README.md")).contains("ORIGINAL base weights"));

        PeftModel fresh = wrap(base(), lora(1, "query").build());
        fresh.loadAdapter(dir, "pissa");
        fresh.setActiveAdapter("pissa");
        assertTrue(maxAbsDiff(logits(fresh, data), tuned) <= 1e-5, "2r export on the original base");

        // merging writes W + s(BA − B₀A₀): the unloaded model equals the tuned one
        ai.djl.nn.Block merged = m.mergeAndUnload();
        assertTrue(maxAbsDiff(logits(merged, data), tuned) <= 1e-5, "merged");
    }

    @Test
    void pissaRefusesDoraAndNonPositiveAlpha() {
        PeftModel dora = wrap(base(), lora(2, "query").optUseDora(true).build());
        assertThrows(IllegalStateException.class, () -> Pissa.initialize(dora, PeftModel.DEFAULT_ADAPTER, 2, 1));
        PeftModel neg = wrap(base(), lora(2, "query").optAlpha(-4).build());
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> Pissa.initialize(neg, PeftModel.DEFAULT_ADAPTER, 2, 1));
        assertTrue(e.getMessage().contains("lora_alpha > 0"), e.getMessage());
        IllegalArgumentException missing =
                assertThrows(IllegalArgumentException.class, () -> Pissa.initialize(neg, "nope", 2, 1));
        assertTrue(missing.getMessage().contains("[default]"), missing.getMessage());
    }

    // ------------------------------------------------------------------ LoRA-GA

    /** Fraction of ‖ΔW‖_F inside the top-k left and right singular subspaces of G. */
    static double energyInTopSubspace(double[] dw, LowRank.Svd g, int k, int out, int in) {
        double inside = 0;
        double total = 0;
        for (double v : dw) {
            total += v * v;
        }
        for (int a = 0; a < k; a++) {
            for (int b = 0; b < k; b++) {
                double t = 0;
                for (int i = 0; i < out; i++) {
                    double row = 0;
                    for (int j = 0; j < in; j++) {
                        row += dw[i * in + j] * g.vt(b, j);
                    }
                    t += g.u(i, a) * row;
                }
                inside += t * t;
            }
        }
        return Math.sqrt(inside / total);
    }

    /** First-order ΔW of one SGD step on (A, B): −s (∇B · A + B · ∇A), per layer. */
    static Map<String, double[]> firstUpdate(PeftModel m, Synthetic data) {
        Map<String, double[]> out = new java.util.LinkedHashMap<>();
        int[] idx = new int[data.size()];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        try (NDManager s = manager.newSubManager();
                GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray logits = m.forward(new ParameterStore(s, false), data.inputs(idx, s), true)
                    .get(0);
            gc.backward(Loss.softmaxCrossEntropyLoss().evaluate(new NDList(data.labels(idx, s)), new NDList(logits)));
        }
        for (String path : m.getTargetPaths(PeftModel.DEFAULT_ADAPTER)) {
            LoraLayer l = (LoraLayer) m.getLayerAdapter(PeftModel.DEFAULT_ADAPTER, path);
            try (NDArray ga = l.getLoraA().getArray().getGradient();
                    NDArray gb = l.getLoraB().getArray().getGradient()) {
                double[] t1 = sBA(l, l.getLoraA().getArray().toFloatArray(), gb.toFloatArray());
                double[] t2 = sBA(l, ga.toFloatArray(), l.getLoraB().getArray().toFloatArray());
                double[] d = new double[t1.length];
                for (int i = 0; i < d.length; i++) {
                    d[i] = -(t1[i] + t2[i]);
                }
                out.put(path, d);
            }
        }
        return out;
    }

    @Test
    void loraGaFirstStepFollowsTheFullGradientsTopSubspace() {
        Synthetic data = Synthetic.make(16, 5);
        int r = 2;
        LoraGa.Options opts = new LoraGa.Options(1, 16, 16, 4, 3);
        PeftModel ga =
                wrap(base(), lora(r, "query", "value", "intermediate.dense").build());
        float[] before = logits(ga, data);
        Map<String, float[]> g = LoraGa.meanGradients(ga, PeftModel.DEFAULT_ADAPTER, data, opts);
        LoraGa.initialize(ga, PeftModel.DEFAULT_ADAPTER, data, opts);
        assertTrue(maxAbsDiff(before, logits(ga, data)) <= 1e-5, "output changed by LoRA-GA");
        PeftModel plain =
                wrap(base(), lora(r, "query", "value", "intermediate.dense").build());
        Map<String, double[]> dGa = firstUpdate(ga, data);
        Map<String, double[]> dPlain = firstUpdate(plain, data);
        for (String path : g.keySet()) {
            LoraLayer l = (LoraLayer) ga.getLayerAdapter(PeftModel.DEFAULT_ADAPTER, path);
            int out = (int) l.getTarget().outFeatures();
            int in = (int) l.getTarget().inFeatures();
            LowRank.Svd svd = LowRank.svd(g.get(path), out, in, Math.min(out, in), 0, 1);
            double eGa = energyInTopSubspace(dGa.get(path), svd, 2 * r, out, in);
            double ePlain = energyInTopSubspace(dPlain.get(path), svd, 2 * r, out, in);
            assertTrue(eGa >= 0.99, path + ": LoRA-GA energy in the top-2r subspace " + eGa);
            assertTrue(eGa >= ePlain + 0.3, path + ": LoRA-GA " + eGa + " vs default init " + ePlain);
        }
    }

    @Test
    void loraGaRejectsTooLargeRanksAndEmptyData() {
        PeftModel m = wrap(base(), lora(20, "query").build());
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> LoraGa.initialize(
                        m, PeftModel.DEFAULT_ADAPTER, Synthetic.make(4, 1), LoraGa.Options.defaults(1)));
        assertTrue(e.getMessage().contains("2r <= min(in, out) = 32"), e.getMessage());
        PeftModel ok = wrap(base(), lora(2, "query").build());
        IllegalArgumentException empty = assertThrows(
                IllegalArgumentException.class,
                () -> LoraGa.initialize(
                        ok, PeftModel.DEFAULT_ADAPTER, Synthetic.make(0, 1), LoraGa.Options.defaults(1)));
        assertTrue(empty.getMessage().contains("empty"), empty.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new LoraGa.Options(0, 2, 16, 4, 1));
    }

    // ------------------------------------------------------------------ EVA

    @Test
    void evaRedistributesTheBudgetAndStartsOnOrthonormalComponents(@TempDir Path tmp) throws IOException {
        Synthetic data = Synthetic.make(96, 6);
        int r = 4;
        PeftModel m = wrap(base(), lora(r, "all-linear").build());
        int layers = m.getTargetPaths(PeftModel.DEFAULT_ADAPTER).size();
        float[] before = logits(m, Synthetic.make(12, 1));
        Eva.Result res =
                Eva.initialize(m, PeftModel.DEFAULT_ADAPTER, data, new Eva.Options(2, 0.99, 8, 12, 1, in -> in.get(1)));
        assertEquals(layers, res.ranks().size());
        assertEquals(
                layers * r,
                res.ranks().values().stream().mapToInt(Integer::intValue).sum(),
                "budget");
        assertTrue(
                res.ranks().values().stream().allMatch(k -> k <= 2 * r),
                res.ranks().toString());
        assertTrue(res.ranks().values().stream().distinct().count() > 1, "nothing redistributed: " + res.ranks());
        LoraConfig cfg = (LoraConfig) m.getConfig(PeftModel.DEFAULT_ADAPTER);
        for (Map.Entry<String, Integer> e : res.ranks().entrySet()) {
            boolean adapted = m.getTargetPaths(PeftModel.DEFAULT_ADAPTER).contains(e.getKey());
            assertEquals(e.getValue() > 0, adapted, e.getKey() + " rank " + e.getValue());
            if (!adapted) {
                continue;
            }
            LoraLayer l = (LoraLayer) m.getLayerAdapter(PeftModel.DEFAULT_ADAPTER, e.getKey());
            assertEquals(e.getValue(), l.getRank());
            assertEquals(2.0 * r / r, l.getScaling(), 1e-12, "alpha/rank kept constant");
            assertEquals(2.0 * e.getValue(), cfg.alphaFor(e.getKey()), 1e-12);
            float[] a = l.getLoraA().getArray().toFloatArray();
            int in = (int) l.getTarget().inFeatures();
            for (int i = 0; i < l.getRank(); i++) {
                for (int j = 0; j < l.getRank(); j++) {
                    double dot = 0;
                    for (int c = 0; c < in; c++) {
                        dot += a[i * in + c] * a[j * in + c];
                    }
                    assertEquals(i == j ? 1 : 0, dot, 1e-5, e.getKey() + " A rows " + i + "," + j);
                }
            }
        }
        assertTrue(maxAbsDiff(before, logits(m, Synthetic.make(12, 1))) <= 1e-6, "B = 0: output unchanged");

        train(m, 4, tmp.resolve("run"));
        float[] tuned = logits(m, Synthetic.make(12, 1));
        m.saveAdapter(PeftModel.DEFAULT_ADAPTER, tmp.resolve("eva"));
        PeftModel fresh = wrap(base(), lora(1, "query").build());
        fresh.loadAdapter(tmp.resolve("eva"), "eva");
        fresh.setActiveAdapter("eva");
        assertEquals(0, maxAbsDiff(tuned, logits(fresh, Synthetic.make(12, 1))), 1e-6, "reload");
    }

    @Test
    void evaZeroRankLayersGetNoAdapter() {
        // rank 1 on many layers with rho = 1: the budget equals the candidates only if every layer keeps its one
        // component, so any layer whose first ratio loses to another's second gets 0 -- use rho 3 to let the
        // strongest layers take more
        PeftModel m = wrap(base(), lora(1, "all-linear").build());
        Eva.Result res = Eva.initialize(
                m,
                PeftModel.DEFAULT_ADAPTER,
                Synthetic.make(64, 8),
                new Eva.Options(3, 0.99, 8, 8, 1, in -> in.get(1)));
        long zeros = res.ranks().values().stream().filter(k -> k == 0).count();
        assertTrue(zeros > 0, "expected some rank-0 layers: " + res.ranks());
        for (Map.Entry<String, Integer> e : res.ranks().entrySet()) {
            assertEquals(
                    e.getValue() > 0,
                    m.getTargetPaths(PeftModel.DEFAULT_ADAPTER).contains(e.getKey()),
                    e.getKey());
        }
    }

    @Test
    void evaErrors() {
        PeftModel m = wrap(base(), lora(2, "query").build());
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> Eva.initialize(m, PeftModel.DEFAULT_ADAPTER, Synthetic.make(0, 1), Eva.Options.defaults(1)));
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
        PeftModel weight = PeftModel.builder()
                .setBaseModel(base())
                .setConfig(lora(2, "query").build())
                .optInjectionMode(InjectionMode.WEIGHT)
                .build();
        IllegalArgumentException w = assertThrows(
                IllegalArgumentException.class,
                () -> Eva.initialize(weight, PeftModel.DEFAULT_ADAPTER, Synthetic.make(8, 1), Eva.Options.defaults(1)));
        assertTrue(w.getMessage().contains("weight path"), w.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Eva.Options(0.5, 0.99, 8, 8, 1, in -> null));
        assertFalse(m.getTargetPaths(PeftModel.DEFAULT_ADAPTER).isEmpty());
    }
}
