package io.github.peft4j.recipes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.testing.ManagedTest;
import io.github.peft4j.lora.LoraConfig;
import io.github.peft4j.testing.Synthetic;
import io.github.peft4j.testing.TinyBert;
import io.github.peft4j.train.FineTuneConfig;
import io.github.peft4j.train.FineTuner;
import io.github.peft4j.train.ParameterNames;
import io.github.peft4j.train.Schedule;
import io.github.peft4j.train.TrainingRecipe;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The recipes in {@link FineTuner} on the tiny BERT (2 layers): each one's effect on which parameters move and by how
 * much. AdamW's first update moves every entry with a non-zero gradient by exactly lr · scale (m̂ / √v̂ = ±1), so
 * learning-rate scales are read off one step.
 */
class RecipesTest extends ManagedTest {

    private static final double LR = 1e-3;

    @TempDir
    Path tmp;

    private static Block full() {
        Block m = TinyBert.classifier(manager);
        m.getParameters().values().forEach(p -> p.freeze(false));
        return m;
    }

    private static PeftModel lora() {
        return PeftModel.builder()
                .setBaseModel(TinyBert.classifier(manager))
                .setConfig(LoraConfig.builder()
                        .setTargetModules("query", "value")
                        .optRank(4)
                        .optModulesToSave("classifier")
                        .build())
                .build();
    }

    /** Parameter name to values. */
    private static Map<String, float[]> values(Block m) {
        ParameterNames names = ParameterNames.of(m);
        Map<String, float[]> out = new LinkedHashMap<>();
        // a PeftModel's frozen originals of the saved modules share the copies' names: only what trains
        m.getParameters().forEach(p -> {
            if (p.getValue().requiresGradient()) {
                out.put(names.name(p.getValue()), p.getValue().getArray().toFloatArray());
            }
        });
        return out;
    }

    private static double maxMove(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d;
    }

    private FineTuner.Result run(Block m, long steps, Path out, Path resume, long stopAfter, TrainingRecipe... rs)
            throws IOException {
        FineTuner.Builder b = FineTuner.builder()
                .setModel(m)
                .setConfig(FineTuneConfig.builder()
                        .optLearningRate(LR)
                        .optWarmupRatio(0)
                        .optSchedule(Schedule.CONSTANT)
                        .optWeightDecay(0)
                        .optAdam(0.9, 0.999, 1e-14) // tiny gradients of a random model: ε must not matter
                        .optBatchSize(8)
                        .optMaxSteps(steps)
                        .optCheckpointEvery(1)
                        .optSeed(3)
                        .build())
                .optStopAfterStep(stopAfter);
        if (m instanceof PeftModel p) {
            b.optHooks(p);
        }
        for (TrainingRecipe r : rs) {
            b.addRecipe(r);
        }
        return b.build().fit(Synthetic.make(32, 4), out, resume);
    }

    private Map<String, Double> moves(Block m, long steps, TrainingRecipe... rs) throws IOException {
        Map<String, float[]> before = values(m);
        run(m, steps, tmp.resolve("run" + System.nanoTime()), null, Long.MAX_VALUE, rs);
        Map<String, float[]> after = values(m);
        Map<String, Double> out = new LinkedHashMap<>();
        before.forEach((k, v) -> out.put(k, maxMove(v, after.get(k))));
        return out;
    }

    @Test
    void layerwiseDecayScalesEachLayersStep() throws IOException {
        Map<String, Double> d = moves(full(), 1, new LayerwiseLrDecay(0.5));
        // 2 layers: layer 1 at lr, layer 0 at lr/2, embeddings at lr/4, the head at lr
        assertEquals(LR, d.get("bert.encoder.layer.1.attention.self.query.weight"), LR * 1e-3);
        assertEquals(LR / 2, d.get("bert.encoder.layer.0.attention.self.query.weight"), LR * 1e-3);
        assertEquals(LR / 4, d.get("bert.embeddings.word_embeddings.weight"), LR * 1e-3);
        assertEquals(LR, d.get("classifier.weight"), LR * 1e-3);
    }

    @Test
    void freezingTheBottomLayerLeavesItAndTheEmbeddingsUntouched() throws IOException {
        Map<String, Double> d = moves(full(), 2, new FreezeBottomLayers(1));
        d.forEach((k, v) -> {
            boolean frozen = k.startsWith("bert.embeddings.") || k.contains(".layer.0.");
            assertEquals(frozen, v == 0, k + " moved " + v);
        });
        assertThrows(IllegalArgumentException.class, () -> moves(full(), 1, new FreezeBottomLayers(2)));
    }

