package io.github.peft4j.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.AdapterFiles;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.nn.AdaptedBlock;
import io.github.peft4j.core.testing.ManagedTest;
import io.github.peft4j.core.testing.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The parts of {@link PeftModel} on their own, with peft-core's test-only method ({@link RowScale}): injection and
 * the intercepting store, the adapter set, the modules saved whole, the serializer, the model card, the training
 * state files and the registry; and the facade's unload and module listing.
 */
class PeftModelPartsTest extends ManagedTest {

    private static Block mlp() {
        return TestModels.mlp(manager, 1, DataType.FLOAT32);
    }

    private static float[] run(Block b, long seed) {
        try (NDManager s = manager.newSubManager()) {
            float[] v = new float[24];
            java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (r.nextDouble() * 2 - 1);
            }
            NDArray x = s.create(v, new Shape(3, 8));
            return b.forward(new ParameterStore(s, false), new NDList(x), false)
                    .singletonOrThrow()
                    .toFloatArray();
        }
    }

    // ------------------------------------------------------------------ injector

    @Test
    void activationPathReplacesTheChildAndEjectPutsItBack() {
        SequentialBlock m = (SequentialBlock) mlp();
        Block original = m.getChildren().get(2).getValue();
        Injector inj = new Injector(InjectionMode.AUTO, new AdapterSet());
        ModuleTree.Node n = ModuleTree.byPath(m).get("2");
        assertEquals(InjectionMode.ACTIVATION, inj.modeFor(n));
        inj.injectIfAbsent(n);
        assertInstanceOf(AdaptedBlock.class, m.getChildren().get(2).getValue());
        assertEquals(5, m.getChildren().size(), "the other children stay in place");
        assertEquals("2", ModuleTree.byPath(m).get("2").path(), "paths look through the wrapper");
        inj.eject("2");
        assertSame(original, m.getChildren().get(2).getValue());
    }

    @Test
    void weightPathServesTheAdaptedWeightThroughTheStore() {
        Block enc = TestModels.tinyEncoder(manager, 1, DataType.FLOAT32);
        ModuleTree.Node n = ModuleTree.byPath(enc).get("encoder.0.query");
        Injector inj = new Injector(InjectionMode.AUTO, new AdapterSet());
        assertEquals(InjectionMode.WEIGHT, inj.modeFor(n), "TinyBlock keeps its layers in private fields");
        Injector forced = new Injector(InjectionMode.ACTIVATION, new AdapterSet());
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> forced.check(n, new RowScale.Method(), "ROW_SCALE"));
        assertTrue(e.getMessage().contains("cannot take an activation-path adapter"), e.getMessage());
    }

    // ------------------------------------------------------------------ adapter set, saved modules

    @Test
    void adapterNamesAreCheckedAndOnlyTheActiveAdapterTrains() {
        PeftModel m = PeftModel.builder()
                .setBaseModel(mlp())
                .setConfig(RowScale.Config.of("0"))
                .build();
        for (String bad : new String[] {"a/b", "..", "adapter_config.json", "default"}) {
            assertThrows(IllegalArgumentException.class, () -> m.addAdapter(bad, RowScale.Config.of("2")), bad);
        }
        m.addAdapter("second", RowScale.Config.of("2"));
        assertEquals("default", m.getActiveAdapter());
        assertTrue(m.getLayerAdapters("default", RowScale.Layer.class)
                .get("0")
                .scale
                .requiresGradient());
        assertFalse(m.getLayerAdapters("second", RowScale.Layer.class)
                .get("2")
                .scale
                .requiresGradient());
        m.setActiveAdapter("second");
        assertFalse(m.getLayerAdapters("default", RowScale.Layer.class)
                .get("0")
                .scale
                .requiresGradient());
        m.deleteAdapter("second");
        assertEquals("default", m.getActiveAdapter());
        assertEquals(List.of("default"), m.getAdapterNames());
    }

    @Test
    void savedModulesAreCopiesTheModelReadsAndMergeAndUnloadWritesBack() {
        Block base = mlp();
        float[] before = run(base, 1);
        PeftModel m = PeftModel.builder()
                .setBaseModel(base)
                .setConfig(RowScale.Config.of("0").withSaved("4"))
                .build();
        Map<String, NDArray> t = m.getAdapterTensors("default");
        assertTrue(
                t.containsKey(AdapterFiles.KEY_PREFIX + "4.weight"), t.keySet().toString());
        NDArray copy = t.get(AdapterFiles.KEY_PREFIX + "4.bias");
        try (NDArray v = copy.stopGradient()) {
            Scalars.addi(v, 1); // the saved head's copy moves, the base's own bias does not
        }
        float[] adapted = run(m, 1);
        assertEquals(before[0] + 1, adapted[0], 1e-5);
        m.disableAdapters();
        assertArrayEquals(before, run(m, 1), 0f, "disabled: the base's own head");
        m.enableAdapters();
        Block plain = m.mergeAndUnload();
        assertArrayEquals(adapted, run(plain, 1), 1e-6f, "the copy was written into the base");
    }

    @Test
    void unloadGivesTheBaseModelBackUnchanged() {
        Block base = mlp();
        base.getParameters().values().forEach(p -> p.freeze(false));
        float[] before = run(base, 1);
        PeftModel m = PeftModel.builder()
                .setBaseModel(base)
                .setConfig(RowScale.Config.of("0", "2").withInit(0.5))
                .build();
        assertTrue(base.getParameters().values().stream().noneMatch(Parameter::requiresGradient), "base frozen");
        assertTrue(Math.abs(run(m, 1)[0] - before[0]) > 1e-4, "the adapter changes the output");
        m.merge();
        Block back = m.unload();
        assertSame(base, back);
        assertArrayEquals(before, run(back, 1), 1e-6f, "unload unmerges and removes the wrappers");
        assertTrue(
                back.getParameters().values().stream().allMatch(Parameter::requiresGradient),
                "trainability as before wrapping");
        for (ModuleTree.Node n : ModuleTree.walk(back)) {
            n.block().getChildren().values().forEach(c -> assertFalse(c instanceof AdaptedBlock, n.path()));
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, m::merge);
        assertTrue(e.getMessage().contains("was unloaded"), e.getMessage());
    }

    @Test
    void modulePathsListEveryModuleWithItsClass() {
        PeftModel m = PeftModel.builder()
                .setBaseModel(TestModels.tinyEncoder(manager, 1, DataType.FLOAT32))
                .build();
        Map<String, String> paths = m.getModulePaths();
        assertEquals("Linear", paths.get("encoder.0.query"));
        assertEquals("SequentialBlock", paths.get("encoder"));
        assertEquals("Linear", paths.get("classifier"));
        assertFalse(paths.containsKey(""), "the root has no path");
        assertEquals(
                List.of("encoder", "encoder.0"), List.copyOf(paths.keySet()).subList(0, 2));
    }

    @Test
    void typedGettersNameTheMethodTheyFound() {
        PeftModel m = PeftModel.builder()
                .setBaseModel(mlp())
                .setConfig(RowScale.Config.of("0"))
                .build();
        assertEquals(0.0, m.getConfig("default", RowScale.Config.class).init());
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> m.getLayerAdapters("default", OtherLayer.class));
        assertTrue(e.getMessage().contains("is ROW_SCALE: its layers are Layer, not OtherLayer"), e.getMessage());
    }

    /** A layer class no adapter has. */
    abstract static class OtherLayer implements LayerAdapter {}

    // ------------------------------------------------------------------ serializer, card, registry

    @Test
    void savedAdapterHasHuggingFaceKeysConfigAndCard(@TempDir Path dir) throws IOException {
        PeftModel m = PeftModel.builder()
                .setBaseModel(mlp())
                .setConfig(new RowScale.Config(
                        new Targets(ModuleSelector.names("0"), null, List.of(), "SEQ_CLS", "org/base"), 0.25))
                .optSeed(3)
                .build();
        m.saveAdapters(dir);
        ObjectNode cfg = Json.readObject(dir.resolve(AdapterFiles.CONFIG));
        assertEquals("ROW_SCALE", cfg.get("peft_type").asText());
        assertTrue(cfg.get("inference_mode").asBoolean());
        assertEquals(0.25, cfg.get("row_scale_init").asDouble());
        String card = Files.readString(dir.resolve(AdapterFiles.CARD));
        assertTrue(card.startsWith("---\nlibrary_name: peft\nbase_model: org/base\n---"), card);
        assertTrue(card.contains("- `0`: row scale of 16 rows"), card);
        assertTrue(card.contains("- initialization seed: 3"), card);

        PeftModel fresh = PeftModel.builder().setBaseModel(mlp()).build();
        fresh.loadAdapter(dir, "default");
        assertArrayEquals(run(m, 1), run(fresh, 1), 0f);
    }

    @Test
    void loadingNamesMissingUnexpectedAndMisShapedTensors(@TempDir Path dir) throws IOException {
        PeftModel m = PeftModel.builder()
                .setBaseModel(mlp())
                .setConfig(RowScale.Config.of("0"))
                .build();
        m.saveAdapters(dir);
        ObjectNode cfg = Json.readObject(dir.resolve(AdapterFiles.CONFIG));
        cfg.set("target_modules", Json.MAPPER.valueToTree(List.of("0", "2")));
        Files.writeString(dir.resolve(AdapterFiles.CONFIG), Json.write(cfg));
        PeftModel fresh = PeftModel.builder().setBaseModel(mlp()).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> fresh.loadAdapter(dir, "x"));
        assertTrue(e.getMessage().contains("missing tensors [base_model.model.2.row_scale]"), e.getMessage());
        assertEquals(List.of(), fresh.getAdapterNames(), "a failed load leaves no adapter behind");

        cfg.set("target_modules", Json.MAPPER.valueToTree(List.of("4")));
        Files.writeString(dir.resolve(AdapterFiles.CONFIG), Json.write(cfg));
        e = assertThrows(IllegalArgumentException.class, () -> fresh.loadAdapter(dir, "x"));
        assertTrue(e.getMessage().contains("unexpected tensors [base_model.model.0.row_scale]"), e.getMessage());

        cfg.put("peft_type", "NOPE");
        Files.writeString(dir.resolve(AdapterFiles.CONFIG), Json.write(cfg));
        e = assertThrows(IllegalArgumentException.class, () -> fresh.loadAdapter(dir, "x"));
        assertTrue(
                e.getMessage()
                        .startsWith(dir.resolve(AdapterFiles.CONFIG) + ": peft_type 'NOPE' is not"
                                + " supported by the peft4j modules on the class path; supported: [ROW_SCALE]"),
                e.getMessage());
    }

    @Test
    void registryResolvesOnceByTypeAndByConfig() {
        assertSame(AdapterMethods.forPeftType("ROW_SCALE"), AdapterMethods.forPeftType("ROW_SCALE"));
        assertSame(AdapterMethods.forPeftType("ROW_SCALE"), AdapterMethods.forConfig(RowScale.Config.of("0")));
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> AdapterMethods.forPeftType("LORA"));
        assertTrue(e.getMessage().endsWith("(LORA needs io.github.peft4j:peft-lora)"), e.getMessage());
    }

    // ------------------------------------------------------------------ training state

    @Test
    void trainingStateBringsBackAdaptersTheirConfigTensorsAndLayerState(@TempDir Path dir) throws IOException {
        PeftModel m = PeftModel.builder()
                .setBaseModel(mlp())
                .setConfig(RowScale.Config.of("0", "2").withInit(0.1))
                .build();
        m.afterStep(0, OptimizerAccess.NONE);
        m.afterStep(1, OptimizerAccess.NONE);
        try (NDArray v = m.getLayerAdapters("default", RowScale.Layer.class)
                .get("2")
                .scale
                .getArray()
                .stopGradient()) {
            Scalars.addi(v, 0.3);
        }
        m.saveState(dir);
        assertEquals(Map.of("default", m.getConfig("default")), PeftModel.readStateConfigs(dir));

        PeftModel fresh = PeftModel.builder().setBaseModel(mlp()).build();
        fresh.loadState(dir);
        assertEquals(m.getConfig("default"), fresh.getConfig("default"), "the adapter came with its config");
        assertEquals(2, fresh.getLayerAdapters("default", RowScale.Layer.class).get("0").steps);
        assertArrayEquals(run(m, 1), run(fresh, 1), 0f);

        PeftModel other = PeftModel.builder()
                .setBaseModel(mlp())
                .setConfig(RowScale.Config.of("0"))
                .build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> other.loadState(dir));
        assertTrue(e.getMessage().contains("was trained with another config than this model's"), e.getMessage());
        IOException missing = assertThrows(IOException.class, () -> other.loadState(dir.resolve("nope")));
        assertTrue(missing.getMessage().contains("peft_state.json is missing"), missing.getMessage());
    }

    @Test
    void hooksRunOnTheActiveAdapterOnlyWhileEnabledAndUnmerged() {
        PeftModel m = PeftModel.builder()
                .setBaseModel(mlp())
                .setConfig(RowScale.Config.of("0"))
                .build();
        RowScale.Layer l = m.getLayerAdapters("default", RowScale.Layer.class).get("0");
        m.afterStep(0, OptimizerAccess.NONE);
        m.disableAdapters();
        m.afterStep(1, OptimizerAccess.NONE);
        m.enableAdapters();
        m.merge();
        m.afterStep(2, OptimizerAccess.NONE);
        m.unmerge();
        assertEquals(1, l.steps);
        assertNull(m.getConfig("default").targets().taskType());
    }
}
