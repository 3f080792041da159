package io.github.peft4j.diagnose;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.Safetensors;
import io.github.peft4j.merge.LoraAdapter;
import io.github.peft4j.merge.LoraFactors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Intruder dimensions, effective rank and the reduction on matrices whose singular vectors are known: a base W whose
 * left singular vectors are the first 10 of 12 standard directions, an update along the 12th (nowhere in W's column
 * space: an intruder) or along W's own directions (none).
 */
class SpectralDiagnosisTest {

    private static final int OUT = 12;
    private static final int IN = 10;

    /** W = Σ sᵢ eᵢ fᵢᵀ, i < 10, sᵢ from 1 to 2. */
    private static double[] base() {
        double[] w = new double[OUT * IN];
        for (int i = 0; i < IN; i++) {
            w[i * IN + i] = 1 + i / 9.0;
        }
        return w;
    }

    /** A rank-1 LoRA layer B·A with B along e₁₁ (c·e₁₁) and A a fixed unit row. */
    private static LoraFactors intruding(double c) {
        float[] b = new float[OUT];
        b[OUT - 1] = (float) c;
        float[] a = new float[IN];
        SplittableRandom r = new SplittableRandom(3);
        double n = 0;
        for (int j = 0; j < IN; j++) {
            a[j] = (float) r.nextGaussian();
            n += a[j] * a[j];
        }
        for (int j = 0; j < IN; j++) {
            a[j] /= (float) Math.sqrt(n);
        }
        return new LoraFactors(a, b, 1, IN, OUT, 1.0);
    }

    @Test
    void anUpdateOutsideTheColumnSpaceIsAnIntruderAndOneAlongItIsNot() {
        SpectralDiagnosis d = SpectralDiagnosis.builder().build();
        LayerDiagnosis intruder = d.layer("layer.0.q", base(), intruding(10).deltaWeight(), OUT, IN);
        assertEquals(1, intruder.intruders(), "the top direction e11 has no counterpart in W");
        assertTrue(intruder.bestCosines()[0] < 0.25, "cosine " + intruder.bestCosines()[0]);
        assertEquals(1.0, intruder.effectiveRank(), 1e-6, "a rank-1 update has effective rank 1");
        double normW = 0;
        for (double v : base()) {
            normW += v * v;
        }
        assertEquals(10 / Math.sqrt(normW), intruder.relativeNorm(), 1e-6);
        assertEquals(10, intruder.updateSpectrum()[0], 1e-5);
        assertEquals(2, intruder.baseSpectrum()[0], 1e-9);

        // the same size along W's own directions: W + ΔW keeps W's singular vectors
        double[] along = new double[OUT * IN];
        along[0] = 5;
        along[IN + 1] = 5;
        LayerDiagnosis none = d.layer("layer.0.q", base(), along, OUT, IN);
        assertEquals(0, none.intruders());
        assertEquals(2.0, none.effectiveRank(), 1e-9, "two equal singular values");
        for (double c : none.bestCosines()) {
            assertEquals(1.0, c, 1e-9);
        }
        // a small intruding update stays below W's top singular values: not among the tested directions' leaders
        LayerDiagnosis small = SpectralDiagnosis.builder()
                .optTopK(3)
                .build()
                .layer("layer.0.q", base(), intruding(0.1).deltaWeight(), OUT, IN);
        assertEquals(0, small.intruders());
    }

    @Test
    void effectiveRankIsTheExponentialOfTheEntropy() {
        assertEquals(1.0, SpectralDiagnosis.effectiveRank(new double[] {3, 0, 0}), 1e-12);
        assertEquals(4.0, SpectralDiagnosis.effectiveRank(new double[] {2, 2, 2, 2}), 1e-12);
        double[] s = {3, 1};
        double h = -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25));
        assertEquals(Math.exp(h), SpectralDiagnosis.effectiveRank(s), 1e-12);
    }

    @Test
    void reductionShrinksTheIntruderByLambda(@TempDir Path dir) throws IOException {
        Path model = dir.resolve("base");
        Files.createDirectories(model);
        try (NDManager m = NDManager.newBaseManager()) {
            float[] w = new float[OUT * IN];
            double[] b = base();
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) b[i];
            }
            Map<String, NDArray> t = new TreeMap<>();
            t.put("layer.0.q.weight", m.create(w, new Shape(OUT, IN)));
            Safetensors.write(model.resolve("model.safetensors"), t, Map.of("format", "pt"));
        }
        LoraFactors f = intruding(10);
        LoraAdapter adapter =
                new LoraAdapter(Json.MAPPER.createObjectNode().put("r", 1), Map.of("layer.0.q", f), Map.of());
        SpectralDiagnosis d = SpectralDiagnosis.builder().build();
        assertEquals(1, d.ofAdapter(adapter, model).get(0).intruders());

        IntruderReduction.Result kept = IntruderReduction.apply(adapter, model, d, 1.0);
        assertEquals(Map.of("layer.0.q", 1), kept.intrudersByLayer());
        double[] before = f.deltaWeight();
        double[] same = kept.adapter().layers().get("layer.0.q").deltaWeight();
        for (int i = 0; i < before.length; i++) {
            assertEquals(before[i], same[i], 1e-5, "lambda 1 changes nothing");
        }

        IntruderReduction.Result removed = IntruderReduction.apply(adapter, model, d, 0.0);
        LoraFactors g = removed.adapter().layers().get("layer.0.q");
        assertEquals(1, g.rank());
        List<LayerDiagnosis> after = d.ofAdapter(removed.adapter(), model);
        assertEquals(0, after.get(0).intruders(), "the intruder is gone");
        assertTrue(
                after.get(0).relativeNorm()
                        < 0.2 * d.ofAdapter(adapter, model).get(0).relativeNorm(),
                "most of the update was the intruder: " + after.get(0).relativeNorm());
    }
}
