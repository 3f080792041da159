package io.github.peft4j.methods.poly;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.Scalars;
import io.github.peft4j.core.io.Safetensors;
import io.github.peft4j.models.decoder.Decoders;
import io.github.peft4j.testing.TinyDecoders;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interop with Python PEFT's Poly (MHR: 3 tasks, 4 skills, 2 splits, r 4 on q_proj, v_proj and down_proj of the tiny
 * Llama; {@code golden/make_poly_golden.py}): with one task id per row, Python's adapter gives Python's logits in eval
 * and training passes and Python's gradients of every Poly tensor, and is saved back as Python wrote it.
 */
class PolyGoldenTest {

    @TempDir
    Path tmp;

    private NDManager m;
    private PeftModel peft;
    private Map<String, NDArray> want;
    private Path golden;

    @BeforeEach
    void load() throws IOException, URISyntaxException {
        golden = Path.of(PolyGoldenTest.class.getResource("/golden/poly/llama").toURI());
        m = NDManager.newBaseManager();
        want = Safetensors.read(golden.resolve("expected_logits.safetensors"), m)
                .tensors();
        Path dir = TinyDecoders.copy("llama", tmp);
        peft = PeftModel.builder()
                .setBaseModel(Decoders.load(dir.resolve("base"), m))
                .build();
        peft.loadAdapter(golden, PeftModel.DEFAULT_ADAPTER);
    }

    @AfterEach
    void close() {
        m.close();
    }

    private NDList inputs(NDManager s) {
        return new NDList(
                        want.get("input_ids").toType(DataType.INT64, false),
                        want.get("attention_mask").toType(DataType.INT64, false))
                .stream()
                        .map(a -> {
                            NDArray c = a.duplicate();
                            c.attach(s);
                            return c;
                        })
                        .collect(NDList::new, NDList::add, NDList::addAll);
    }

    private static PairList<String, Object> tasks(Object ids) {
        return new PairList<>(List.of(PeftModel.TASK_IDS), List.of(ids));
    }

    private NDArray logits(NDManager s, Object ids, boolean training) {
        return peft.forward(new ParameterStore(s, false), inputs(s), training, tasks(ids))
                .singletonOrThrow();
    }

    private long[][] mask() {
        long[] flat = want.get("attention_mask").toType(DataType.INT64, false).toLongArray();
        int n = Math.toIntExact(want.get("attention_mask").getShape().get(0));
        int t = flat.length / n;
        long[][] out = new long[n][t];
        for (int i = 0; i < n; i++) {
            System.arraycopy(flat, i * t, out[i], 0, t);
        }
        return out;
    }

    @Test
    void pythonsPolyGivesPythonsLogitsPerTaskAndSavesBackTheSame() throws IOException {
        try (NDManager s = m.newSubManager()) {
            NDArray ids = want.get("task_ids");
            double d = TinyDecoders.maxDiffOnTokens(
                    logits(s, ids, false).toFloatArray(), want.get("adapted").toFloatArray(), mask(), 512);
            assertTrue(d <= 1e-4, "max |Δlogit| " + d);
            // an int[] works the same; another routing gives other logits
            double same = TinyDecoders.maxDiffOnTokens(
                    logits(s, new int[] {2, 0, 1}, false).toFloatArray(),
                    want.get("adapted").toFloatArray(),
                    mask(),
                    512);
            assertTrue(same <= 1e-4, "int[] task ids: " + same);
            double other = TinyDecoders.maxDiffOnTokens(
                    logits(s, new int[] {0, 1, 2}, false).toFloatArray(),
                    want.get("adapted").toFloatArray(),
                    mask(),
                    512);
            assertTrue(other > 1e-3, "the task routes the row: " + other);
        }
        Path saved = tmp.resolve("saved");
        peft.saveAdapters(saved);
        Map<String, NDArray> python =
                Safetensors.read(golden.resolve("adapter_model.safetensors"), m).tensors();
        Map<String, NDArray> ours =
                Safetensors.read(saved.resolve("adapter_model.safetensors"), m).tensors();
        assertEquals(python.keySet(), ours.keySet());
        assertEquals(18, ours.size());
        python.forEach((k, v) -> {
            assertEquals(v.getShape(), ours.get(k).getShape(), k);
            assertArrayEquals(v.toFloatArray(), ours.get(k).toFloatArray(), 0f, k);
        });
    }

