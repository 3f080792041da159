package io.github.peft4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.OptimizerAccess;
import io.github.peft4j.core.Scalars;
import io.github.peft4j.core.TrainingHooks;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.Safetensors;
import io.github.peft4j.core.testing.ManagedTest;
import io.github.peft4j.core.testing.TestModels;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The training loop on a small MLP (full fine-tuning): learning, exact resume with the model's own state, hooks,
 * accumulation, clipping, the checkpoint's error paths, the metrics file and early stopping. Adapter methods are
 * checked by the contract suite's exact-resume case.
 */
class FineTunerTest extends ManagedTest {

    private static Block mlp() {
        Block m = TestModels.mlp(manager, 1, DataType.FLOAT32);
        m.getParameters().values().forEach(p -> p.freeze(false));
        return m;
    }

    private static VectorTask task(int n, long seed) {
        return VectorTask.make(TestModels.mlp(manager, 77, DataType.FLOAT32), n, seed, manager);
    }

    private static FineTuneConfig.Builder config() {
        return FineTuneConfig.builder()
                .optLearningRate(1e-2)
                .optBatchSize(8)
                .optMaxSteps(12)
                .optSeed(5)
                .optWarmupRatio(0.2)
                .optSchedule(Schedule.COSINE);
    }

    private static Map<String, float[]> values(Block m) {
        Map<String, float[]> out = new LinkedHashMap<>();
        m.getParameters()
                .forEach(p -> out.put(p.getKey(), p.getValue().getArray().toFloatArray()));
        return out;
    }

    /** Hooks with state of their own: a counter of steps that must survive a resume, and a record of the calls. */
    static final class RecordingHooks implements TrainingHooks {
        final List<String> calls = new ArrayList<>();
        long counter;

        @Override
        public void afterBackward() {
            calls.add("afterBackward");
        }

        @Override
        public void beforeStep(long step) {
            calls.add("beforeStep " + step);
        }

        @Override
        public void afterStep(long step, OptimizerAccess optimizer) {
            calls.add("afterStep " + step);
            counter += step + 1;
        }

        @Override
        public void saveState(Path dir) throws IOException {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("counter"), Long.toString(counter));
        }

