package io.github.peft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.testing.TestModels;
import io.github.peft4j.lora.LoraConfig;
import io.github.peft4j.models.bert.BertConfig;
import io.github.peft4j.models.bert.BertForSequenceClassification;
import io.github.peft4j.core.testing.ManagedTest;
import io.github.peft4j.testing.Synthetic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The training loop on a tiny BERT classifier with LoRA: learning, exact resume, accumulation, clipping. */
class FineTunerTest extends ManagedTest {

    static final BertConfig TINY = new BertConfig(50, 16, 1, 2, 32, 16, 2, 1e-12, 0.1, 0.1, null, 2, 0.02);


    static PeftModel model(BertConfig c) {
        return model(c, "query", "value");
    }

    static PeftModel model(BertConfig c, String... targets) {
        BertForSequenceClassification m = new BertForSequenceClassification(c);
        m.initialize(manager, 1, 8);
        TestModels.fill(m, 3);
        return PeftModel.builder().setBaseModel(m).setConfig(LoraConfig.builder().setTargetModules(targets)
                .optRank(4).optAlpha(8).optModulesToSave("classifier").build()).build();
    }

    static Map<String, float[]> values(FineTuner t) {
        Map<String, float[]> out = new java.util.TreeMap<>();
        t.getTrainableParameters().forEach((k, p) -> out.put(k, p.getArray().toFloatArray()));
        return out;
    }

    @Test
    void learnsATask(@TempDir Path out) throws IOException {
        PeftModel m = model(TINY, "all-linear");
        FineTuner t = new FineTuner(m, FineTuneConfig.builder().optLearningRate(1e-2).optBatchSize(16)
                .optEpochs(6).optEvalEvery(20).build(), 2);
        Synthetic train = Synthetic.make(320, 1);
        Synthetic eval = Synthetic.make(64, 2);
        double before = Evaluation.of(m, eval, 32, 2, manager).loss();
        FineTuner.Result r = t.fit(train, eval, out, null);
        assertEquals(120, r.steps());
        assertTrue(r.best().accuracy() >= 0.8, "accuracy " + r.best().accuracy()); // chance: 0.5
        assertTrue(r.best().loss() < before, r.best().loss() + " vs " + before);
        List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertEquals(120, lines.size());
        assertTrue(lines.get(19).contains("\"eval_accuracy\""), lines.get(19));
        assertTrue(Files.isRegularFile(out.resolve("checkpoint/adapter/adapter_model.safetensors")));
    }

