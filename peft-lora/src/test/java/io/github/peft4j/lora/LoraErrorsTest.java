package io.github.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.io.AdapterFiles;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.SafetensorsException;
import io.github.peft4j.core.testing.ManagedTest;
import io.github.peft4j.core.testing.TestModels;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input gets a clear error and leaves the model and the user's files as they were. */
class LoraErrorsTest extends ManagedTest {

    private static PeftModel encoder(LoraConfig config) {
        return PeftModel.builder()
                .setBaseModel(TestModels.tinyEncoder(manager, 2, DataType.FLOAT32))
                .setConfig(config)
                .build();
    }

    @Test
    void rankMustBePositive() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> LoraConfig.builder().setTargetModules("query").optRank(0).build());
        assertEquals("LoraConfig.r must be ≥ 1; got 0", e.getMessage());
    }

    @Test
    void rankAboveLayerSizeNamesTheLayer() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> encoder(LoraConfig.builder()
                        .setTargetModules("classifier")
                        .optRank(4)
                        .build()));
        assertEquals("LoraConfig.r must be in [1, min(in=16, out=3)] for 'classifier'; got 4", e.getMessage());
    }

    @Test
    void failedInjectionLeavesBaseModelUntouched() {
        var base = TestModels.tinyEncoder(manager, 2, DataType.FLOAT32);
        assertThrows(IllegalArgumentException.class, () -> PeftModel.builder()
                .setBaseModel(base)
                .setConfig(LoraConfig.builder()
                        .setTargetModules("query", "classifier")
                        .optRank(4)
                        .build())
                .build());
        base.getParameters().values().forEach(p -> assertTrue(p.requiresGradient(), p.getName()));
    }

    @Test
    void targetThatMatchesNothingListsClosestPaths() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> encoder(LoraConfig.builder().setTargetModules("quer").build()));
        assertTrue(
                e.getMessage().startsWith("target_modules [\"quer\"] matched no module of the model."), e.getMessage());
        assertTrue(e.getMessage().contains("Closest module paths: [encoder.0.query, encoder.1.query"), e.getMessage());
        assertTrue(
                e.getMessage().contains("linear layer names: [classifier, dense, key, query, value]"), e.getMessage());
    }

    @Test
    void targetThatIsNotLinearIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PeftModel.builder()
                .setBaseModel(TestModels.mlp(manager, 1, DataType.FLOAT32))
                .setConfig(LoraConfig.builder().setTargetModules("1").build())
                .build());
        assertTrue(e.getMessage().contains("matched '1', a LambdaBlock; LORA adapts linear layers"), e.getMessage());
    }

    @Test
    void excludeModulesWins() {
        PeftModel m = encoder(LoraConfig.builder()
                .setTargetModules("query", "value")
                .optExcludeModules(io.github.peft4j.core.ModuleSelector.names("encoder.1.value"))
                .build());
        assertEquals(
                java.util.List.of("encoder.0.query", "encoder.0.value", "encoder.1.query"),
                m.getTargetPaths(PeftModel.DEFAULT_ADAPTER));
    }

    private Path savedAdapter(Path dir, int rank) throws IOException {
        PeftModel m = encoder(LoraConfig.builder()
                .setTargetModules("query")
                .optRank(rank)
                .optInit(LoraInit.RANDOM)
                .build());
        m.saveAdapters(dir);
        return dir;
    }

    @Test
    void shapeMismatchNamesTensorAndBothShapes(@TempDir Path tmp) throws IOException {
        Path dir = savedAdapter(tmp.resolve("a"), 4);
        ObjectNode cfg = Json.readObject(dir.resolve(AdapterFiles.CONFIG));
        cfg.put("r", 2);
        Files.writeString(dir.resolve(AdapterFiles.CONFIG), Json.write(cfg));
        PeftModel fresh = PeftModel.builder()
                .setBaseModel(TestModels.tinyEncoder(manager, 2, DataType.FLOAT32))
                .build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> fresh.loadAdapter(dir, "x"));
        assertTrue(
                e.getMessage().startsWith("tensor 'base_model.model.encoder.0.query.lora_A.weight' in "),
                e.getMessage());
        assertTrue(e.getMessage().endsWith("has shape (4, 16) but the model expects (2, 16)"), e.getMessage());
        assertTrue(fresh.getAdapterNames().isEmpty(), "a failed load must not leave an adapter behind");
    }

    @Test
    void adapterOfAnotherModelIsRejected(@TempDir Path tmp) throws IOException {
        Path dir = savedAdapter(tmp.resolve("a"), 2);
        PeftModel mlp = PeftModel.builder()
                .setBaseModel(TestModels.mlp(manager, 1, DataType.FLOAT32))
                .build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> mlp.loadAdapter(dir, "x"));
        assertTrue(e.getMessage().contains("matched no module"), e.getMessage());
    }

    @Test
    void truncatedSafetensorsIsRejected(@TempDir Path tmp) throws IOException {
        Path dir = savedAdapter(tmp.resolve("a"), 2);
        Path w = dir.resolve(AdapterFiles.WEIGHTS);
        byte[] b = Files.readAllBytes(w);
        Files.write(w, Arrays.copyOf(b, b.length - 10));
        PeftModel fresh = PeftModel.builder()
                .setBaseModel(TestModels.tinyEncoder(manager, 2, DataType.FLOAT32))
                .build();
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> fresh.loadAdapter(dir, "x"));
        assertTrue(e.getMessage().contains("truncated or corrupted"), e.getMessage());
        assertTrue(fresh.getAdapterNames().isEmpty());
    }

    @Test
    void corruptedHeaderIsRejected(@TempDir Path tmp) throws IOException {
        Path dir = savedAdapter(tmp.resolve("a"), 2);
        Path w = dir.resolve(AdapterFiles.WEIGHTS);
        byte[] b = Files.readAllBytes(w);
        b[8] = 'x'; // the header no longer starts a JSON object
        Files.write(w, b);
        PeftModel fresh = PeftModel.builder()
                .setBaseModel(TestModels.tinyEncoder(manager, 2, DataType.FLOAT32))
                .build();
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> fresh.loadAdapter(dir, "x"));
        assertTrue(e.getMessage().contains("corrupted safetensors header"), e.getMessage());
    }

    @Test
    void overlappingTensorsAreRejected(@TempDir Path tmp) throws IOException {
        String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer bb = ByteBuffer.allocate(8 + h.length + 12).order(ByteOrder.LITTLE_ENDIAN);
        bb.putLong(h.length).put(h);
        Path f = tmp.resolve("x.safetensors");
        Files.write(f, bb.array());
        SafetensorsException e =
                assertThrows(SafetensorsException.class, () -> io.github.peft4j.core.io.Safetensors.read(f, manager));
        assertTrue(
                e.getMessage().contains("tensor 'b' starts at byte 4 of the data section but 8 was expected"),
                e.getMessage());
    }

    @Test
    void wrongPeftTypeIsRejected(@TempDir Path tmp) throws IOException {
        Path dir = savedAdapter(tmp.resolve("a"), 2);
        ObjectNode cfg = Json.readObject(dir.resolve(AdapterFiles.CONFIG));
        cfg.put("peft_type", "IA3");
        Files.writeString(dir.resolve(AdapterFiles.CONFIG), Json.write(cfg));
        PeftModel fresh = PeftModel.builder()
                .setBaseModel(TestModels.tinyEncoder(manager, 2, DataType.FLOAT32))
                .build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> fresh.loadAdapter(dir, "x"));
        assertTrue(
                e.getMessage()
                        .startsWith(dir.resolve("adapter_config.json") + ": peft_type 'IA3' is not"
                                + " supported by the peft4j modules on the class path; supported: [LORA]"),
                e.getMessage());
    }

    @Test
    void corruptConfigJsonIsRejected(@TempDir Path tmp) throws IOException {
        Path dir = savedAdapter(tmp.resolve("a"), 2);
        Files.writeString(dir.resolve(AdapterFiles.CONFIG), "{\"peft_type\": \"LORA\", \"r\": ");
        PeftModel fresh = PeftModel.builder()
                .setBaseModel(TestModels.tinyEncoder(manager, 2, DataType.FLOAT32))
                .build();
        IOException e = assertThrows(IOException.class, () -> fresh.loadAdapter(dir, "x"));
        assertTrue(e.getMessage().contains("adapter_config.json is not valid JSON"), e.getMessage());
    }

    @Test
    void missingDirectorySaysWhatIsExpected(@TempDir Path tmp) {
        PeftModel fresh = PeftModel.builder()
                .setBaseModel(TestModels.tinyEncoder(manager, 2, DataType.FLOAT32))
                .build();
        IOException e = assertThrows(IOException.class, () -> fresh.loadAdapter(tmp.resolve("nope"), "x"));
        assertTrue(e.getMessage().startsWith("not an adapter directory: "), e.getMessage());
    }

    @Test
    void unsupportedPythonOptionsAreNamed() {
        ObjectNode json = LoraConfig.builder().setTargetModules("query").build().toJson();
        json.put("bias", "all");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LoraConfig.fromJson(json));
        assertEquals("LoraConfig.bias = \"all\" is not supported by peft4j (expected \"none\")", e.getMessage());
    }

    @Test
    void adapterNamesThatCollideWithFilesAreRejected() {
        PeftModel m = encoder(LoraConfig.builder().setTargetModules("query").build());
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> m.addAdapter(
                        "adapter_config.json",
                        LoraConfig.builder().setTargetModules("value").build()));
        assertTrue(e.getMessage().startsWith("adapter name 'adapter_config.json' is reserved"), e.getMessage());
        assertThrows(
                IllegalArgumentException.class,
                () -> m.addAdapter(
                        "../x", LoraConfig.builder().setTargetModules("value").build()));
    }
}
