package io.github.peft4j.sparse.spiel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.core.OptimizerAccess;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.testing.TestModels;
import io.github.peft4j.sparse.GradientMode;
import io.github.peft4j.testing.AdapterContract;
import io.github.peft4j.testing.AdapterProfile;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** SpIEL: the contract suite (profiles) plus the drop-and-regrow rules. */
class SpielTest extends AdapterContract {

    static void perturb(PeftModel model, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        for (String path : model.getTargetPaths(PeftModel.DEFAULT_ADAPTER)) {
            SpielLayer l = model.getLayerAdapters(PeftModel.DEFAULT_ADAPTER, SpielLayer.class)
                    .get(path);
            float[] v = l.getValues().getArray().toFloatArray();
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (r.nextDouble() - 0.5);
            }
            l.setValues(v);
        }
    }

    record Profile(String name, GradientMode mode) implements AdapterProfile {
        @Override
        public Block newBaseModel(NDManager manager) {
            return TestModels.mlp(manager, 1, DataType.FLOAT32);
        }

        @Override
        public Shape inputShape() {
            return new Shape(5, 8);
        }

        @Override
        public AdapterConfig config() {
            return SpielConfig.builder()
                    .setTargetModules(ModuleSelector.allLinear())
                    .optDensity(0.2)
                    .optGradient(mode)
                    .optRegrowth(10, 3)
                    .build();
        }

        @Override
        public AdapterConfig nonIdentityConfig() {
            return config();
        }

        /** Regrowth after step 4, its gradient window (steps 3 and 4) spanning the interruption after step 3. */
        @Override
        public AdapterConfig trainingConfig() {
            return SpielConfig.builder()
                    .setTargetModules(ModuleSelector.allLinear())
                    .optDensity(0.2)
                    .optGradient(mode)
                    .optRegrowth(4, 2)
                    .optDrop(0.5, 100)
                    .build();
        }

        @Override
        public void perturb(PeftModel model, long seed) {
            SpielTest.perturb(model, seed);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    @Override
    protected Stream<AdapterProfile> profiles() {
        return Stream.of(
                new Profile("spiel 20% SDDMM", GradientMode.SDDMM), new Profile("spiel 20% dense", GradientMode.DENSE));
    }

    @Test
    void regrowthKeepsTheBudgetExactlyAndFollowsTheGradient() {
        Block mlp = TestModels.mlp(manager, 3, DataType.FLOAT32);
        SpielConfig cfg = SpielConfig.builder()
                .setTargetModules("all-linear")
                .optDensity(0.1)
                .optRegrowth(4, 2)
                .optDrop(0.5, 100)
                .optGradient(GradientMode.SDDMM)
                .build();
        PeftModel m = PeftModel.builder().setBaseModel(mlp).setConfig(cfg).build();
        Map<String, SpielLayer> layers = new java.util.LinkedHashMap<>();
        int budget = 0;
        for (String p : m.getTargetPaths(PeftModel.DEFAULT_ADAPTER)) {
            SpielLayer l = m.getLayerAdapters(PeftModel.DEFAULT_ADAPTER, SpielLayer.class)
                    .get(p);
            layers.put(p, l);
            budget += l.size();
            assertEquals(
                    Math.round(0.1 * l.getTarget().inFeatures() * l.getTarget().outFeatures()), l.size());
            assertTrue(
                    Arrays.equals(new float[l.size()], l.getValues().getArray().toFloatArray()), "Δ starts at 0");
        }
        perturb(m, 4);
        SpielLayer l = layers.get("2");
        int[] before = l.positions();
        float[] delta = l.getValues().getArray().toFloatArray();

        Set<Integer> reset = new HashSet<>();
        OptimizerAccess access = (param, slots) -> {
            if (param == l.getValues()) {
                for (int s : slots) {
                    reset.add(s);
                }
            }
        };
        SpielMethod method = new SpielMethod();
        // steps 0..3: the window (2 steps) before the regrowth after step 4 accumulates the dense gradient
        SplittableRandom r = new SplittableRandom(5);
        for (long step = 0; step < 4; step++) {
            try (NDManager s = manager.newSubManager()) {
                float[] x = new float[6 * 8];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) (r.nextDouble() - 0.5);
                }
                try (ai.djl.training.GradientCollector gc =
                        ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                    gc.backward(m.forward(
                                    new ai.djl.training.ParameterStore(s, false),
                                    new ai.djl.ndarray.NDList(s.create(x, new Shape(6, 8))),
                                    true)
                            .singletonOrThrow()
                            .square()
                            .sum());
                    m.afterBackward();
                }
            }
            if (step == 3) {
                // what regrowth will use: the gradient accumulated over steps 2 and 3
                float[] g = l.denseGradient();
                assertTrue(g != null, "the window must have accumulated a gradient");
                int drop = (int) Math.round(cfg.dropFractionAt(4) * before.length);
                Integer[] slots = new Integer[before.length];
                for (int i = 0; i < slots.length; i++) {
                    slots[i] = i;
                }
                Arrays.sort(slots, (a, b) -> Float.compare(Math.abs(delta[a]), Math.abs(delta[b])));
                Set<Integer> selected = new HashSet<>();
                for (int p : before) {
                    selected.add(p);
                }
                Integer[] cand = java.util.stream.IntStream.range(0, g.length)
                        .filter(p -> !selected.contains(p))
                        .boxed()
                        .toArray(Integer[]::new);
                Arrays.sort(cand, (a, b) -> Float.compare(Math.abs(g[b]), Math.abs(g[a])));
                method.afterStep(cfg, layers, step, access);
                int[] after = l.positions();
                float[] afterDelta = l.getValues().getArray().toFloatArray();
                Set<Integer> expectedGrown = new HashSet<>(Arrays.asList(cand).subList(0, drop));
                Set<Integer> grown = new HashSet<>();
                for (int i = 0; i < drop; i++) {
                    int slot = slots[i];
                    assertEquals(0f, afterDelta[slot], "regrown slot starts at 0");
                    assertTrue(reset.contains(slot), "optimizer state of slot " + slot + " reset");
                    grown.add(after[slot]);
                }
                assertEquals(expectedGrown, grown, "regrown positions = largest |gradient| among candidates");
                assertEquals(drop, reset.size());
                for (int i = drop; i < slots.length; i++) {
                    assertEquals(before[slots[i]], after[slots[i]], "kept slot keeps its position");
                    assertEquals(delta[slots[i]], afterDelta[slots[i]]);
                }
                assertEquals(after.length, Arrays.stream(after).distinct().count(), "positions distinct");
            } else {
                method.afterStep(cfg, layers, step, access);
            }
        }
        int after = 0;
        for (SpielLayer s : layers.values()) {
            after += s.size();
        }
        assertEquals(budget, after, "the budget is exact");
        assertFalse(Arrays.equals(before, l.positions()), "positions moved");
        assertEquals(0.5, cfg.dropFractionAt(0), 1e-12);
        assertEquals(0.25, cfg.dropFractionAt(50), 1e-12);
        assertEquals(0, cfg.dropFractionAt(200), 1e-12);
    }

    @Test
    void badInput() {
        assertThrows(
                IllegalArgumentException.class,
                () -> SpielConfig.builder().setTargetModules("q").optDensity(0).build());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SpielConfig.builder()
                .setTargetModules("q")
                .optRegrowth(10, 11)
                .build());
        assertTrue(e.getMessage().contains("spiel_gradient_window"), e.getMessage());
        assertArrayEquals(new int[] {0, 1, 2}, SpielMethod.sample(3, 3, new SplittableRandom(1)));
    }
}