    @Test
    void resumedRunEndsWhereTheUninterruptedRunEnds(@TempDir Path tmp) throws IOException {
        FineTuneConfig cfg = FineTuneConfig.builder().optLearningRate(3e-3).optBatchSize(8).optMaxSteps(12)
                .optSchedule(Schedule.COSINE).optWarmupRatio(0.2).optGradientAccumulation(2).optSeed(5).build();
        Synthetic train = Synthetic.make(96, 3);

        FineTuner full = new FineTuner(model(TINY), cfg, 2);
        full.fit(train, null, tmp.resolve("full"), null);

        FineTuner first = new FineTuner(model(TINY), cfg, 2).stopAfterStep(5);
        FineTuner.Result part = first.fit(train, null, tmp.resolve("part"), null);
        assertEquals(5, part.steps());
        FineTuner second = new FineTuner(model(TINY), cfg, 2);
        FineTuner.Result rest = second.fit(train, null, tmp.resolve("part"), tmp.resolve("part/checkpoint"));
        assertEquals(12, rest.steps());

        Map<String, float[]> a = values(full);
        Map<String, float[]> b = values(second);
        assertEquals(a.keySet(), b.keySet());
        double maxDiff = 0;
        for (String k : a.keySet()) {
            for (int i = 0; i < a.get(k).length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(a.get(k)[i] - b.get(k)[i]));
            }
        }
        assertTrue(maxDiff <= 1e-6, "resumed run differs by " + maxDiff);
        // and the run did train: the values moved from their start
        Map<String, float[]> start = values(new FineTuner(model(TINY), cfg, 2));
        assertTrue(java.util.Arrays.stream(start.keySet().toArray(String[]::new))
                .anyMatch(k -> !java.util.Arrays.equals(start.get(k), a.get(k))));
    }

    @Test
    void accumulatingTwoHalfBatchesEqualsOneFullBatch(@TempDir Path tmp) throws IOException {
        BertConfig noDropout = new BertConfig(50, 16, 1, 2, 32, 16, 2, 1e-12, 0, 0, null, 2, 0.02);
        Synthetic train = Synthetic.make(64, 4);
        FineTuner one = new FineTuner(model(noDropout), FineTuneConfig.builder().optBatchSize(8).optMaxSteps(3)
                .optLearningRate(1e-2).optMaxGradNorm(0).build(), 2);
        one.fit(train, null, tmp.resolve("a"), null);
        FineTuner two = new FineTuner(model(noDropout), FineTuneConfig.builder().optBatchSize(4)
                .optGradientAccumulation(2).optMaxSteps(3).optLearningRate(1e-2).optMaxGradNorm(0).build(), 2);
        two.fit(train, null, tmp.resolve("b"), null);
        Map<String, float[]> a = values(one);
        Map<String, float[]> b = values(two);
        for (String k : a.keySet()) {
            assertArrayEquals(a.get(k), b.get(k), 2e-5f, k);
        }
    }

    @Test
    void adamWMatchesItsFormula() {
        NDArray w = manager.create(new float[] {1f, -2f, 0.5f});
        w.setRequiresGradient(true);
        Parameter p = Parameter.builder().setName("w").setType(Parameter.Type.WEIGHT).optArray(w).build();
        double[] ref = {1, -2, 0.5};
        double[] g = {0.3, -0.1, 2.0};
        double[] m = new double[3];
        double[] v = new double[3];
        try (NDManager om = manager.newSubManager(); AdamW opt = new AdamW(0.9, 0.999, 1e-8, 0.01, om)) {
            for (int t = 1; t <= 3; t++) {
                try (ai.djl.training.GradientCollector gc = ai.djl.engine.Engine.getInstance()
                        .newGradientCollector()) {
                    gc.backward(w.mul(manager.create(new float[] {0.3f, -0.1f, 2.0f})).sum());
                }
                opt.step(Map.of("w", p), 0.1);
                try (NDArray grad = w.getGradient()) {
                    grad.set(new ai.djl.ndarray.index.NDIndex("..."), 0);
                }
                for (int i = 0; i < 3; i++) {
                    ref[i] -= 0.1 * 0.01 * ref[i];
                    m[i] = 0.9 * m[i] + 0.1 * g[i];
                    v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
                    double mh = m[i] / (1 - Math.pow(0.9, t));
                    double vh = v[i] / (1 - Math.pow(0.999, t));
                    ref[i] -= 0.1 * mh / (Math.sqrt(vh) + 1e-8);
                }
            }
        }
        float[] got = w.toFloatArray();
        for (int i = 0; i < 3; i++) {
            assertEquals(ref[i], got[i], 1e-5);
        }
    }

    @Test
    void schedulesWarmUpAndDecay() {
        assertEquals(0.25, Schedule.LINEAR.at(1, 0, 4, 20), 1e-12);
        assertEquals(1.0, Schedule.LINEAR.at(1, 3, 4, 20), 1e-12);
        assertEquals(0.5, Schedule.LINEAR.at(1, 12, 4, 20), 1e-12);
        assertEquals(0.5, Schedule.COSINE.at(1, 12, 4, 20), 1e-12);
        assertEquals(0.0, Schedule.COSINE.at(1, 20, 4, 20), 1e-12);
        assertEquals(1.0, Schedule.CONSTANT.at(1, 19, 4, 20), 1e-12);
    }

    @Test
    void resumeWithAnotherSeedIsRefused(@TempDir Path tmp) throws IOException {
        Synthetic train = Synthetic.make(32, 3);
        new FineTuner(model(TINY), FineTuneConfig.builder().optBatchSize(8).optMaxSteps(2).build(), 2)
                .fit(train, null, tmp, null);
        FineTuner other = new FineTuner(model(TINY), FineTuneConfig.builder().optBatchSize(8).optMaxSteps(4)
                .optSeed(7).build(), 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> other.fit(train, null, tmp, tmp.resolve("checkpoint")));
        assertTrue(e.getMessage().contains("was written with seed 42 but this run uses seed 7"), e.getMessage());
    }
}
