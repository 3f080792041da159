package io.github.peft4j.lora.init;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.io.Safetensors;
import io.github.peft4j.lora.LoraConfig;
import io.github.peft4j.lora.LoraLayer;
import io.github.peft4j.models.decoder.Decoders;
import io.github.peft4j.testing.TinyDecoders;
import io.github.peft4j.train.CausalLmData;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * CorDA against Python PEFT ({@code golden/corda/make_golden.py}): on the tiny Llama with Python's 6 sample sequences,
 * each layer's update s·B A and residual W − s·B A equal Python's (the products, which do not depend on the signs the
 * two SVDs choose), in both modes; and the adapted model's output at step 0 is the base model's.
 */
class CordaTest {

    @TempDir
    Path tmp;

    private static double[] product(float[] a, float[] b, int out, int r, int in, double s) {
        double[] p = new double[out * in];
        for (int i = 0; i < out; i++) {
            for (int k = 0; k < r; k++) {
                double bik = b[i * r + k];
                for (int j = 0; j < in; j++) {
                    p[i * in + j] += s * bik * a[k * in + j];
                }
            }
        }
        return p;
    }

    private static float[] logits(PeftModel m, NDManager s, long[][] ids) {
        return m.forward(new ParameterStore(s, false), new NDList(s.create(ids)), false)
                .singletonOrThrow()
                .toFloatArray();
    }

    @ParameterizedTest
    @EnumSource(Corda.Mode.class)
    void matchesPythonsCorda(Corda.Mode mode) throws IOException, URISyntaxException {
        Path golden = Path.of(
                CordaTest.class.getResource("/golden/corda/corda.safetensors").toURI());
        Path dir = TinyDecoders.copy("llama", tmp);
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> t = Safetensors.read(golden, m).tensors();
            long[] flat = t.get("samples").toLongArray();
            List<long[]> ids = new ArrayList<>();
            List<boolean[]> counted = new ArrayList<>();
            long[][] batch = new long[6][];
            for (int i = 0; i < 6; i++) {
                ids.add(Arrays.copyOfRange(flat, i * 12, (i + 1) * 12));
                batch[i] = ids.get(i);
                boolean[] c = new boolean[12];
                Arrays.fill(c, true);
                counted.add(c);
            }
            PeftModel peft = PeftModel.builder()
                    .setBaseModel(Decoders.load(dir.resolve("base"), m))
                    .setConfig(LoraConfig.builder()
                            .setTargetModules("q_proj", "v_proj")
                            .optRank(4)
                            .optAlpha(8)
                            .build())
                    .build();
            float[] before;
            try (NDManager s = m.newSubManager()) {
                peft.disableAdapters();
                before = logits(peft, s, batch);
                peft.enableAdapters();
            }
            Corda.initialize(
                    peft,
                    PeftModel.DEFAULT_ADAPTER,
                    new CausalLmData(ids, counted, 0),
                    mode,
                    6,
                    in -> in.size() > 1 ? in.get(1) : null);
            String prefix = mode.name().toLowerCase() + ".";
            for (Map.Entry<String, LoraLayer> e : peft.getLayerAdapters(PeftModel.DEFAULT_ADAPTER, LoraLayer.class)
                    .entrySet()) {
                LoraLayer l = e.getValue();
                int out = (int) l.getTarget().outFeatures();
                int in = (int) l.getTarget().inFeatures();
                double[] ours = product(
                        l.getLoraA().getArray().toFloatArray(),
                        l.getLoraB().getArray().toFloatArray(),
                        out,
                        4,
                        in,
                        l.getScaling());
                double[] theirs = product(
                        t.get(prefix + e.getKey() + ".lora_A").toFloatArray(),
                        t.get(prefix + e.getKey() + ".lora_B").toFloatArray(),
                        out,
                        4,
                        in,
                        l.getScaling());
                double scale = 0;
                double diff = 0;
                for (int i = 0; i < ours.length; i++) {
                    scale = Math.max(scale, Math.abs(theirs[i]));
                    diff = Math.max(diff, Math.abs(ours[i] - theirs[i]));
                }
                assertTrue(diff <= 1e-3 * scale, mode + " " + e.getKey() + ": max |Δ(sBA)| " + diff + " of " + scale);
                // Python's residual is W − sBA: the same W minus the same product
                float[] w = l.getTarget().weight().getArray().toFloatArray();
                float[] residual = t.get(prefix + e.getKey() + ".residual").toFloatArray();
                double rd = 0;
                for (int i = 0; i < w.length; i++) {
                    rd = Math.max(rd, Math.abs(w[i] - theirs[i] - residual[i]));
                }
                assertTrue(rd <= 1e-5, mode + " " + e.getKey() + ": residual " + rd);
            }
            try (NDManager s = m.newSubManager()) {
                float[] after = logits(peft, s, batch);
                double d = 0;
                for (int i = 0; i < after.length; i++) {
                    d = Math.max(d, Math.abs(after[i] - before[i]));
                }
                assertTrue(d <= 1e-4, "the output is unchanged at step 0: " + d);
            }
            assertEquals(
                    2 * 2,
                    peft.getLayerAdapters(PeftModel.DEFAULT_ADAPTER, LoraLayer.class)
                            .size());
            assertThrows(
                    IllegalArgumentException.class,
                    () -> Corda.initialize(peft, "nope", new CausalLmData(ids, counted, 0), mode, 6, null));
        }
    }
}