    /**
     * Python's training pass: the routers' relaxed-Bernoulli noise comes from the engine's generator, which is
     * libtorch's, so after the same seed peft4j draws Python's noise; then the logits and the gradients of every Poly
     * tensor are Python's. (An eval pass would not do: the decoder's attention runs without autograd outside
     * training.)
     */
    @Test
    void aSeededTrainingPassGivesPythonsLogitsAndGradients() {
        Map<String, PolyLayer> layers = peft.getLayerAdapters(PeftModel.DEFAULT_ADAPTER, PolyLayer.class);
        assertEquals(6, layers.size());
        try (NDManager s = m.newSubManager();
                GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            // Python's training pass after torch.manual_seed(1234): the same generator draws the same router noise
            Engine.getInstance().setRandomSeed(1234);
            NDArray logits = logits(s, want.get("task_ids"), true);
            double d = TinyDecoders.maxDiffOnTokens(
                    logits.toFloatArray(), want.get("train_logits").toFloatArray(), mask(), 512);
            assertTrue(d <= 1e-4, "training pass: max |Δlogit| " + d);
            double noise = TinyDecoders.maxDiffOnTokens(
                    logits.toFloatArray(), want.get("adapted").toFloatArray(), mask(), 512);
            assertTrue(noise > 1e-3, "the training pass samples the routers: " + noise);
            // sum(mask · logits²) / (sum(mask) · vocab)
            NDArray mask =
                    want.get("attention_mask").toType(DataType.FLOAT32, false).expandDims(-1);
            mask.attach(s);
            NDArray loss = Scalars.div(
                    logits.square().mul(mask).sum().div(mask.sum()),
                    logits.getShape().get(2));
            gc.backward(loss);
            int checked = 0;
            for (Map.Entry<String, PolyLayer> e : layers.entrySet()) {
                for (Map.Entry<String, Parameter> p : e.getValue().parameters().entrySet()) {
                    String key = "grad/base_model.model." + e.getKey() + "." + p.getKey();
                    float[] py = want.get(key).toFloatArray();
                    float[] ours = p.getValue().getArray().getGradient().toFloatArray();
                    double scale = 0;
                    for (float v : py) {
                        scale = Math.max(scale, Math.abs(v));
                    }
                    assertTrue(scale > 0, key + " has a gradient in Python");

                    for (int i = 0; i < py.length; i++) {
                        assertEquals(py[i], ours[i], 1e-4 * scale, key + "[" + i + "]");
                    }
                    checked++;
                }
            }
            assertEquals(18, checked);
        }
    }

    @Test
    void trainingSamplesTheRouterButSaturatedLogitsMixAsInEval() {
        // logits of ±40 saturate the relaxed-Bernoulli sample (its noise stays within ±16): training mixes as eval
        for (PolyLayer l : peft.getLayerAdapters(PeftModel.DEFAULT_ADAPTER, PolyLayer.class)
                .values()) {
            NDArray r = l.parameters().get("poly_router.module_logits").getArray();
            float[] v = new float[Math.toIntExact(r.size())];
            for (int i = 0; i < v.length; i++) {
                v[i] = i % 3 == 0 ? 40f : -40f;
            }
            try (NDArray nv = ParameterValues.create(m, v, r.getShape(), r)) {
                ParameterValues.copyInto(r, nv);
            }
        }
        try (NDManager s = m.newSubManager()) {
            int[] ids = {2, 0, 1};
            float[] eval = logits(s, ids, false).toFloatArray();
            Engine.getInstance().setRandomSeed(7);
            float[] train = logits(s, ids, true).toFloatArray();
            double d = TinyDecoders.maxDiffOnTokens(train, eval, mask(), 512);
            assertTrue(d <= 1e-5, "saturated router, training vs eval: " + d);
        }
    }

    @Test
    void trainingDrawsDependOnTheEngineSeedOnly() {
        try (NDManager s = m.newSubManager()) {
            int[] ids = {2, 0, 1};
            Engine.getInstance().setRandomSeed(3);
            float[] a = logits(s, ids, true).toFloatArray();
            Engine.getInstance().setRandomSeed(3);
            float[] b = logits(s, ids, true).toFloatArray();
            Engine.getInstance().setRandomSeed(4);
            float[] c = logits(s, ids, true).toFloatArray();
            assertArrayEquals(a, b, 0f);
            assertTrue(TinyDecoders.maxDiffOnTokens(a, c, mask(), 512) > 1e-4, "another seed, other noise");
            float[] eval = logits(s, ids, false).toFloatArray();
            assertTrue(TinyDecoders.maxDiffOnTokens(a, eval, mask(), 512) > 1e-4, "training samples the router");
        }
    }

    @Test
    void missingWrongOrOutOfRangeTaskIdsFailWithAMessage() {
        try (NDManager s = m.newSubManager()) {
            IllegalArgumentException none = assertThrows(
                    IllegalArgumentException.class, () -> peft.forward(new ParameterStore(s, false), inputs(s), false));
            assertTrue(
                    none.getMessage().contains("n_tasks=3") && none.getMessage().contains("task_ids"),
                    none.getMessage());
            IllegalArgumentException count =
                    assertThrows(IllegalArgumentException.class, () -> logits(s, new int[] {0, 1}, false));
            assertTrue(count.getMessage().contains("2 task id(s) for the 3 row(s)"), count.getMessage());
            IllegalArgumentException range =
                    assertThrows(IllegalArgumentException.class, () -> logits(s, new int[] {0, 3, 1}, false));
            assertTrue(range.getMessage().contains("task id 3 is out of range"), range.getMessage());
            IllegalArgumentException type =
                    assertThrows(IllegalArgumentException.class, () -> logits(s, List.of(0, 1, 2), false));
            assertTrue(range.getMessage().contains("n_tasks=3"), range.getMessage());
            assertTrue(type.getMessage().contains("integer NDArray or int[]"), type.getMessage());
        }
        IllegalStateException merge = assertThrows(IllegalStateException.class, peft::merge);
        assertTrue(merge.getMessage().toLowerCase(java.util.Locale.ROOT).contains("merge"), merge.getMessage());
    }
}
