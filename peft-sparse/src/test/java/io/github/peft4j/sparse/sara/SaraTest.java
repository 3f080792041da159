package io.github.peft4j.sparse.sara;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.loss.Loss;
import io.github.peft4j.core.OptimizerAccess;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.io.Safetensors;
import io.github.peft4j.core.testing.ManagedTest;
import io.github.peft4j.core.testing.TestModels;
import io.github.peft4j.linalg.LowRank;
import io.github.peft4j.models.bert.BertForSequenceClassification;
import io.github.peft4j.sparse.GradientMode;
import io.github.peft4j.testing.Synthetic;
import io.github.peft4j.train.FineTuneConfig;
import io.github.peft4j.train.FineTuner;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SaRA on a tiny BERT classifier: gradients, training, re-selection, the low-rank term, files and bad input. */
class SaraTest extends ManagedTest {

    static BertForSequenceClassification base() {
        return io.github.peft4j.testing.TinyBert.classifier(manager);
    }

    static PeftModel sara(BertForSequenceClassification base, SaraConfig.Builder b) {
        return PeftModel.builder()
                .setBaseModel(base)
                .setConfig(b.optModulesToSave("classifier").build())
                .build();
    }

    static SaraLayer layer(PeftModel m, String path) {
        return m.getLayerAdapters(PeftModel.DEFAULT_ADAPTER, SaraLayer.class).get(path);
    }

