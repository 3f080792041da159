package io.github.peft4j.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.peft4j.core.io.Json;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** LiNeS: λ(l) = α + β·l/(L−1) by block, α outside; on LoRA adapters ΔW of each layer is multiplied by its λ. */
class LinesTest {

    @Test
    void blocksAreFoundInTheFamiliesPaths() {
        assertEquals(OptionalInt.of(3), Lines.layerOf("bert.encoder.layer.3.attention.self.query"));
        assertEquals(OptionalInt.of(11), Lines.layerOf("model.layers.11.self_attn.q_proj.weight"));
        assertEquals(OptionalInt.of(0), Lines.layerOf("transformer.h.0.attn.c_attn"));
        assertEquals(OptionalInt.empty(), Lines.layerOf("bert.pooler.dense"));
        assertEquals(OptionalInt.empty(), Lines.layerOf("model.embed_tokens.weight"));
        assertEquals(6, Lines.countLayers(List.of("a.layer.0.q", "a.layer.5.v", "a.pooler.dense")));
    }

    @Test
    void theFactorRisesLinearlyFromAlphaToAlphaPlusBeta() {
        Lines l = new Lines(Lines.DEFAULT_ALPHA, Lines.DEFAULT_BETA, 6);
        assertEquals(0.0, l.factor("encoder.layer.0.query"), 0);
        assertEquals(0.4, l.factor("encoder.layer.2.query"), 1e-12);
        assertEquals(1.0, l.factor("encoder.layer.5.query"), 1e-12);
        assertEquals(0.0, l.factor("pooler.dense"), 0);
        Lines merge = new Lines(0.5, 0.25, 6);
        assertEquals(0.5, merge.factor("encoder.layer.0.query"), 0);
        assertEquals(0.75, merge.factor("encoder.layer.5.query"), 1e-12);
        assertEquals(1.5, new Lines(0.5, 1, 1).factor("layer.0.q"), 0);
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> l.factor("encoder.layer.6.query"));
        assertTrue(e.getMessage().contains("6 layers"), e.getMessage());
    }

    @Test
    void eachLayersUpdateOfAnAdapterIsScaledByItsFactor() {
        SplittableRandom r = new SplittableRandom(4);
        Map<String, LoraFactors> layers = new LinkedHashMap<>();
        for (String path : List.of("encoder.layer.0.q", "encoder.layer.1.q", "encoder.layer.3.v", "pooler.dense")) {
            float[] a = new float[2 * 5];
            float[] b = new float[4 * 2];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) r.nextGaussian();
            }
            for (int i = 0; i < b.length; i++) {
                b[i] = (float) r.nextGaussian();
            }
            layers.put(path, new LoraFactors(a, b, 2, 5, 4, 1.5));
        }
        Map<String, LoraAdapter.Tensor> others = Map.of(
                "classifier.modules_to_save.default.weight", new LoraAdapter.Tensor(new float[] {7}, new long[] {1}));
        LoraAdapter adapter = new LoraAdapter(Json.MAPPER.createObjectNode().put("r", 2), layers, others);
        Lines lines = new Lines(0.1, 0.6, 4);
        LoraAdapter scaled = lines.apply(adapter);
        for (String path : layers.keySet()) {
            double s = lines.factor(path);
            double[] before = layers.get(path).deltaWeight();
            double[] after = scaled.layers().get(path).deltaWeight();
            for (int i = 0; i < before.length; i++) {
                assertEquals(s * before[i], after[i], 1e-6, path);
            }
        }
        assertEquals(0.1 + 0.6 / 3, lines.factor("encoder.layer.1.q"), 1e-12);
        assertSame(
                others.values().iterator().next(),
                scaled.others().values().iterator().next());
    }
}
