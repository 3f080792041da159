package io.github.peft4j.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.peft4j.core.io.Json;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every deterministic combination type against Python PEFT 0.21's {@code add_weighted_adapter} on the same three
 * adapters (files written by {@code golden/weighted/make_golden.py}): same rank, target modules and layers; the same
 * A and B for the factor-wise types and {@code cat}; the same B·A for the SVD types (their factors are unique only up
 * to the sign of each singular pair) within 1e-4; and, for the exact types, an update equal to Σ w_i ΔW_i computed here
 * from the inputs.
 */
class WeightedCombinationGoldenTest {

    static Path golden(String name) {
        try {
            return Path.of(WeightedCombinationGoldenTest.class
                    .getResource("/golden/weighted/" + name)
                    .toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static Stream<Arguments> cases() throws IOException {
        List<Arguments> out = new ArrayList<>();
        for (JsonNode c : Json.MAPPER.readTree(Files.readString(golden("cases.json")))) {
            out.add(Arguments.of(c.path("name").asText(), c));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesPython(String name, JsonNode c) throws IOException {
        List<LoraAdapter> inputs = new ArrayList<>();
        WeightedCombination.Builder b = builder(c, true, inputs);
        LoraAdapter python = LoraAdapter.read(golden("combined/" + name));
        if (c.has("svd_clamp")) {
            assertClampMatches(
                    builder(c, false, new ArrayList<>()),
                    python,
                    c.path("svd_clamp").asDouble());
            return;
        }
        LoraAdapter ours = b.build().combine();

        assertEquals(python.config().path("r").asInt(), ours.config().path("r").asInt(), "r");
        assertEquals(
                python.config().path("lora_alpha").asInt(),
                ours.config().path("lora_alpha").asInt(),
                "alpha");
        assertEquals(
                strings(python.config().path("target_modules")),
                strings(ours.config().path("target_modules")));
        assertFalse(ours.config().path("use_rslora").asBoolean(), "the combined factors are meant for scaling 1");
        assertEquals(python.layers().keySet(), ours.layers().keySet());

        CombinationType type = CombinationType.parse(c.path("combination_type").asText());
        boolean factorsUnique = !type.isSvd() || c.path("adapters").size() == 1;
        for (String path : python.layers().keySet()) {
            LoraFactors p = python.layers().get(path);
            LoraFactors o = ours.layers().get(path);
            assertEquals(p.rank(), o.rank(), path + " rank");
            assertEquals(p.in(), o.in(), path + " in");
            assertEquals(p.out(), o.out(), path + " out");
            if (factorsUnique) {
                assertClose(p.a(), o.a(), 1e-5, path + " A");
                assertClose(p.b(), o.b(), 1e-5, path + " B");
            }
            assertClose(p.unscaledProduct(), o.unscaledProduct(), 1e-4, path + " B·A");
            boolean exact = (type == CombinationType.SVD && !c.has("svd_clamp"))
                    || type == CombinationType.LINEAR
                    || type == CombinationType.CAT;
            if (exact) {
                assertExactUpdate(c, inputs, path, o, type);
            }
        }
    }

    /** The case's combination; its adapters are added to {@code inputs}. */
    private static WeightedCombination.Builder builder(JsonNode c, boolean withClamp, List<LoraAdapter> inputs)
            throws IOException {
        WeightedCombination.Builder b = WeightedCombination.builder()
                .setType(CombinationType.parse(c.path("combination_type").asText()));
        for (int i = 0; i < c.path("adapters").size(); i++) {
            String a = c.path("adapters").get(i).asText();
            LoraAdapter adapter = LoraAdapter.read(golden("inputs/" + a));
            inputs.add(adapter);
            b.addAdapter(a, adapter, c.path("weights").get(i).asDouble());
        }
        if (c.has("density")) {
            b.optDensity(c.path("density").asDouble());
        }
        if (c.has("majority_sign_method")) {
            b.optMajoritySign(MajoritySign.parse(c.path("majority_sign_method").asText()));
        }
        if (c.has("svd_rank")) {
            b.optSvdRank(c.path("svd_rank").asInt());
        }
        if (withClamp && c.has("svd_clamp")) {
            b.optSvdClamp(c.path("svd_clamp").asDouble());
        }
        return b;
    }

    /**
     * svd_clamp clamps U S and Vᵀ at a quantile of their entries, which depends on the sign LAPACK gave each singular
     * pair (PyTorch's MKL and peft4j's OpenBLAS differ here): the unclamped factors are aligned to Python's signs, then
     * clamped, and must equal Python's.
     */
    private static void assertClampMatches(WeightedCombination.Builder b, LoraAdapter python, double quantile) {
        LoraAdapter unclamped = b.build().combine();
        for (String path : python.layers().keySet()) {
            LoraFactors p = python.layers().get(path);
            LoraFactors o = unclamped.layers().get(path);
            float[] a = o.a().clone();
            float[] bb = o.b().clone();
            for (int k = 0; k < o.rank(); k++) {
                double dot = 0;
                for (int j = 0; j < o.in(); j++) {
                    dot += (double) a[k * o.in() + j] * p.a()[k * o.in() + j];
                }
                if (dot < 0) {
                    for (int j = 0; j < o.in(); j++) {
                        a[k * o.in() + j] = -a[k * o.in() + j];
                    }
                    for (int i = 0; i < o.out(); i++) {
                        bb[i * o.rank() + k] = -bb[i * o.rank() + k];
                    }
                }
            }
            WeightedCombination.clamp(a, bb, quantile);
            assertClose(p.a(), a, 1e-5, path + " clamped A");
            assertClose(p.b(), bb, 1e-5, path + " clamped B");
        }
    }

    /** Σ w_i s_i B_i A_i over the adapters that have the layer (linear only when the factors multiply out to it). */
    private static void assertExactUpdate(
            JsonNode c, List<LoraAdapter> inputs, String path, LoraFactors o, CombinationType type) {
        if (type == CombinationType.LINEAR && inputs.size() > 1) {
            return; // Python's linear averages A's and B's separately: not the weighted sum of the updates
        }
        double[] expected = new double[o.out() * o.in()];
        for (int i = 0; i < inputs.size(); i++) {
            LoraFactors f = inputs.get(i).layers().get(path);
            if (f == null) {
                continue;
            }
            double w = c.path("weights").get(i).asDouble();
            double[] d = f.deltaWeight();
            for (int j = 0; j < d.length; j++) {
                expected[j] += w * d[j];
            }
        }
        if (type == CombinationType.SVD && o.rank() < Math.min(o.in(), o.out())) {
            int full = 0;
            for (LoraAdapter a : inputs) {
                full += a.layers().containsKey(path) ? a.layers().get(path).rank() : 0;
            }
            if (o.rank() < full) {
                return; // truncated: only the top singular pairs of the sum
            }
        }
        assertClose(expected, o.deltaWeight(), 1e-4, path + " ΔW = Σ w_i ΔW_i");
    }

    private static Set<String> strings(JsonNode n) {
        Set<String> s = new HashSet<>();
        n.forEach(e -> s.add(e.asText()));
        return s;
    }

    private static void assertClose(float[] expected, float[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + " size");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tol, what + "[" + i + "]");
        }
    }

    private static void assertClose(double[] expected, double[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + " size");
        double max = 0;
        for (double v : expected) {
            max = Math.max(max, Math.abs(v));
        }
        assertTrue(max > 0, what + ": the reference must not be zero");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tol * Math.max(1, max), what + "[" + i + "]");
        }
    }
}