    /** One forward/backward on all of {@code data}, the training hooks called as FineTuner does. */
    static void backward(PeftModel m, Synthetic data) {
        int[] idx = java.util.stream.IntStream.range(0, data.size()).toArray();
        try (NDManager s = manager.newSubManager();
                GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray logits = m.forward(new ParameterStore(s, false), data.inputs(idx, s), true)
                    .get(0);
            gc.backward(Loss.softmaxCrossEntropyLoss().evaluate(new NDList(data.labels(idx, s)), new NDList(logits)));
            m.afterBackward();
        }
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(doubles = {0.004, 0.1, 0.5})
    void sddmmGradientEqualsTheDenseGradientGatheredAtTheIndices(double fraction) {
        // 0.4%: the streaming form of the kernel (nnz < 0.1 · (out + in) on the small layers); 10%, 50%: the blocked
        Synthetic data = Synthetic.make(12, 1);
        PeftModel sddmm = sara(
                base(),
                SaraConfig.builder()
                        .setTargetModules("all-linear")
                        .optFraction(fraction)
                        .optGradient(GradientMode.SDDMM));
        PeftModel dense = sara(
                base(),
                SaraConfig.builder()
                        .setTargetModules("all-linear")
                        .optFraction(fraction)
                        .optGradient(GradientMode.DENSE));
        SaraContractTest.perturbValues(sddmm, 5);
        SaraContractTest.perturbValues(dense, 5);
        backward(sddmm, data);
        backward(dense, data);
        int checked = 0;
        for (String path : sddmm.getTargetPaths(PeftModel.DEFAULT_ADAPTER)) {
            assertEquals(GradientMode.SDDMM, layer(sddmm, path).getGradientMode());
            assertEquals(GradientMode.DENSE, layer(dense, path).getGradientMode());
            float[] a = layer(sddmm, path).getValues().getArray().getGradient().toFloatArray();
            float[] b = layer(dense, path).getValues().getArray().getGradient().toFloatArray();
            double scale = 0;
            double diff = 0;
            for (int i = 0; i < a.length; i++) {
                scale = Math.max(scale, Math.abs(b[i]));
                diff = Math.max(diff, Math.abs(a[i] - b[i]));
            }
            assertTrue(scale > 0, path + ": zero gradient");
            assertTrue(
                    diff <= 1e-5 * Math.max(1, scale),
                    path + ": SDDMM vs dense-gathered differ by " + diff + " (scale " + scale + ")");
            checked++;
        }
        assertTrue(checked >= 12, "layers checked: " + checked);
    }

    @Test
    void trainingChangesOnlyTheSelectedEntriesOfW(@TempDir Path tmp) throws IOException {
        BertForSequenceClassification base = base();
        Map<String, float[]> before = new LinkedHashMap<>();
        PeftModel m = sara(
                base,
                SaraConfig.builder()
                        .setTargetModules("query", "value", "dense")
                        .optFraction(0.15)
                        .optGradient(GradientMode.SDDMM));
        Map<String, int[]> positions = new LinkedHashMap<>();
        for (String path : m.getTargetPaths(PeftModel.DEFAULT_ADAPTER)) {
            before.put(path, layer(m, path).getTarget().weight().getArray().toFloatArray());
            positions.put(path, layer(m, path).positions());
        }
        FineTuner.Result r = FineTuner.builder()
                .setModel(m)
                .setConfig(FineTuneConfig.builder()
                        .optLearningRate(1e-2)
                        .optBatchSize(16)
                        .optMaxSteps(20)
                        .optSeed(3)
                        .build())
                .optHooks(m)
                .build()
                .fit(Synthetic.make(64, 2), tmp, null);
        assertTrue(
                r.history().get(r.history().size() - 1).loss()
                        < r.history().get(0).loss(),
                "loss must fall");
        Map<String, ai.djl.nn.Parameter> weights = new LinkedHashMap<>();
        for (String path : before.keySet()) {
            weights.put(path, layer(m, path).getTarget().weight());
        }
        m.mergeAndUnload();
        for (Map.Entry<String, float[]> e : before.entrySet()) {
            float[] now = weights.get(e.getKey()).getArray().toFloatArray();
            Set<Integer> sel = new HashSet<>();
            for (int p : positions.get(e.getKey())) {
                sel.add(p);
            }
            int changed = 0;
            for (int i = 0; i < now.length; i++) {
                if (now[i] != e.getValue()[i]) {
                    assertTrue(sel.contains(i), e.getKey() + ": unselected entry " + i + " changed");
                    changed++;
                }
            }
            assertTrue(changed > 0, e.getKey() + ": nothing changed");
        }
    }

    @Test
    void nuclearNormGradientMatchesFiniteDifferences() {
        Block mlp = TestModels.mlp(manager, 2, ai.djl.ndarray.types.DataType.FLOAT32);
        PeftModel m = PeftModel.builder()
                .setBaseModel(mlp)
                .setConfig(SaraConfig.builder()
                        .setTargetModules("2")
                        .optFraction(0.5)
                        .optGradient(GradientMode.DENSE)
                        .build())
                .build();
        SaraLayer l = layer(m, "2");
        SaraContractTest.perturbValues(m, 9);
        // a gradient must exist before the term is added: one backward pass
        try (NDManager s = manager.newSubManager();
                GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray y = m.forward(
                            new ParameterStore(s, false),
                            new NDList(s.ones(new ai.djl.ndarray.types.Shape(2, 8))),
                            true)
                    .singletonOrThrow();
            gc.backward(y.sum().mul(0));
        }
        double lambda = 0.3;
        double nuclear = l.addNuclearNormGradient(lambda);
        float[] grad = l.getValues().getArray().getGradient().toFloatArray();
        int[] pos = l.positions();
        float[] values = l.getValues().getArray().toFloatArray();
        float[] w = l.getTarget().weight().getArray().toFloatArray();
        double h = 1e-3;
        double[] p = new double[16 * 16];
        for (int k = 0; k < pos.length; k++) {
            p[pos[k]] = values[k] - w[pos[k]];
        }
        assertEquals(nuclearNorm(p), nuclear, 1e-4);
        for (int k = 0; k < pos.length; k += 7) {
            double[] plus = p.clone();
            double[] minus = p.clone();
            plus[pos[k]] += h;
            minus[pos[k]] -= h;
            double fd = lambda * (nuclearNorm(plus) - nuclearNorm(minus)) / (2 * h);
            assertEquals(fd, grad[k], 2e-3, "entry " + k);
        }
    }

    static double nuclearNorm(double[] p) {
        LowRank.Svd svd = LowRank.svd(p, 16, 16, 16, 0, 1);
        double s = 0;
        for (double v : svd.s()) {
            s += v;
        }
        return s;
    }

    @Test
    void reselectionFreezesEntriesThatGrewPastTheThreshold() {
        PeftModel m = sara(
                base(),
                SaraConfig.builder()
                        .setTargetModules("query")
                        .optFraction(0.1)
                        .optGradient(GradientMode.SDDMM)
                        .optReselectStep(3)
                        .optLowRankLambda(0));
        String path = m.getTargetPaths(PeftModel.DEFAULT_ADAPTER).get(0);
        SaraLayer l = layer(m, path);
        float[] v = l.getValues().getArray().toFloatArray();
        v[0] = (float) (l.getSelectionThreshold() * 10); // grew out of the set
        v[1] = (float) (-l.getSelectionThreshold() * 3);
        l.setValues(v);
        SaraMethod method = new SaraMethod();
        Set<Integer> reset = new HashSet<>();
        OptimizerAccess access = (param, positions) -> {
            assertEquals(l.getValues(), param);
            for (int q : positions) {
                reset.add(q);
            }
        };
        method.afterStep(m.getConfig(PeftModel.DEFAULT_ADAPTER, SaraConfig.class), Map.of(path, l), 0, access);
        assertEquals(0, l.frozenEntries().length, "not yet");
        method.afterStep(m.getConfig(PeftModel.DEFAULT_ADAPTER, SaraConfig.class), Map.of(path, l), 2, access);
        assertEquals(Set.of(0, 1), reset);
        assertEquals(2, l.frozenEntries().length);
        // the frozen entries get no gradient and keep their value whatever an optimizer does
        backward(m, Synthetic.make(8, 4));
        float[] g = l.getValues().getArray().getGradient().toFloatArray();
        assertEquals(0f, g[0]);
        assertEquals(0f, g[1]);
        float[] moved = l.getValues().getArray().toFloatArray();
        moved[0] = 0;
        moved[1] = 0;
        l.setValues(moved);
        method.afterStep(m.getConfig(PeftModel.DEFAULT_ADAPTER, SaraConfig.class), Map.of(path, l), 3, access);
        float[] after = l.getValues().getArray().toFloatArray();
        assertEquals(v[0], after[0]);
        assertEquals(v[1], after[1]);
    }

    @Test
    void sddmmWithoutTheBackwardHookFailsClearly() {
        PeftModel m =
                sara(base(), SaraConfig.builder().setTargetModules("query").optGradient(GradientMode.SDDMM));
        Synthetic data = Synthetic.make(4, 1);
        int[] idx = {0, 1, 2, 3};
        try (NDManager s = manager.newSubManager();
                GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            gc.backward(m.forward(new ParameterStore(s, false), data.inputs(idx, s), true)
                    .get(0)
                    .sum());
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> {
            try (NDManager s = manager.newSubManager()) {
                m.forward(new ParameterStore(s, false), data.inputs(idx, s), true);
            }
        });
        assertTrue(e.getMessage().contains("PeftModel.afterBackward()"), e.getMessage());
    }

    @Test
    void badInputGetsClearErrors(@TempDir Path tmp) throws IOException {
        for (double f : new double[] {0, 1, -0.1, 1.5}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SaraConfig.builder()
                    .setTargetModules("query")
                    .optFraction(f)
                    .build());
            assertTrue(e.getMessage().contains("sara_fraction must be in (0, 1)"), e.getMessage());
        }
        IllegalArgumentException none = assertThrows(
                IllegalArgumentException.class,
                () -> sara(
                        base(), SaraConfig.builder().setTargetModules("query").optThreshold(1e-12)));
        assertTrue(
                none.getMessage().contains("selects nothing")
                        && none.getMessage().contains("smallest |w|"),
                none.getMessage());

        PeftModel m =
                sara(base(), SaraConfig.builder().setTargetModules("query").optFraction(0.1));
        Path dir = tmp.resolve("a");
        m.saveAdapters(dir);
        Path file = dir.resolve("adapter_model.safetensors");
        Map<String, NDArray> tensors;
        try (NDManager s = manager.newSubManager()) {
            tensors = new LinkedHashMap<>(Safetensors.read(file, s).tensors());
            String key = tensors.keySet().stream()
                    .filter(k -> k.endsWith("sara_indices"))
                    .findFirst()
                    .orElseThrow();
            int[] bad = tensors.get(key).toIntArray();
            bad[bad.length - 1] = 32 * 32 + 5;
            tensors.put(key, s.create(bad));
            Safetensors.write(file, tensors, Map.of("format", "pt"));
        }
        PeftModel fresh = PeftModel.builder().setBaseModel(base()).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> fresh.loadAdapter(dir, "x"));
        assertTrue(e.getMessage().contains("outside the weight [32, 32]"), e.getMessage());
        assertTrue(fresh.getAdapterNames().isEmpty(), "a failed load leaves no adapter behind");
    }
}
