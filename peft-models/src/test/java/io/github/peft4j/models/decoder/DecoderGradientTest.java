package io.github.peft4j.models.decoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import io.github.peft4j.core.ModuleTree;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.train.CausalLmLoss;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Autograd through the decoder (grouped-query attention, RoPE, the causal + padding mask and the masked, shifted loss)
 * agrees with central finite differences of the loss, in float64.
 */
class DecoderGradientTest {

    static DecoderConfig tinyLlama() {
        String json = "{\"model_type\":\"llama\",\"vocab_size\":20,\"hidden_size\":16,\"intermediate_size\":24,"
                + "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"num_key_value_heads\":2,"
                + "\"max_position_embeddings\":32,\"rms_norm_eps\":1e-6,"
                + "\"rope_parameters\":{\"rope_type\":\"default\",\"rope_theta\":100.0}}";
        try {
            return DecoderConfig.fromJson(
                    (com.fasterxml.jackson.databind.node.ObjectNode) Json.MAPPER.readTree(json), "t");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static double loss(CausalLanguageModel model, NDManager m, NDArray ids, NDArray mask, NDArray labels) {
        try (NDManager s = m.newSubManager()) {
            NDArray logits = model.forward(new ParameterStore(s, false), new NDList(ids, mask), false)
                    .singletonOrThrow();
            return new CausalLmLoss()
                    .evaluate(new NDList(labels), new NDList(logits))
                    .getDouble();
        }
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        try (NDManager m = NDManager.newBaseManager()) {
            CausalLanguageModel model = Decoders.create(tinyLlama());
            model.setInitializer(new NormalInitializer(0.5f), p -> true);
            Engine.getInstance().setRandomSeed(3);
            model.initialize(m, DataType.FLOAT64, new Shape(2, 6));
            NDArray ids = m.create(new long[][] {{3, 7, 1, 9, 4, 11}, {5, 2, 8, 6, 0, 0}});
            NDArray mask = m.create(new long[][] {{1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 0}});
            // the prompt (first two tokens of row 0) and the padding do not count
            NDArray labels = m.create(new long[][] {{-100, -100, 1, 9, 4, 11}, {5, 2, 8, 6, -100, -100}});
            try (GradientCollector gc = Engine.getInstance().newGradientCollector();
                    NDManager s = m.newSubManager()) {
                NDArray logits = model.forward(new ParameterStore(s, false), new NDList(ids, mask), true)
                        .singletonOrThrow();
                assertEquals(DataType.FLOAT64, logits.getDataType());
                gc.backward(new CausalLmLoss().evaluate(new NDList(labels), new NDList(logits)));
            }
            Map<String, Parameter> params = ModuleTree.namedParameters(model);
            String[] checked = {
                "model.layers.0.self_attn.q_proj.weight",
                "model.layers.0.self_attn.k_proj.weight",
                "model.layers.1.self_attn.v_proj.weight",
                "model.layers.1.self_attn.o_proj.weight",
                "model.layers.0.mlp.gate_proj.weight",
                "model.layers.1.input_layernorm.weight",
                "model.embed_tokens.weight",
                "lm_head.weight"
            };
            double h = 1e-6;
            for (String name : checked) {
                NDArray w = params.get(name).getArray();
                double[] grad = w.getGradient().toDoubleArray();
                double[] values = w.toDoubleArray();
                int n = Math.min(values.length, 12);
                for (int k = 0; k < n; k++) {
                    int i = (int) ((long) k * 7919 % values.length);
                    set(w, i, values[i] + h);
                    double up = loss(model, m, ids, mask, labels);
                    set(w, i, values[i] - h);
                    double down = loss(model, m, ids, mask, labels);
                    set(w, i, values[i]);
                    double fd = (up - down) / (2 * h);
                    assertEquals(fd, grad[i], 1e-6 + 1e-5 * Math.abs(fd), name + "[" + i + "]");
                }
            }
            // token 0 (only on padding) and the padded labels do not reach the loss: its embedding gets no gradient
            double[] emb = params.get("model.embed_tokens.weight")
                    .getArray()
                    .getGradient()
                    .get(new NDIndex("0"))
                    .toDoubleArray();
            for (double g : emb) {
                assertEquals(0, g, 0, "the padding token's embedding must get no gradient");
            }
            assertTrue(params.get("model.embed_tokens.weight")
                            .getArray()
                            .getGradient()
                            .abs()
                            .sum()
                            .getDouble()
                    > 0);
        }
    }

    private static void set(NDArray w, int flatIndex, double v) {
        NDArray flat = w.stopGradient().reshape(-1);
        try (NDArray value = w.getManager().create(v)) {
            flat.set(new NDIndex(flatIndex), value);
        }
    }
}
