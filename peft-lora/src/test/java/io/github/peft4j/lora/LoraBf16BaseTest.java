package io.github.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.nn.Bf16Base;
import io.github.peft4j.core.nn.MixedLinear;
import io.github.peft4j.core.testing.ManagedTest;
import io.github.peft4j.core.testing.TestModels;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * LoRA on a base whose frozen weights are bf16 ({@link Bf16Base}): the adapter's gradients reach it through the bf16
 * operator of the layer after it and equal float32's within bf16's rounding; layers whose weight an adapter reads stay
 * float32; merging into and adding adapters to a bf16 base are refused.
 */
class LoraBf16BaseTest extends ManagedTest {

    private static Block base() {
        SequentialBlock b = new SequentialBlock().add(MixedLinear.of(32, true)).add(MixedLinear.of(8, true));
        b.initialize(manager, DataType.FLOAT32, new Shape(1, 16));
        TestModels.fill(b, 11);
        return b;
    }

    private static PeftModel lora(boolean dora) {
        return PeftModel.builder()
                .setBaseModel(base())
                .setConfig(LoraConfig.builder()
                        .setTargetModules("0")
                        .optRank(4)
                        .optAlpha(8)
                        .optInit(LoraInit.RANDOM)
                        .optUseDora(dora)
                        .build())
                .optSeed(5)
                .build();
    }

    private static NDArray random(NDManager m, Shape s, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[Math.toIntExact(s.size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return m.create(v, s);
    }

    /** dL/dA and dL/dB of layer 0's LoRA for L = Σ y ⊙ c. */
    private static float[][] gradients(PeftModel m) {
        LoraLayer l = (LoraLayer) m.getLayerAdapter(PeftModel.DEFAULT_ADAPTER, "0");
        try (NDManager s = manager.newSubManager()) {
            NDArray x = random(s, new Shape(5, 16), 1);
            NDArray c = random(s, new Shape(5, 8), 2);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray y = m.forward(new ParameterStore(s, false), new NDList(x), true)
                        .singletonOrThrow();
                gc.backward(y.mul(c).sum());
            }
            return new float[][] {
                l.getLoraA().getArray().getGradient().toFloatArray(),
                l.getLoraB().getArray().getGradient().toFloatArray()
            };
        }
    }

    @Test
    void loraGradientsFlowThroughTheBf16LayersAndMatchFloat32() {
        PeftModel fp32 = lora(false);
        PeftModel mixed = lora(false);
        Bf16Base.Result r = Bf16Base.store(mixed);
        assertEquals(List.of("0", "1"), r.converted());
        assertEquals(List.of(), r.kept());
        assertEquals((32 * 16 + 8 * 32) * 2L, r.bytesSaved());

        float[][] expected = gradients(fp32);
        float[][] actual = gradients(mixed);
        for (int p = 0; p < 2; p++) {
            double norm = 0;
            double err = 0;
            for (int i = 0; i < expected[p].length; i++) {
                norm = Math.max(norm, Math.abs(expected[p][i]));
                err = Math.max(err, Math.abs(expected[p][i] - actual[p][i]));
            }
            assertTrue(norm > 1e-2, "the float32 gradient must not vanish");
            // layer 0's adapter gets its gradient only through layer 1's bf16 operator; bf16 keeps 8 bits
            assertTrue(err <= 2e-2 * norm, (p == 0 ? "A" : "B") + ": max error " + err + " for max |g| " + norm);
            assertTrue(err > 0, "the bf16 path must have run (the gradients would otherwise be float32's exactly)");
        }
    }

    @Test
    void doraKeepsItsLayerInFloat32AndMergesAreRefusedOnBf16() {
        PeftModel dora = lora(true);
        Bf16Base.Result r = Bf16Base.store(dora);
        assertEquals(List.of("1"), r.converted());
        assertEquals(List.of("0 (adapter 'default' reads the base weight)"), r.kept());

        PeftModel plain = lora(false);
        Bf16Base.store(plain);
        IllegalStateException e = assertThrows(IllegalStateException.class, plain::merge);
        assertTrue(e.getMessage().contains("held in bf16") && e.getMessage().contains("float32"), e.getMessage());
        e = assertThrows(
                IllegalStateException.class,
                () -> plain.addAdapter(
                        "second",
                        LoraConfig.builder().setTargetModules("1").optRank(2).build()));
        assertTrue(e.getMessage().contains("before storing the base in bf16"), e.getMessage());
    }
}