        @Override
        public void loadState(Path dir) throws IOException {
            counter = Long.parseLong(Files.readString(dir.resolve("counter")));
        }
    }

    @Test
    void learnsATaskAndWritesMetricsAndCheckpoint(@TempDir Path out) throws IOException {
        Block m = mlp();
        VectorTask train = task(256, 1);
        VectorTask eval = task(64, 2);
        double before = Evaluation.of(m, eval, 32, 4, manager).accuracy();
        FineTuner.Result r = FineTuner.builder()
                .setModel(m)
                .setConfig(config().optMaxSteps(0).optEpochs(8).optEvalEvery(32).build())
                .optEvaluation(Evaluator.classification(4, 32), eval)
                .build()
                .fit(train, out, null);
        assertEquals(256, r.steps());
        assertTrue(
                r.best().accuracy() >= 0.8 && r.best().accuracy() > before + 0.2,
                "accuracy " + before + " -> " + r.best().accuracy());
        List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertEquals(256, lines.size());
        assertTrue(lines.get(31).contains("\"eval_accuracy\""), lines.get(31));
        assertTrue(!lines.get(30).contains("\"eval_accuracy\""), lines.get(30));
        for (String f : new String[] {Checkpoint.STATE, Checkpoint.TRAINABLE, Checkpoint.OPTIMIZER}) {
            assertTrue(Files.isRegularFile(out.resolve("checkpoint").resolve(f)), f);
        }
    }

    @Test
    void resumedRunEndsBitForBitWhereTheUninterruptedRunEnds(@TempDir Path tmp) throws IOException {
        VectorTask train = task(96, 3);
        FineTuneConfig cfg = config().optGradientAccumulation(2).optBatchSize(4).build();
        Block full = mlp();
        RecordingHooks fullHooks = new RecordingHooks();
        FineTuner.builder()
                .setModel(full)
                .setConfig(cfg)
                .optHooks(fullHooks)
                .build()
                .fit(train, tmp.resolve("a"), null);

        RecordingHooks firstHooks = new RecordingHooks();
        FineTuner.Result part = FineTuner.builder()
                .setModel(mlp())
                .setConfig(cfg)
                .optHooks(firstHooks)
                .optStopAfterStep(5)
                .build()
                .fit(train, tmp.resolve("b"), null);
        assertEquals(5, part.steps());
        assertEquals(15, firstHooks.counter); // 1 + ... + 5
        Block second = mlp();
        RecordingHooks secondHooks = new RecordingHooks();
        FineTuner.Result rest = FineTuner.builder()
                .setModel(second)
                .setConfig(cfg)
                .optHooks(secondHooks)
                .build()
                .fit(train, tmp.resolve("b"), tmp.resolve("b/checkpoint"));
        assertEquals(12, rest.steps());
        assertEquals(fullHooks.counter, secondHooks.counter, "the hooks' state came back from the checkpoint");
        Map<String, float[]> a = values(full);
        Map<String, float[]> b = values(second);
        for (String k : a.keySet()) {
            assertArrayEquals(a.get(k), b.get(k), 0f, k);
        }
        assertTrue(
                !java.util.Arrays.equals(
                        values(mlp()).values().iterator().next(),
                        a.values().iterator().next()),
                "training moved the weights");
        // metrics.jsonl of the resumed run has each step once
        List<String> lines = Files.readAllLines(tmp.resolve("b/metrics.jsonl"));
        assertEquals(12, lines.size());
        for (int i = 0; i < 12; i++) {
            assertEquals(i + 1, Json.MAPPER.readTree(lines.get(i)).get("step").asInt());
        }
    }

    @Test
    void hooksAreCalledPerMicroBatchAndPerStep(@TempDir Path tmp) throws IOException {
        RecordingHooks hooks = new RecordingHooks();
        FineTuner.builder()
                .setModel(mlp())
                .setConfig(config().optMaxSteps(2).optGradientAccumulation(2).build())
                .optHooks(hooks)
                .build()
                .fit(task(64, 4), tmp, null);
        assertEquals(
                List.of(
                        "afterBackward",
                        "afterBackward",
                        "beforeStep 0",
                        "afterStep 0",
                        "afterBackward",
                        "afterBackward",
                        "beforeStep 1",
                        "afterStep 1"),
                hooks.calls);
        assertEquals("3", Files.readString(tmp.resolve("checkpoint/model/counter")));
    }

    @Test
    void accumulatingTwoHalfBatchesEqualsOneFullBatch(@TempDir Path tmp) throws IOException {
        VectorTask train = task(64, 4);
        Block one = mlp();
        FineTuner.builder()
                .setModel(one)
                .setConfig(config().optMaxSteps(3).optMaxGradNorm(0).build())
                .build()
                .fit(train, tmp.resolve("a"), null);
        Block two = mlp();
        FineTuner.builder()
                .setModel(two)
                .setConfig(config().optBatchSize(4)
                        .optGradientAccumulation(2)
                        .optMaxSteps(3)
                        .optMaxGradNorm(0)
                        .build())
                .build()
                .fit(train, tmp.resolve("b"), null);
        Map<String, float[]> a = values(one);
        Map<String, float[]> b = values(two);
        for (String k : a.keySet()) {
            assertArrayEquals(a.get(k), b.get(k), 2e-6f, k);
        }
    }

    @Test
    void earlyStoppingEndsTheRunAndCheckpointsIt(@TempDir Path tmp) throws IOException {
        // a learning rate of ~0 cannot improve accuracy: every evaluation after the first is no better
        FineTuner.Result r = FineTuner.builder()
                .setModel(mlp())
                .setConfig(config().optLearningRate(1e-12)
                        .optMaxSteps(40)
                        .optEvalEvery(2)
                        .optEarlyStoppingPatience(3)
                        .build())
                .optEvaluation(Evaluator.classification(4, 32), task(32, 5))
                .build()
                .fit(task(64, 4), tmp, null);
        assertTrue(r.stoppedEarly());
        assertEquals(8, r.steps()); // evaluations at 2 (best), 4, 6, 8: three without improvement
        assertEquals(
                8,
                Json.readObject(tmp.resolve("checkpoint/trainer_state.json"))
                        .get("step")
                        .asInt());
    }

    @Test
    void resumeWithAnotherSeedIsRefused(@TempDir Path tmp) throws IOException {
        VectorTask train = task(32, 3);
        FineTuner.builder()
                .setModel(mlp())
                .setConfig(config().optMaxSteps(2).build())
                .build()
                .fit(train, tmp, null);
        FineTuner other = FineTuner.builder()
                .setModel(mlp())
                .setConfig(config().optMaxSteps(4).optSeed(7).build())
                .build();
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> other.fit(train, tmp, tmp.resolve("checkpoint")));
        assertTrue(e.getMessage().contains("was written with seed 5 but this run uses seed 7"), e.getMessage());
    }

    private static Path checkpoint(Path tmp) throws IOException {
        FineTuner.builder()
                .setModel(mlp())
                .setConfig(config().optMaxSteps(2).build())
                .build()
                .fit(task(32, 3), tmp, null);
        return tmp.resolve("checkpoint");
    }

    private static Exception resumeFails(Path tmp, Path ckpt, Block model) {
        FineTuner t = FineTuner.builder()
                .setModel(model)
                .setConfig(config().optMaxSteps(4).build())
                .build();
        return assertThrows(Exception.class, () -> t.fit(task(32, 3), tmp, ckpt));
    }

    @Test
    void restoreNamesAMissingFile(@TempDir Path tmp) throws IOException {
        Path ckpt = checkpoint(tmp);
        Files.delete(ckpt.resolve(Checkpoint.OPTIMIZER));
        Exception e = resumeFails(tmp, ckpt, mlp());
        assertTrue(
                e instanceof IOException && e.getMessage().contains("optimizer.safetensors is missing"),
                e.getMessage());
        Files.delete(ckpt.resolve(Checkpoint.STATE));
        e = resumeFails(tmp, ckpt, mlp());
        assertTrue(e.getMessage().contains("not a peft4j checkpoint"), e.getMessage());
    }

    @Test
    void restoreNamesOtherParametersAndShapes(@TempDir Path tmp) throws IOException {
        Path ckpt = checkpoint(tmp);
        Block fewer = mlp();
        fewer.getParameters().values().get(0).freeze(true); // one parameter less is trainable
        Exception e = resumeFails(tmp, ckpt, fewer);
        assertTrue(
                e.getMessage().contains("does not hold the tensors this model expects")
                        && e.getMessage().contains("unexpected tensors"),
                e.getMessage());

        try (NDManager s = manager.newSubManager()) {
            Map<String, NDArray> t =
                    Safetensors.read(ckpt.resolve(Checkpoint.TRAINABLE), s).tensors();
            String first = t.keySet().iterator().next();
            t.put(first, s.zeros(new ai.djl.ndarray.types.Shape(3, 3)));
            Safetensors.write(ckpt.resolve(Checkpoint.TRAINABLE), t, Map.of());
        }
        e = resumeFails(tmp, ckpt, mlp());
        assertTrue(e.getMessage().contains("has shape (3, 3) but the model expects"), e.getMessage());
    }

    @Test
    void restoreNamesMissingOptimizerState(@TempDir Path tmp) throws IOException {
        Path ckpt = checkpoint(tmp);
        try (NDManager s = manager.newSubManager()) {
            Map<String, NDArray> opt = new LinkedHashMap<>(
                    Safetensors.read(ckpt.resolve(Checkpoint.OPTIMIZER), s).tensors());
            String m = opt.keySet().iterator().next();
            opt.remove(m);
            Safetensors.write(ckpt.resolve(Checkpoint.OPTIMIZER), opt, Map.of());
        }
        Exception e = resumeFails(tmp, ckpt, mlp());
        assertTrue(e.getMessage().contains("lacks the AdamW moments"), e.getMessage());
    }

    @Test
    void aNonFiniteLossSkipsTheUpdate(@TempDir Path tmp) throws IOException {
        Block m = mlp();
        Map<String, float[]> before = values(m);
        VectorTask train = task(16, 6);
        // labels out of range make the loss infinite: the update must not reach the weights
        TrainingData poisoned = new TrainingData() {
            @Override
            public int size() {
                return train.size();
            }

            @Override
            public ai.djl.ndarray.NDList inputs(int[] idx, NDManager mgr) {
                NDArray x = train.inputs(idx, mgr).singletonOrThrow();
                return new ai.djl.ndarray.NDList(Scalars.mul(x, Double.NaN));
            }

            @Override
            public NDArray labels(int[] idx, NDManager mgr) {
                return train.labels(idx, mgr);
            }
        };
        FineTuner.builder()
                .setModel(m)
                .setConfig(config().optMaxSteps(2).build())
                .build()
                .fit(poisoned, tmp, null);
        Map<String, float[]> after = values(m);
        for (String k : before.keySet()) {
            assertArrayEquals(before.get(k), after.get(k), 0f, k);
        }
        String line = Files.readAllLines(tmp.resolve("metrics.jsonl"), StandardCharsets.UTF_8)
                .get(0);
        assertTrue(line.contains("\"loss\":\"NaN\"") || line.contains("NaN"), line);
    }

    /** Softmax cross-entropy, times 1000 on its {@code spikeCall}-th evaluation (1-based): a loss spike. */
    private static ai.djl.training.loss.Loss spiking(int spikeCall) {
        ai.djl.training.loss.Loss ce = ai.djl.training.loss.Loss.softmaxCrossEntropyLoss();
        return new ai.djl.training.loss.Loss("spiking") {
            private int calls;

            @Override
            public NDArray evaluate(ai.djl.ndarray.NDList labels, ai.djl.ndarray.NDList predictions) {
                NDArray l = ce.evaluate(labels, predictions);
                return ++calls == spikeCall ? Scalars.mul(l, 1000) : l;
            }
        };
    }

    @Test
    void aLossSpikeRollsBackToTheLastCheckpointSkipsItsDataAndResumesExactly(@TempDir Path tmp) throws IOException {
        VectorTask task = task(64, 6);
        LossSpikeGuard guard = new LossSpikeGuard(3, 3, 2);
        FineTuneConfig cfg = config().optCheckpointEvery(2).build();
        // step 6's loss is 1000 times what it was: a spike; the run goes back to step 4 and skips the data of 5, 6
        Block a = mlp();
        FineTuner.Result full = FineTuner.builder()
                .setModel(a)
                .setConfig(cfg)
                .optLoss(spiking(6))
                .optLossSpikeGuard(guard)
                .build()
                .fit(task, tmp.resolve("full"), null);
        assertEquals(12, full.steps());
        ObjectNode state = Json.readObject(tmp.resolve("full/checkpoint/trainer_state.json"));
        assertEquals(2, state.get("data_offset").asLong(), "the data of steps 5 and 6 skipped");
        assertEquals(1, state.get("rollbacks").asInt());
        for (FitContext.Point p : full.history()) {
            assertTrue(p.loss() < 100, "no spiked step reached the history: " + p.step() + " " + p.loss());
        }
        Map<String, float[]> guarded = values(a);
        guarded.values().forEach(v -> {
            for (float x : v) {
                assertTrue(Float.isFinite(x));
            }
        });

        // stopped at 8 and resumed: the offset comes back from the checkpoint, and the run ends where the other did
        FineTuner.builder()
                .setModel(mlp())
                .setConfig(cfg)
                .optLoss(spiking(6))
                .optLossSpikeGuard(guard)
                .optStopAfterStep(8)
                .build()
                .fit(task, tmp.resolve("part"), null);
        Block c = mlp();
        FineTuner.builder()
                .setModel(c)
                .setConfig(cfg)
                .optLossSpikeGuard(guard)
                .build()
                .fit(task, tmp.resolve("part"), tmp.resolve("part/checkpoint"));
        Map<String, float[]> resumed = values(c);
        for (String k : guarded.keySet()) {
            assertArrayEquals(guarded.get(k), resumed.get(k), 0f, k);
        }

        // without the guard the spiked update stays in the weights
        Block d = mlp();
        FineTuner.builder()
                .setModel(d)
                .setConfig(cfg)
                .optLoss(spiking(6))
                .build()
                .fit(task, tmp.resolve("plain"), null);
        Map<String, float[]> plain = values(d);
        assertTrue(
                guarded.keySet().stream().anyMatch(k -> !java.util.Arrays.equals(guarded.get(k), plain.get(k))),
                "the guard changed the run");
    }

    @Test
    void aNonFiniteLossMidRunSkipsThatUpdateOnlyAndIsReported(@TempDir Path tmp) throws IOException {
        // the loss of step 6 (its 6th evaluation) is NaN: that update is skipped and the run goes on
        ai.djl.training.loss.Loss ce = ai.djl.training.loss.Loss.softmaxCrossEntropyLoss();
        ai.djl.training.loss.Loss poisoned = new ai.djl.training.loss.Loss("nan-at-6") {
            private int calls;

            @Override
            public NDArray evaluate(ai.djl.ndarray.NDList labels, ai.djl.ndarray.NDList predictions) {
                NDArray l = ce.evaluate(labels, predictions);
                return ++calls == 6 ? Scalars.mul(l, Double.NaN) : l;
            }
        };
        Block m = mlp();
        List<Map<String, float[]>> after = new ArrayList<>();
        FineTuner.builder()
                .setModel(m)
                .setConfig(config().build())
                .optLoss(poisoned)
                .addListener(new FitListener() {
                    @Override
                    public void onStep(FitContext ctx, StepRecord step) {
                        after.add(values(m));
                    }
                })
                .build()
                .fit(task(64, 6), tmp, null);
        assertEquals(12, after.size());
        for (String k : after.get(4).keySet()) {
            assertArrayEquals(after.get(4).get(k), after.get(5).get(k), 0f, "step 6 changed " + k);
            assertTrue(
                    !java.util.Arrays.equals(after.get(5).get(k), after.get(11).get(k)), "training went on: " + k);
            for (float x : after.get(11).get(k)) {
                assertTrue(Float.isFinite(x), k);
            }
        }
        List<String> lines = Files.readAllLines(tmp.resolve("metrics.jsonl"), StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            assertEquals(i == 5, lines.get(i).contains("\"skipped\":true"), lines.get(i));
        }
    }

    @Test
    void lossSpikeGuardSettingsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> new LossSpikeGuard(1, 3, 1));
        assertThrows(IllegalArgumentException.class, () -> new LossSpikeGuard(3, 2, 1));
        assertThrows(IllegalArgumentException.class, () -> new LossSpikeGuard(3, 3, 0));
    }

    @Test
    void adamWMatchesItsFormula() {
        NDArray w = manager.create(new float[] {1f, -2f, 0.5f});
        w.setRequiresGradient(true);
        Parameter p = Parameter.builder()
                .setName("w")
                .setType(Parameter.Type.WEIGHT)
                .optArray(w)
                .build();
        double[] ref = {1, -2, 0.5};
        double[] g = {0.3, -0.1, 2.0};
        double[] m = new double[3];
        double[] v = new double[3];
        try (NDManager om = manager.newSubManager();
                AdamW opt = new AdamW(0.9, 0.999, 1e-8, 0.01, om)) {
            for (int t = 1; t <= 3; t++) {
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    gc.backward(w.mul(manager.create(new float[] {0.3f, -0.1f, 2.0f}))
                            .sum());
                }
                opt.step(Map.of("w", p), 0.1);
                try (NDArray grad = w.getGradient()) {
                    Scalars.fill(grad, 0);
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
}
