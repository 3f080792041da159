package io.github.peft4j.merge;

import static io.github.peft4j.merge.WeightedCombinationGoldenTest.golden;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.AdapterFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the golden comparison does not cover: DARE's seeded masks, saving, the modules saved whole, the errors. */
class WeightedCombinationTest {

    private static LoraAdapter input(String name) throws IOException {
        return LoraAdapter.read(golden("inputs/" + name));
    }

    private static LoraAdapter dare(long seed, CombinationType type) throws IOException {
        return WeightedCombination.builder()
                .addAdapter("a", input("a"), 0.7)
                .addAdapter("b", input("b"), 0.4)
                .setType(type)
                .optDensity(0.5)
                .optSeed(seed)
                .build()
                .combine();
    }

    @Test
    void adaptersOfDifferentBasesAreRefused() throws IOException {
        LoraAdapter in = input("a");
        LoraAdapter b = input("b");
        LoraAdapter a = new LoraAdapter(
                in.config().deepCopy().put("base_model_name_or_path", "some/model"), in.layers(), in.others());
        LoraAdapter other = new LoraAdapter(
                b.config().deepCopy().put("base_model_name_or_path", "another/model"), b.layers(), b.others());
        LoraAdapter same = new LoraAdapter(
                b.config().deepCopy().put("base_model_name_or_path", "some/model"), b.layers(), b.others());
        WeightedCombination.builder()
                .addAdapter("a", a, 1)
                .addAdapter("b", same, 1)
                .setType(CombinationType.CAT)
                .build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WeightedCombination.builder()
                .addAdapter("a", a, 1)
                .addAdapter("b", other, 1)
                .setType(CombinationType.CAT)
                .build());
        assertTrue(
                e.getMessage().contains("different base models")
                        && e.getMessage().contains("another/model"),
                e.getMessage());
    }

    @Test
    void dareIsReproducibleForASeedAndPrunes() throws IOException {
        for (CombinationType type : CombinationType.values()) {
            if (!type.isRandom()) {
                continue;
            }
            LoraAdapter x = dare(3, type);
            LoraAdapter y = dare(3, type);
            LoraAdapter z = dare(4, type);
            for (String path : x.layers().keySet()) {
                assertArrayEquals(x.layers().get(path).a(), y.layers().get(path).a(), type + " " + path);
                assertArrayEquals(x.layers().get(path).b(), y.layers().get(path).b(), type + " " + path);
                assertFalse(
                        Arrays.equals(
                                x.layers().get(path).b(), z.layers().get(path).b()),
                        "another seed");
            }
        }
        // dare_linear on the factors: about half of A's entries survive where only one adapter is (fc: a alone)
        float[] a = dare(3, CombinationType.DARE_LINEAR).layers().get("fc").a();
        long zeros = 0;
        for (float v : a) {
            zeros += v == 0 ? 1 : 0;
        }
        assertTrue(zeros > a.length / 5 && zeros < a.length * 4 / 5, zeros + " of " + a.length + " pruned");
    }

    @Test
    void savesInTheHuggingFaceLayoutAndReadsBack(@TempDir Path dir) throws IOException {
        WeightedCombination c = WeightedCombination.builder()
                .addAdapter("a", input("a"), 0.6)
                .addAdapter("c", input("c"), 1.3)
                .setType(CombinationType.CAT)
                .build();
        LoraAdapter combined = c.combine();
        Path out = dir.resolve("combined");
        combined.save(out, c.describe());
        assertTrue(Files.readString(out.resolve(AdapterFiles.CARD)).contains("`cat`, rank 6"));
        LoraAdapter back = LoraAdapter.read(out);
        assertEquals(6, back.config().path("r").asInt());
        assertEquals(combined.layers().keySet(), back.layers().keySet());
        for (String path : combined.layers().keySet()) {
            assertArrayEquals(
                    combined.layers().get(path).a(), back.layers().get(path).a(), path);
            assertArrayEquals(
                    combined.layers().get(path).b(), back.layers().get(path).b(), path);
            assertEquals(1.0, back.layers().get(path).scaling(), 0.0, "alpha = r");
        }
    }

    @Test
    void carriesTheModulesSavedWholeFromOneAdapter() throws IOException {
        LoraAdapter a = input("a");
        LoraAdapter.Tensor head = new LoraAdapter.Tensor(new float[] {1, 2, 3}, new long[] {3});
        ObjectNode cfg = a.config().deepCopy();
        cfg.putArray("modules_to_save").add("classifier");
        LoraAdapter withHead = new LoraAdapter(cfg, a.layers(), Map.of("classifier.bias", head));
        LoraAdapter otherHead = new LoraAdapter(
                cfg, input("b").layers(), Map.of("classifier.bias", new LoraAdapter.Tensor(new float[3], new long[] {3
                })));

        LoraAdapter one = WeightedCombination.builder()
                .addAdapter("b", input("b"), 1)
                .addAdapter("a", withHead, 1)
                .setType(CombinationType.CAT)
                .build()
                .combine();
        assertArrayEquals(head.values(), one.others().get("classifier.bias").values());
        assertEquals("classifier", one.config().path("modules_to_save").get(0).asText());

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WeightedCombination.builder()
                .addAdapter("a", withHead, 1)
                .addAdapter("b", otherHead, 1)
                .setType(CombinationType.CAT)
                .build()
                .combine());
        assertTrue(e.getMessage().contains("--modules-to-save-from"), e.getMessage());
        LoraAdapter chosen = WeightedCombination.builder()
                .addAdapter("a", withHead, 1)
                .addAdapter("b", otherHead, 1)
                .setType(CombinationType.CAT)
                .optModulesToSaveFrom("b")
                .build()
                .combine();
        assertArrayEquals(new float[3], chosen.others().get("classifier.bias").values());
    }

    @Test
    void refusesWhatPythonRefusesWithAClearMessage() throws IOException {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WeightedCombination.builder()
                .addAdapter("a", input("a"), 1)
                .addAdapter("c", input("c"), 1)
                .setType(CombinationType.LINEAR)
                .build()
                .combine());
        assertTrue(e.getMessage().contains("same r") && e.getMessage().contains("[4, 2]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> WeightedCombination.builder()
                .addAdapter("a", input("a"), 1)
                .addAdapter("b", input("b"), 1)
                .setType(CombinationType.TIES)
                .build());
        assertTrue(e.getMessage().contains("density"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> WeightedCombination.builder()
                .addAdapter("a", input("a"), 1)
                .addAdapter("b", input("b"), 1)
                .setType(CombinationType.SVD)
                .optSvdRank(7)
                .build()
                .combine());
        assertTrue(e.getMessage().contains("fc") && e.getMessage().contains("min(out, in) = 6"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CombinationType.parse("average"));
        assertNotEquals(CombinationType.parse("DARE_TIES_SVD"), CombinationType.DARE_TIES);
    }
}
