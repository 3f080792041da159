package io.github.peft4j.models.decoder;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import org.junit.jupiter.api.Test;

/**
 * Each decoder layer frees its temporaries when it ends: after a training forward pass of the two-layer tiny Llama the
 * batch's manager holds the inputs, the mask and RoPE tables, each layer's output and the logits (35 arrays), not every
 * intermediate of every layer (149 without the layer scopes). That the gradients stay right with the scopes is
 * {@link DecoderGradientTest}'s finite-difference check, which runs through them.
 */
class LayerScopeTest {

    @Test
    void aForwardPassKeepsOnlyWhatOutlivesTheLayers() {
        try (NDManager m = NDManager.newBaseManager()) {
            CausalLanguageModel model = Decoders.create(DecoderGradientTest.tinyLlama());
            model.setInitializer(new NormalInitializer(0.5f), p -> true);
            Engine.getInstance().setRandomSeed(3);
            model.initialize(m, DataType.FLOAT32, new Shape(2, 6));
            long[][] ids = {{3, 7, 1, 9, 4, 11}, {5, 2, 8, 6, 0, 0}};
            int kept;
            try (NDManager batch = m.newSubManager();
                    GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray logits = model.forward(new ParameterStore(batch, false), new NDList(batch.create(ids)), true)
                        .singletonOrThrow();
                kept = batch.getManagedArrays().size();
                gc.backward(logits.square().mean());
            }
            System.out.println("arrays in the batch manager after the forward pass: " + kept);
            assertTrue(kept < 40, "the batch manager holds " + kept + " arrays after the forward pass");
        }
    }
}
