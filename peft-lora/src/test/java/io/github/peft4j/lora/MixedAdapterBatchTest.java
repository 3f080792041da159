package io.github.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.peft4j.core.ModuleTree;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.nn.AdapterWrapper;
import io.github.peft4j.core.testing.ManagedTest;
import io.github.peft4j.models.bert.BertForSequenceClassification;
import io.github.peft4j.testing.TinyBert;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mixed-adapter batches (Python PEFT's {@code adapter_names=}): each row of one pass equals that row run alone with its
 * adapter active, including the heads saved whole; hot swap leaves the base weights alone.
 */
class MixedAdapterBatchTest extends ManagedTest {

    private static final int ROWS = 7;
    private static final int SEQ = 6;

    /** LoRA on query/value with its own head and pooler; DoRA on query/key/dense with its own head; LoRA on value. */
    private static PeftModel threeAdapters() {
        BertForSequenceClassification model = TinyBert.classifier(manager);
        PeftModel peft = PeftModel.builder()
                .setBaseModel(model)
                .setConfig(LoraConfig.builder()
                        .setTargetModules("query", "value")
                        .optRank(4)
                        .optAlpha(8)
                        .optModulesToSave("classifier", "pooler")
                        .build())
                .build();
        peft.addAdapter(
                "dora",
                LoraConfig.builder()
                        .setTargetModules("query", "key", "dense")
                        .optRank(2)
                        .optAlpha(4)
                        .optUseDora(true)
                        .optModulesToSave("classifier")
                        .build());
        peft.addAdapter(
                "v",
                LoraConfig.builder()
                        .setTargetModules("value")
                        .optRank(3)
                        .optAlpha(3)
                        .build());
        long seed = 10;
        for (String name : peft.getAdapterNames()) {
            randomize(peft.getAdapterTensors(name), seed++);
        }
        return peft;
    }

    /** Every adapter tensor (B included, so no adapter is a no-op) gets seeded values; DoRA magnitudes stay near 1. */
    private static void randomize(Map<String, NDArray> tensors, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        tensors.forEach((k, a) -> {
            float[] v = new float[Math.toIntExact(a.size())];
            for (int i = 0; i < v.length; i++) {
                double u = r.nextDouble() * 2 - 1;
                v[i] = (float) (k.contains("magnitude") ? 1 + 0.3 * u : 0.3 * u);
            }
            try (NDArray src = manager.create(v, a.getShape())) {
                ParameterValues.copyInto(a, src);
            }
        });
    }

    private static NDList batch(NDManager m) {
        SplittableRandom r = new SplittableRandom(5);
        long[] ids = new long[ROWS * SEQ];
        float[] mask = new float[ROWS * SEQ];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(50);
            mask[i] = i % SEQ < SEQ - (i / SEQ) % 3 ? 1 : 0; // rows padded by 0, 1 or 2 tokens
        }
        Shape s = new Shape(ROWS, SEQ);
        return new NDList(m.create(ids, s), m.create(mask, s), m.zeros(s, ai.djl.ndarray.types.DataType.INT64));
    }

    private static NDList row(NDList b, int i) {
        NDList out = new NDList();
        for (NDArray a : b) {
            out.add(a.get(new NDIndex("{}:{}", i, i + 1)));
        }
        return out;
    }

    /** Row i alone, with its adapter active (or the adapters disabled for the base). */
    private static float[] alone(PeftModel peft, NDList b, int i, String name, NDManager m) {
        if (name.equals(PeftModel.BASE_ROWS)) {
            peft.disableAdapters();
        } else {
            peft.enableAdapters();
            peft.setActiveAdapter(name);
        }
        float[] out = peft.forward(new ParameterStore(m, false), row(b, i), false)
                .singletonOrThrow()
                .toFloatArray();
        peft.enableAdapters();
        return out;
    }

    private static void assertRowsAlone(PeftModel peft, List<String> names) {
        try (NDManager m = manager.newSubManager()) {
            NDList b = batch(m);
            NDArray mixed = peft.forward(new ParameterStore(m, false), b, names).singletonOrThrow();
            assertEquals(new Shape(ROWS, 2), mixed.getShape());
            for (int i = 0; i < ROWS; i++) {
                float[] expected = alone(peft, b, i, names.get(i), m);
                float[] got = mixed.get(i).toFloatArray();
                for (int j = 0; j < expected.length; j++) {
                    assertEquals(expected[j], got[j], 1e-5, "row " + i + " (" + names.get(i) + "), logit " + j);
                }
            }
        }
    }

    @Test
    void eachRowEqualsTheRowAloneWithItsAdapter() {
        PeftModel peft = threeAdapters();
        assertRowsAlone(
                peft, List.of("default", PeftModel.BASE_ROWS, "dora", "v", "default", "dora", PeftModel.BASE_ROWS));
        // one group, and a group whose adapter does not save the head (v uses the base classifier)
        assertRowsAlone(peft, List.of("v", "v", "v", "v", "v", "v", "v"));
        assertRowsAlone(peft, List.of("dora", "default", "default", "default", "v", "v", "dora"));
    }

    @Test
    void theRowsDifferBetweenAdapters() {
        // guards the test above: were the adapters no-ops or the heads shared, "alone" would match anything
        PeftModel peft = threeAdapters();
        try (NDManager m = manager.newSubManager()) {
            NDList b = batch(m);
            float[][] out = new float[4][];
            List<String> names = List.of(PeftModel.BASE_ROWS, "default", "dora", "v");
            for (int k = 0; k < names.size(); k++) {
                out[k] = alone(peft, b, 0, names.get(k), m);
            }
            for (int p = 0; p < 4; p++) {
                for (int q = p + 1; q < 4; q++) {
                    float d = Math.abs(out[p][0] - out[q][0]) + Math.abs(out[p][1] - out[q][1]);
                    assertTrue(d > 1e-3, names.get(p) + " and " + names.get(q) + " give the same logits");
                }
            }
        }
    }

    @Test
    void theForwardParameterIsTheSameRoute() {
        PeftModel peft = threeAdapters();
        List<String> names = List.of("dora", "v", PeftModel.BASE_ROWS, "default", "v", "dora", "default");
        try (NDManager m = manager.newSubManager()) {
            NDList b = batch(m);
            float[] viaMethod = peft.forward(new ParameterStore(m, false), b, names)
                    .singletonOrThrow()
                    .toFloatArray();
            float[] viaParams = peft.forward(
                            new ParameterStore(m, false),
                            b,
                            false,
                            new PairList<>(List.of(PeftModel.ADAPTER_NAMES), List.of(names)))
                    .singletonOrThrow()
                    .toFloatArray();
            assertEquals(viaMethod.length, viaParams.length);
            for (int i = 0; i < viaMethod.length; i++) {
                assertEquals(viaMethod[i], viaParams[i], 0f);
            }
            // after the pass the model computes with the active adapter again (the groups are per pass)
            float[] after = peft.forward(new ParameterStore(m, false), b, false)
                    .singletonOrThrow()
                    .toFloatArray();
            float[] active = peft.forward(new ParameterStore(m, false), b, Java.repeat("default", ROWS))
                    .singletonOrThrow()
                    .toFloatArray();
            for (int i = 0; i < after.length; i++) {
                assertEquals(active[i], after[i], 1e-5);
            }
        }
    }

    @Test
    void hotSwapLoadsAndDeletesWithoutTouchingTheBase(@TempDir Path dir) throws IOException {
        PeftModel peft = threeAdapters();
        peft.saveAdapter("dora", dir.resolve("dora"));
        float[] baseWeights = ModuleTree.byPath(peft.getBaseModel())
                .get("bert.encoder.layer.0.attention.self.query")
                .block()
                .getParameters()
                .get("weight")
                .getArray()
                .toFloatArray();
        List<String> names = List.of("dora", "v", PeftModel.BASE_ROWS, "default", "v", "dora", "default");
        float[] before;
        try (NDManager m = manager.newSubManager()) {
            before = peft.forward(new ParameterStore(m, false), batch(m), names)
                    .singletonOrThrow()
                    .toFloatArray();
        }
        peft.deleteAdapter("dora");
        assertFalse(peft.getAdapterNames().contains("dora"));
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> {
            try (NDManager m = manager.newSubManager()) {
                peft.forward(new ParameterStore(m, false), batch(m), names);
            }
        });
        assertTrue(
                unknown.getMessage().contains("'dora'") && unknown.getMessage().contains("not loaded"),
                unknown.getMessage());
        peft.loadAdapter(dir.resolve("dora"), "dora");
        try (NDManager m = manager.newSubManager()) {
            float[] after = peft.forward(new ParameterStore(m, false), batch(m), names)
                    .singletonOrThrow()
                    .toFloatArray();
            for (int i = 0; i < before.length; i++) {
                assertEquals(before[i], after[i], 1e-6);
            }
        }
        float[] weightsAfter = ModuleTree.byPath(peft.getBaseModel())
                .get("bert.encoder.layer.0.attention.self.query")
                .block()
                .getParameters()
                .get("weight")
                .getArray()
                .toFloatArray();
        for (int i = 0; i < baseWeights.length; i++) {
            assertEquals(baseWeights[i], weightsAfter[i], 0f);
        }
    }

    @Test
    void servingThreadsSeeWholeAdaptersWhileOneIsSwapped(@TempDir Path dir) throws Exception {
        PeftModel peft = threeAdapters();
        peft.saveAdapter("v", dir.resolve("v"));
        List<String> names = List.of("dora", "v", PeftModel.BASE_ROWS, "default", "v", "dora", "default");
        float[] expected;
        try (NDManager m = manager.newSubManager()) {
            expected = peft.forward(new ParameterStore(m, false), batch(m), names)
                    .singletonOrThrow()
                    .toFloatArray();
        }
        java.util.concurrent.atomic.AtomicInteger served = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger refused = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.List<Throwable> failures = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        Runnable serve = () -> {
            while (!stop.get()) {
                try (NDManager m = manager.newSubManager()) {
                    float[] got = peft.forward(new ParameterStore(m, false), batch(m), names)
                            .singletonOrThrow()
                            .toFloatArray();
                    for (int i = 0; i < got.length; i++) {
                        if (Math.abs(got[i] - expected[i]) > 1e-6) {
                            throw new AssertionError("logit " + i + ": " + got[i] + " while swapping, " + expected[i]);
                        }
                    }
                    served.incrementAndGet();
                } catch (IllegalArgumentException e) {
                    if (!e.getMessage().contains("'v', which is not loaded")) {
                        failures.add(e);
                    }
                    refused.incrementAndGet(); // a pass that started while v was deleted
                } catch (Throwable t) {
                    failures.add(t);
                }
            }
        };
        Thread a = new Thread(serve);
        Thread b = new Thread(serve);
        a.start();
        b.start();
        for (int k = 0; k < 8; k++) {
            peft.deleteAdapter("v");
            peft.loadAdapter(dir.resolve("v"), "v");
        }
        Thread.sleep(50);
        stop.set(true);
        a.join();
        b.join();
        assertTrue(failures.isEmpty(), "serving failed while swapping: " + failures);
        assertTrue(served.get() > 0, "some passes were served (" + refused.get() + " refused)");
    }

    @Test
    void unloadRemovesTheHeadWrappers() {
        PeftModel peft = threeAdapters();
        Block base = peft.unload();
        for (ModuleTree.Node n : ModuleTree.walk(base)) {
            for (var c : n.block().getChildren()) {
                assertFalse(c.getValue() instanceof AdapterWrapper, "wrapper left at " + n.path());
            }
        }
    }

    @Test
    void badNamesAreRefusedWithTheReason() {
        PeftModel peft = threeAdapters();
        try (NDManager m = manager.newSubManager()) {
            NDList b = batch(m);
            IllegalArgumentException count = assertThrows(
                    IllegalArgumentException.class,
                    () -> peft.forward(new ParameterStore(m, false), b, List.of("v", "v")));
            assertTrue(count.getMessage().contains("2 name(s) for a batch of 7"), count.getMessage());
            IllegalArgumentException training = assertThrows(
                    IllegalArgumentException.class,
                    () -> peft.forward(
                            new ParameterStore(m, false),
                            b,
                            true,
                            new PairList<>(List.of(PeftModel.ADAPTER_NAMES), List.of(Java.repeat("v", ROWS)))));
            assertTrue(training.getMessage().contains("inference"), training.getMessage());
            peft.merge();
            IllegalStateException merged = assertThrows(
                    IllegalStateException.class,
                    () -> peft.forward(new ParameterStore(m, false), b, Java.repeat("v", ROWS)));
            assertTrue(merged.getMessage().contains("unmerge()"), merged.getMessage());
            peft.unmerge();
        }
    }

    /** Small helpers the JDK lacks. */
    private static final class Java {
        static List<String> repeat(String s, int n) {
            return java.util.Collections.nCopies(n, s);
        }
    }
}
