package io.github.peft4j.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.Pair;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.AdapterMethods;
import io.github.peft4j.core.ModuleTree;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.Scalars;
import io.github.peft4j.core.io.AdapterFiles;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.nn.AdapterWrapper;
import io.github.peft4j.train.FineTuneConfig;
import io.github.peft4j.train.FineTuner;
import io.github.peft4j.train.TrainingData;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The checks every adapter method must pass, run over the profiles a method module supplies. Subclass it and
 * implement {@link #profiles()}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class AdapterContract {

    /** The step at which the exact-resume check interrupts a run. */
    public static final long RESUME_AT = 3;

    /** The steps the exact-resume check trains in all. */
    public static final long TRAIN_STEPS = 8;

    /** Per-class manager; closed after all tests. */
    protected NDManager manager;

    /**
     * Returns the cases to check.
     *
     * @return the profiles
     */
    protected abstract Stream<AdapterProfile> profiles();

    @BeforeAll
    void openManager() {
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    void closeManager() {
        manager.close();
    }

    /**
     * Makes a seeded input batch.
     *
     * @param p the profile
     * @param seed the seed
     * @param m owns the array
     * @return the input
     */
    protected static NDArray input(AdapterProfile p, long seed, NDManager m) {
        Shape s = p.inputShape();
        float[] v = new float[Math.toIntExact(s.size())];
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return m.create(v, s).toType(p.dataType(), false);
    }

    /**
     * Runs an inference forward pass and returns the output as doubles.
     *
     * @param block the block
     * @param x the input
     * @return the output values
     */
    protected static double[] run(Block block, NDArray x) {
        try (NDManager scope = x.getManager().newSubManager()) {
            NDArray in = x.duplicate();
            in.attach(scope);
            NDArray y = block.forward(new ParameterStore(scope, false), new NDList(in), false)
                    .singletonOrThrow();
            return y.toType(ai.djl.ndarray.types.DataType.FLOAT64, false).toDoubleArray();
        }
    }

    private PeftModel wrapNonIdentity(AdapterProfile p, Block base, long seed) {
        PeftModel peft = wrap(p, base, p.nonIdentityConfig(), seed);
        p.perturb(peft, seed);
        return peft;
    }

    private PeftModel wrap(AdapterProfile p, Block base, AdapterConfig config, long seed) {
        return PeftModel.builder()
                .setBaseModel(base)
                .setConfig(config)
                .optSeed(seed)
                .optInjectionMode(p.injectionMode())
                .build();
    }

    private static Map<String, double[]> snapshot(Block block) {
        Map<String, double[]> out = new HashMap<>();
        for (Map.Entry<String, Parameter> e : ModuleTree.namedParameters(block).entrySet()) {
            out.put(
                    e.getKey(),
                    e.getValue()
                            .getArray()
                            .toType(ai.djl.ndarray.types.DataType.FLOAT64, false)
                            .toDoubleArray());
        }
        return out;
    }

    private static double maxRelDiff(double[] a, double[] b) {
        assertEquals(a.length, b.length);
        double scale = 0;
        double diff = 0;
        for (int i = 0; i < a.length; i++) {
            scale = Math.max(scale, Math.abs(a[i]));
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
        }
        return diff / Math.max(scale, 1e-12);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("profiles")
    void identityAtInit(AdapterProfile p) {
        Block base = p.newBaseModel(manager);
        NDArray x = input(p, 1, manager);
        double[] before = run(base, x);
        PeftModel peft = wrap(p, base, p.config(), 7);
        assertArrayEquals(
                before, run(peft, x), p.identityTolerance(), "adapted model must equal the base model at init");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("profiles")
    void disabledAdaptersGiveBaseOutputs(AdapterProfile p) {
        Block base = p.newBaseModel(manager);
        NDArray x = input(p, 1, manager);
        double[] before = run(base, x);
        PeftModel peft = wrapNonIdentity(p, base, 7);
        double[] adapted = run(peft, x);
        assertTrue(maxRelDiff(before, adapted) > 1e-4, "non-identity adapter must change the output");
        peft.disableAdapters();
        assertArrayEquals(before, run(peft, x), 0.0);
        peft.enableAdapters();
        assertArrayEquals(adapted, run(peft, x), 0.0);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("profiles")
    void trainingChangesOnlyAdapterParameters(AdapterProfile p) {
        Block base = p.newBaseModel(manager);
        Map<String, double[]> baseBefore = snapshot(base);
        PeftModel peft = wrap(p, base, p.config(), 7);
        List<Parameter> trainable = new ArrayList<>();
        Map<Parameter, double[]> trainableBefore = new HashMap<>();
        for (Pair<String, Parameter> e : peft.getDirectParameters()) {
            if (!e.getValue().getArray().getDataType().isFloating()) {
                continue; // integer tensors (sparse indices) are part of an adapter but never trained
            }
            trainable.add(e.getValue());
            trainableBefore.put(
                    e.getValue(),
                    e.getValue()
                            .getArray()
                            .toType(ai.djl.ndarray.types.DataType.FLOAT64, false)
                            .toDoubleArray());
        }
        assertFalse(trainable.isEmpty());
        assertEquals(
                peft.getTrainableParameters().trainable(),
                trainable.stream().mapToLong(q -> q.getArray().size()).sum());

        float first;
        float last;
        try (Model model = Model.newInstance("contract")) {
            model.setBlock(peft);
            DefaultTrainingConfig cfg = new DefaultTrainingConfig(Loss.l2Loss())
                    .optOptimizer(Optimizer.adam()
                            .optLearningRateTracker(Tracker.fixed(0.02f))
                            .build());
            try (Trainer trainer = model.newTrainer(cfg)) {
                NDArray x = input(p, 3, manager);
                // a target the adapter can move towards: the outputs of a perturbed copy
                NDArray out =
                        manager.create(run(base, x)).reshape(peft.getOutputShapes(new Shape[] {p.inputShape()})[0]);
                NDArray target = Scalars.add(Scalars.mul(out, 0.5), 0.1).toType(p.dataType(), false);
                first = Float.NaN;
                last = Float.NaN;
                for (int step = 0; step < 30; step++) {
                    try (NDManager s = manager.newSubManager()) {
                        NDArray xi = x.duplicate();
                        xi.attach(s);
                        try (GradientCollector gc = trainer.newGradientCollector()) {
                            NDArray pred = trainer.forward(new NDList(xi)).singletonOrThrow();
                            NDArray loss = pred.sub(target).square().mean();
                            float l = loss.toType(ai.djl.ndarray.types.DataType.FLOAT32, false)
                                    .getFloat();
                            if (step == 0) {
                                first = l;
                            }
                            last = l;
                            gc.backward(loss);
                            peft.afterBackward(); // the training-loop hooks a loop of one's own calls
                        }
                        peft.beforeStep(step);
                        trainer.step();
                        peft.afterStep(step, io.github.peft4j.core.OptimizerAccess.NONE);
                    }
                }
            }
        }
        assertTrue(last < first * 0.9, "loss must fall: first " + first + ", last " + last);
        Map<String, double[]> baseAfter = snapshot(base);
        for (Map.Entry<String, double[]> e : baseBefore.entrySet()) {
            assertArrayEquals(e.getValue(), baseAfter.get(e.getKey()), 0.0, "base weight changed: " + e.getKey());
        }
        boolean changed = false;
        for (Parameter q : trainable) {
            double[] now = q.getArray()
                    .toType(ai.djl.ndarray.types.DataType.FLOAT64, false)
                    .toDoubleArray();
            changed |= maxRelDiff(trainableBefore.get(q), now) > 0;
        }
        assertTrue(changed, "adapter parameters must change");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("profiles")
    void mergeEqualsUnmergedAndUnmergeRestores(AdapterProfile p) {
        Block base = p.newBaseModel(manager);
        Map<String, double[]> baseWeights = snapshot(base);
        PeftModel peft = wrapNonIdentity(p, base, 7);
        NDArray x = input(p, 2, manager);
        double[] unmerged = run(peft, x);
        if (!p.mergeable()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, peft::merge);
            assertTrue(e.getMessage().contains("cannot be merged"), e.getMessage());
            assertFalse(peft.isMerged());
            assertEquals(0.0, maxDiff(baseWeights, snapshot(base)), "a refused merge must not change the weights");
            assertEquals(0.0, maxRelDiff(unmerged, run(peft, x)));
            return;
        }
        peft.merge();
        assertTrue(peft.isMerged());
        double[] merged = run(peft, x);
        assertTrue(
                maxRelDiff(unmerged, merged) <= p.mergeTolerance(),
                "merged != unmerged: " + maxRelDiff(unmerged, merged));
        Map<String, double[]> mergedWeights = snapshot(base);
        assertNotEquals(0.0, maxDiff(baseWeights, mergedWeights), "merge must change the base weights");
        peft.merge(); // twice: warns, does nothing
        assertEquals(0.0, maxDiff(mergedWeights, snapshot(base)), "a second merge must not change the weights");
        peft.unmerge();
        assertFalse(peft.isMerged());
        assertTrue(maxDiff(baseWeights, snapshot(base)) <= 1e-6, "unmerge must restore the base weights");
        assertTrue(maxRelDiff(unmerged, run(peft, x)) <= p.mergeTolerance());
    }

    private static double maxDiff(Map<String, double[]> a, Map<String, double[]> b) {
        double d = 0;
        for (Map.Entry<String, double[]> e : a.entrySet()) {
            double[] o = b.get(e.getKey());
            for (int i = 0; i < o.length; i++) {
                d = Math.max(d, Math.abs(e.getValue()[i] - o[i]));
            }
        }
        return d;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("profiles")
    void mergeAndUnloadGivesPlainModelWithSameOutputs(AdapterProfile p) {
        Block base = p.newBaseModel(manager);
        long baseCount = base.getParameters().values().stream()
                .mapToLong(q -> q.getArray().size())
                .sum();
        PeftModel peft = wrapNonIdentity(p, base, 7);
        NDArray x = input(p, 4, manager);
        double[] adapted = run(peft, x);
        if (!p.mergeable()) {
            assertThrows(IllegalStateException.class, peft::mergeAndUnload);
            assertEquals(0.0, maxRelDiff(adapted, run(peft, x)), "a refused merge leaves the model usable");
            return;
        }
        Block plain = peft.mergeAndUnload();
        assertTrue(maxRelDiff(adapted, run(plain, x)) <= p.mergeTolerance());
        for (ModuleTree.Node n : ModuleTree.walk(plain)) {
            for (Pair<String, Block> c : n.block().getChildren()) {
                assertFalse(c.getValue() instanceof AdapterWrapper, "wrapper left at " + n.path());
            }
        }
        assertEquals(
                baseCount,
                plain.getParameters().values().stream()
                        .mapToLong(q -> q.getArray().size())
                        .sum());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("profiles")
    void saveLoadRoundTripIsExact(AdapterProfile p, @TempDir Path dir) throws Exception {
        PeftModel peft = wrapNonIdentity(p, p.newBaseModel(manager), 7);
        NDArray x = input(p, 5, manager);
        double[] out = run(peft, x);
        peft.saveAdapters(dir);

        // HF layout: keys and files
        Map<String, NDArray> saved = peft.getAdapterTensors(PeftModel.DEFAULT_ADAPTER);
        for (String k : saved.keySet()) {
            // a module's tensor, or one the adapter shares across modules (VeRA's base_model.vera_A)
            boolean shared = k.startsWith(AdapterFiles.SHARED_PREFIX)
                    && !k.substring(AdapterFiles.SHARED_PREFIX.length()).contains(".");
            assertTrue(k.startsWith(AdapterFiles.KEY_PREFIX) || shared, k);
        }
        assertTrue(dir.resolve(AdapterFiles.CONFIG).toFile().isFile());
        assertTrue(dir.resolve(AdapterFiles.CARD).toFile().isFile());

        // a fresh model, loaded from disk
        PeftModel fresh = PeftModel.builder()
                .setBaseModel(p.newBaseModel(manager))
                .optSeed(99)
                .optInjectionMode(p.injectionMode())
                .build();
        fresh.loadAdapter(dir, PeftModel.DEFAULT_ADAPTER);
        Map<String, NDArray> loaded = fresh.getAdapterTensors(PeftModel.DEFAULT_ADAPTER);
        assertEquals(saved.keySet(), loaded.keySet());
        for (String k : saved.keySet()) {
            assertEquals(saved.get(k).getShape(), loaded.get(k).getShape(), k);
            assertArrayEquals(saved.get(k).toByteArray(), loaded.get(k).toByteArray(), "tensor " + k);
        }
        assertArrayEquals(out, run(fresh, x), 0.0, "reloaded adapter must give identical outputs");
        assertEquals(peft.getConfig(PeftModel.DEFAULT_ADAPTER), fresh.getConfig(PeftModel.DEFAULT_ADAPTER));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("profiles")
    void configJsonRoundTrip(AdapterProfile p) {
        AdapterConfig c = p.nonIdentityConfig();
        var json = c.toJson();
        AdapterConfig back = AdapterMethods.forPeftType(c.peftType())
                .parseConfig((com.fasterxml.jackson.databind.node.ObjectNode)
                        Json.MAPPER.valueToTree(Json.MAPPER.convertValue(json, Object.class)));
        assertEquals(c, back);
        assertEquals(Json.write(json), Json.write(back.toJson()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("profiles")
    void sameSeedSameWeights(AdapterProfile p) {
        PeftModel a = wrapNonIdentity(p, p.newBaseModel(manager), 11);
        PeftModel b = wrapNonIdentity(p, p.newBaseModel(manager), 11);
        PeftModel c = wrapNonIdentity(p, p.newBaseModel(manager), 12);
        Map<String, NDArray> ta = a.getAdapterTensors(PeftModel.DEFAULT_ADAPTER);
        Map<String, NDArray> tb = b.getAdapterTensors(PeftModel.DEFAULT_ADAPTER);
        Map<String, NDArray> tc = c.getAdapterTensors(PeftModel.DEFAULT_ADAPTER);
        boolean anyDiffers = false;
        for (String k : ta.keySet()) {
            assertArrayEquals(ta.get(k).toByteArray(), tb.get(k).toByteArray(), k);
            anyDiffers |=
                    !java.util.Arrays.equals(ta.get(k).toByteArray(), tc.get(k).toByteArray());
        }
        assertTrue(anyDiffers, "another seed must give other weights");
    }

    /** Examples for the exact-resume check: the profile's inputs and, as targets, a moved copy of the base outputs. */
    private TrainingData regressionData(AdapterProfile p, Block base, int n) {
        Shape one = p.inputShape().slice(1);
        Shape batch = new Shape(n).addAll(one);
        float[] x = new float[Math.toIntExact(batch.size())];
        SplittableRandom r = new SplittableRandom(17);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextDouble() * 2 - 1);
        }
        NDArray inputs = manager.create(x, batch).toType(p.dataType(), false);
        double[] out = run(base, inputs);
        Shape outShape = base.getOutputShapes(new Shape[] {batch})[0];
        double[] target = new double[out.length];
        for (int i = 0; i < out.length; i++) {
            target[i] = 0.5 * out[i] + 0.1 * Math.sin(i);
        }
        NDArray targets = manager.create(target, outShape).toType(p.dataType(), false);
        return new TrainingData() {
            @Override
            public int size() {
                return n;
            }

            @Override
            public NDList inputs(int[] idx, NDManager m) {
                NDArray rows = inputs.get(manager.create(toLong(idx)));
                rows.attach(m);
                return new NDList(rows);
            }

            @Override
            public NDArray labels(int[] idx, NDManager m) {
                NDArray rows = targets.get(manager.create(toLong(idx)));
                rows.attach(m);
                return rows;
            }
        };
    }

    private static long[] toLong(int[] idx) {
        long[] out = new long[idx.length];
        for (int i = 0; i < idx.length; i++) {
            out[i] = idx[i];
        }
        return out;
    }

    private FineTuner tuner(PeftModel model, long stopAfter) {
        FineTuneConfig cfg = FineTuneConfig.builder()
                .optLearningRate(0.02)
                .optBatchSize(4)
                .optMaxSteps(TRAIN_STEPS)
                .optWarmupRatio(0.25)
                .optSeed(5)
                .optCheckpointEvery(0)
                .build();
        FineTuner.Builder b = FineTuner.builder()
                .setModel(model)
                .setConfig(cfg)
                .optHooks(model)
                .optLoss(Loss.l2Loss());
        if (stopAfter > 0) {
            b.optStopAfterStep(stopAfter);
        }
        return b.build();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("profiles")
    void resumedTrainingEqualsUninterrupted(AdapterProfile p, @TempDir Path dir) throws Exception {
        Block reference = p.newBaseModel(manager);
        TrainingData data = regressionData(p, reference, 16);

        PeftModel full = wrap(p, p.newBaseModel(manager), p.trainingConfig(), 7);
        p.prepareTraining(full);
        tuner(full, 0).fit(data, dir.resolve("full"), null);

        PeftModel first = wrap(p, p.newBaseModel(manager), p.trainingConfig(), 7);
        p.prepareTraining(first);
        FineTuner.Result part = tuner(first, RESUME_AT).fit(data, dir.resolve("part"), null);
        assertEquals(RESUME_AT, part.steps());

        // a fresh model without the adapter: the checkpoint brings the adapter, its config and its state
        PeftModel resumed = PeftModel.builder()
                .setBaseModel(p.newBaseModel(manager))
                .optSeed(99)
                .optInjectionMode(p.injectionMode())
                .build();
        FineTuner.Result rest = tuner(resumed, 0)
                .fit(data, dir.resolve("part"), dir.resolve("part").resolve(FineTuner.CHECKPOINT));
        assertEquals(TRAIN_STEPS, rest.steps());

        Map<String, NDArray> a = full.getAdapterTensors(PeftModel.DEFAULT_ADAPTER);
        Map<String, NDArray> b = resumed.getAdapterTensors(PeftModel.DEFAULT_ADAPTER);
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) {
            assertArrayEquals(
                    a.get(k).toByteArray(),
                    b.get(k).toByteArray(),
                    "tensor " + k + " differs between the resumed and the uninterrupted run");
        }
        NDArray x = input(p, 6, manager);
        assertArrayEquals(run(full, x), run(resumed, x), 0.0, "outputs differ");
        // and training moved the adapter (the check cannot pass on untouched weights)
        PeftModel untouched = wrap(p, p.newBaseModel(manager), p.trainingConfig(), 7);
        p.prepareTraining(untouched);
        Map<String, NDArray> start = untouched.getAdapterTensors(PeftModel.DEFAULT_ADAPTER);
        assertTrue(
                a.keySet().stream()
                        .anyMatch(k -> !java.util.Arrays.equals(
                                start.get(k).toByteArray(), a.get(k).toByteArray())),
                "training changed nothing");
    }
}