    @Test
    void reinitialisingTheTopLayerDrawsFreshWeightsAndRefusesFrozenOnes() throws IOException {
        Block m = full();
        Map<String, float[]> before = values(m);
        ParameterNames names = ParameterNames.of(m);
        Map<String, Parameter> trainable = new LinkedHashMap<>();
        m.getParameters().forEach(p -> trainable.put(p.getKey(), p.getValue()));
        new ReinitTopLayers(1, 0.02, 7).prepare(m, trainable, false);
        Map<String, float[]> after = values(m);
        float[] w = after.get("bert.encoder.layer.1.intermediate.dense.weight");
        double sq = 0;
        for (float v : w) {
            sq += v * v;
        }
        assertEquals(0.02, Math.sqrt(sq / w.length), 0.002, "std of the new weights");
        for (float v : after.get("bert.encoder.layer.1.output.dense.bias")) {
            assertEquals(0f, v);
        }
        for (float v : after.get("bert.encoder.layer.1.output.LayerNorm.weight")) {
            assertEquals(1f, v);
        }
        assertTrue(maxMove(before.get("bert.pooler.dense.weight"), after.get("bert.pooler.dense.weight")) > 0);
        assertArrayEquals(
                before.get("bert.encoder.layer.0.output.dense.weight"),
                after.get("bert.encoder.layer.0.output.dense.weight"));
        assertEquals(
                -1,
                ParameterNames.layerOf(names.name(trainable.values().iterator().next())));

        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> moves(lora(), 1, new ReinitTopLayers(1, 0.02, 7)));
        assertTrue(e.getMessage().contains("full fine-tuning"), e.getMessage());
    }

    @Test
    void lisaTrainsTheDrawnLayerAloneInEachPeriod() throws IOException {
        Lisa lisa = new Lisa(1, 2, 5);
        Block m = full();
        Map<String, Double> d = moves(m, 2, lisa); // one period
        int drawn = lisa.draw(0).iterator().next();
        d.forEach((k, v) -> {
            int l = ParameterNames.layerOf(k);
            if (l >= 0) {
                assertEquals(l == drawn, v > 0, k + " moved " + v);
            } else {
                assertTrue(v > 0, k + " (outside the layers) always trains");
            }
        });
        // the model leaves training with every parameter trainable again
        m.getParameters().values().forEach(p -> assertTrue(p.requiresGradient(), p.getName()));
        // draws depend on the seed and the period only
        assertEquals(Lisa.draw(5, 3, 2, 1), Lisa.draw(5, 3, 2, 1));
        assertEquals(lisa.draw(0), Lisa.draw(5, 0, 2, 1));
    }

    @Test
    void linearProbeTrainsTheHeadAloneFirst() throws IOException {
        Map<String, Double> probe = moves(full(), 2, new LinearProbeThenFineTune(5, List.of("classifier")));
        probe.forEach((k, v) -> assertEquals(k.startsWith("classifier."), v > 0, k + " moved " + v));
        Map<String, Double> after = moves(full(), 2, new LinearProbeThenFineTune(1, List.of("classifier")));
        assertTrue(after.get("bert.encoder.layer.0.attention.self.query.weight") > 0);
        // with LoRA, the head comes from modules_to_save
        Map<String, Double> peft = moves(lora(), 1, new LinearProbeThenFineTune(5, List.of("classifier")));
        assertTrue(peft.get("classifier.weight") > 0);
        assertEquals(0.0, peft.get("bert.encoder.layer.0.attention.self.query.lora_A.weight"));
    }

    @Test
    void loraPlusTrainsBAtRatioTimesTheRate() throws IOException {
        Map<String, Double> d = moves(lora(), 1, new LoraPlus(16));
        // at step 0, B = 0 so A's gradient is 0: only B (at 16 · lr) and the head (at lr) move
        assertEquals(16 * LR, d.get("bert.encoder.layer.0.attention.self.query.lora_B.weight"), LR * 1e-2);
        assertEquals(0.0, d.get("bert.encoder.layer.0.attention.self.query.lora_A.weight"));
        assertEquals(LR, d.get("classifier.weight"), LR * 1e-3);
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> moves(full(), 1, new LoraPlus(16)));
        assertTrue(e.getMessage().contains("lora_B"), e.getMessage());
    }

    @Test
    void aRunWithRecipesResumesExactlyAndRefusesOtherRecipes() throws IOException {
        Block whole = full();
        run(whole, 6, tmp.resolve("whole"), null, Long.MAX_VALUE, new Lisa(1, 2, 9), new LayerwiseLrDecay(0.8));
        Block first = full();
        Path out = tmp.resolve("split");
        run(first, 6, out, null, 3, new Lisa(1, 2, 9), new LayerwiseLrDecay(0.8));
        Block resumed = full();
        run(
                resumed,
                6,
                out,
                out.resolve(FineTuner.CHECKPOINT),
                Long.MAX_VALUE,
                new Lisa(1, 2, 9),
                new LayerwiseLrDecay(0.8));
        Map<String, float[]> a = values(whole);
        Map<String, float[]> b = values(resumed);
        a.forEach((k, v) -> assertArrayEquals(v, b.get(k), 0f, k));

        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> run(
                        full(),
                        6,
                        tmp.resolve("other"),
                        out.resolve(FineTuner.CHECKPOINT),
                        Long.MAX_VALUE,
                        new Lisa(2, 2, 9)));
        assertTrue(e.getMessage().contains("resume with the same recipe options"), e.getMessage());
    }

    @Test
    void loraProReplacesTheGradientsOfEveryPair() throws IOException {
        PeftModel m = lora();
        // a few plain steps so that B is not zero
        run(m, 3, tmp.resolve("warm"), null, Long.MAX_VALUE);
        LoraPro pro = new LoraPro();
        Map<String, Parameter> trainable = new LinkedHashMap<>();
        m.getParameters().forEach(p -> {
            if (p.getValue().requiresGradient()) {
                trainable.put(p.getKey(), p.getValue());
            }
        });
        pro.prepare(m, trainable, false);
        // one backward pass, then the recipe against LoraProGradients on the same arrays
        Synthetic data = Synthetic.make(8, 2);
        try (ai.djl.ndarray.NDManager s = manager.newSubManager();
                ai.djl.training.GradientCollector gc =
                        ai.djl.engine.Engine.getInstance().newGradientCollector()) {
            ai.djl.ndarray.NDArray out = m.forward(
                            new ai.djl.training.ParameterStore(s, false),
                            data.inputs(new int[] {0, 1, 2, 3, 4, 5, 6, 7}, s),
                            true)
                    .get(0);
            gc.backward(ai.djl.training.loss.Loss.softmaxCrossEntropyLoss()
                    .evaluate(
                            new ai.djl.ndarray.NDList(data.labels(new int[] {0, 1, 2, 3, 4, 5, 6, 7}, s)),
                            new ai.djl.ndarray.NDList(out)));
        }
        io.github.peft4j.lora.LoraLayer l = m.getLayerAdapters(
                        PeftModel.DEFAULT_ADAPTER, io.github.peft4j.lora.LoraLayer.class)
                .get("bert.encoder.layer.1.attention.self.value");
        float[] a = l.getLoraA().getArray().toFloatArray();
        float[] b = l.getLoraB().getArray().toFloatArray();
        float[] ga = l.getLoraA().getArray().getGradient().toFloatArray();
        float[] gb = l.getLoraB().getArray().getGradient().toFloatArray();
        double[][] want = LoraProGradients.adjust(d(a), d(b), d(ga), d(gb), 4, 32, 32, l.getScaling());
        pro.adjustGradients(0, trainable);
        float[] ga2 = l.getLoraA().getArray().getGradient().toFloatArray();
        float[] gb2 = l.getLoraB().getArray().getGradient().toFloatArray();
        for (int i = 0; i < ga2.length; i++) {
            assertEquals(want[0][i], ga2[i], 1e-5 * Math.max(1, Math.abs(want[0][i])));
        }
        for (int i = 0; i < gb2.length; i++) {
            assertEquals(want[1][i], gb2[i], 1e-5 * Math.max(1, Math.abs(want[1][i])));
        }
        assertTrue(maxMove(ga, ga2) > 1e-6, "the gradients changed");
        // and a run with it trains
        Map<String, Double> d = moves(lora(), 2, new LoraPro());
        assertTrue(d.get("bert.encoder.layer.0.attention.self.query.lora_B.weight") > 0);
        assertThrows(IllegalArgumentException.class, () -> moves(full(), 1, new LoraPro()));
        Set.of();
    }

    private static double[] d(float[] f) {
        double[] out = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = f[i];
        }
        return out;
    }
}
