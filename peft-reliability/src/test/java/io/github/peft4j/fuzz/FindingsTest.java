package io.github.peft4j.fuzz;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterMethods;
import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.models.bert.BertTokenizer;
import io.github.peft4j.models.bert.MiniLm;
import io.github.peft4j.models.text.HfTokenizer;
import io.github.peft4j.testing.TinyDecoders;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regression tests of what fuzzing found, and of the refusals the issue names. Each tokenizer case below made the
 * tokenizers library that DJL 0.36 bundles panic and abort the whole JVM before {@code TokenizerJsonCheck} (checked by
 * hand, one process per case); now each is an {@link IOException} naming the problem, and real tokenizers pass.
 */
class FindingsTest {

    @TempDir
    Path tmp;

    private Path tokenizerDir(String name, UnaryOperator<String> edit) throws IOException {
        Path base = TinyDecoders.copy("llama", tmp.resolve("src-" + name)).resolve("base");
        Path dir = Files.createDirectories(tmp.resolve(name));
        for (String f : TokenizerTarget.FILES) {
            Files.copy(base.resolve(f), dir.resolve(f));
        }
        Files.writeString(dir.resolve("tokenizer.json"), edit.apply(Files.readString(base.resolve("tokenizer.json"))));
        return dir;
    }

    /** Inserts raw JSON text at the start of the decoder object, where the library turns errors into panics. */
    private static UnaryOperator<String> inDecoder(String raw) {
        return s -> {
            int i = s.indexOf("\"decoder\"");
            int brace = s.indexOf('{', i) + 1;
            return s.substring(0, brace) + raw + s.substring(brace);
        };
    }

    private static UnaryOperator<String> edited(java.util.function.Consumer<ObjectNode> change) {
        return s -> {
            try {
                ObjectNode o = (ObjectNode) Json.MAPPER.readTree(s);
                change.accept(o);
                return Json.write(o);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
    }

    @Test
    void tokenizerFilesThatAbortedTheJvmAreRefusedWithAMessage() throws IOException {
        Map<String, UnaryOperator<String>> cases = new LinkedHashMap<>();
        cases.put("was expecting double-quote", inDecoder("1: 2, "));
        cases.put("nesting depth", inDecoder("\"zz\": " + "[".repeat(130) + "]".repeat(130) + ", "));
        cases.put("out of range", inDecoder("\"zz\": 1e400, "));
        cases.put("unpaired surrogate", inDecoder("\"zz\": \"\\ud800\", "));
        cases.put("stride", edited(o -> o.putObject("truncation")
                .put("direction", "Right")
                .put("max_length", 4)
                .put("strategy", "LongestFirst")
                .put("stride", 8)));
        cases.put("special_tokens does not define", edited(o -> {
            ObjectNode pp = o.putObject("post_processor");
            pp.put("type", "TemplateProcessing");
            ArrayNode single = pp.putArray("single");
            single.addObject().putObject("SpecialToken").put("id", "<zz>").put("type_id", 0);
            single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
            pp.putArray("pair").addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
            pp.putObject("special_tokens");
        }));
        cases.put("length ≥ 1", edited(o -> o.putObject("pre_tokenizer")
                .put("type", "FixedLength")
                .put("length", 0)));
        cases.put("precompiled_charsmap is not base64", edited(o -> o.putObject("normalizer")
                .put("type", "Precompiled")
                .put("precompiled_charsmap", "AAAA!!")));
        for (Map.Entry<String, UnaryOperator<String>> c : cases.entrySet()) {
            Path dir = tokenizerDir(c.getKey().replaceAll("[^a-z]", ""), c.getValue());
            IOException e = assertThrows(IOException.class, () -> HfTokenizer.open(dir), c.getKey());
            assertTrue(
                    e.getMessage().contains(c.getKey()) && e.getMessage().contains("tokenizer.json"), e.getMessage());
            IOException b = assertThrows(IOException.class, () -> BertTokenizer.open(dir, 16), c.getKey());
            assertTrue(b.getMessage().contains(c.getKey()), b.getMessage());
        }
    }

    @Test
    void realTokenizersPassTheCheck() throws IOException {
        for (String family : TinyDecoders.FAMILIES) {
            Path base = TinyDecoders.copy(family, tmp).resolve("base");
            try (HfTokenizer t = HfTokenizer.open(base)) {
                assertTrue(t.encode("Is this spam?", true).length > 0, family);
            }
        }
        try (BertTokenizer t = BertTokenizer.open(MiniLm.directory(), 16)) {
            assertTrue(t.encode(java.util.List.of("Is this spam?")).inputIds()[0].length > 2);
        }
    }

    @Test
    void anIntegerBeyondIntInAnAdapterConfigIsRefusedNotWrapped() throws IOException {
        // found by MutationSmokeTest: r = 4294967304 threw ArithmeticException (and (int) casts elsewhere wrapped it)
        for (String type : new String[] {"LORA", "LOHA", "POLY", "DSEE"}) {
            for (String r : new String[] {"4294967304", "99999999999999999999", "1e30"}) {
                ObjectNode cfg = (ObjectNode) Json.MAPPER.readTree(
                        "{\"peft_type\": \"" + type + "\", \"r\": " + r + ", \"target_modules\": [\"q_proj\"]}");
                IllegalArgumentException e = assertThrows(
                        IllegalArgumentException.class,
                        () -> AdapterMethods.forPeftType(type).parseConfig(cfg),
                        type + " r = " + r);
                assertTrue(e.getMessage().contains("out of range"), e.getMessage());
            }
        }
    }

    @Test
    void aBacktrackingTargetModulesExpressionFailsFastInsteadOfHanging() {
        // found by the campaign (Jazzer's regex-injection sanitizer): target_modules is a regex when a string, as in
        // Python PEFT; java.util.regex backtracks without bound, so matching reads a budget of characters
        long t0 = System.nanoTime();
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> ModuleSelector.regex("model\\.(.*a){20}b")
                        .matches("model." + "a".repeat(40)));
        assertTrue(e.getMessage().contains("backtracks without end"), e.getMessage());
        assertTrue((System.nanoTime() - t0) / 1e9 < 5, "fails fast");
        assertTrue(ModuleSelector.regex(".*\\.(q|v)_proj").matches("model.layers.0.self_attn.q_proj"));
        assertFalse(ModuleSelector.regex(".*\\.(q|v)_proj").matches("model.layers.0.self_attn.k_proj"));
    }

    @Test
    void aSafetensorsHeaderClaimingATerabyteIsRefusedBeforeAllocating() throws IOException {
        String header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[274877906944],\"data_offsets\":[0,1099511627776]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + 16).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path f = tmp.resolve("tb.safetensors");
        Files.write(f, b.array());
        // within the harness's allocation bound (64 MiB + 64 bytes per input byte): nothing sized by the claim
        assertFalse(Harness.check("1 TB claim", b.capacity(), () -> {
            try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
                io.github.peft4j.core.io.Safetensors.read(f, m);
            }
        }));
    }
}
