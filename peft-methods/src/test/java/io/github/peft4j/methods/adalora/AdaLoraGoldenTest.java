package io.github.peft4j.methods.adalora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.peft4j.core.OptimizerAccess;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.Scalars;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.Safetensors;
import io.github.peft4j.methods.PythonGolden;
import io.github.peft4j.models.decoder.Decoders;
import io.github.peft4j.testing.TinyDecoders;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interop with Python PEFT's AdaLoRA (files of {@code golden/make_adalora_golden.py}): an adapter Python trained for 8
 * steps and saved, resized by its rank pattern, gives Python's logits and saves back identically; and peft4j's rank
 * allocator, fed the parameter values and gradients Python's saw at each step, prunes the same triplets and leaves E
 * as Python left it.
 */
class AdaLoraGoldenTest {

    @TempDir
    Path tmp;

    @Test
    void pythonsTrainedAdaLoraGivesPythonsLogitsAndSavesBackTheSame() throws IOException, URISyntaxException {
        // lora_A, lora_B, lora_E of q_proj and v_proj in 2 layers, each at its surviving rank
        JsonNode cfg = PythonGolden.check("adalora", tmp, 12);
        assertEquals("ADALORA", cfg.get("peft_type").asText());
        assertEquals(4, cfg.get("rank_pattern").size());
    }

    private static void setGradients(Map<Parameter, NDArray> grads, NDManager m) {
        // ∂/∂p Σ p ⊙ g = g: one backward pass writes the wanted gradients
        for (Parameter p : grads.keySet()) {
            try (NDArray g = p.getArray().getGradient()) {
                Scalars.fill(g, 0);
            } catch (IllegalStateException first) {
                // no gradient yet
            }
        }
        try (NDManager s = m.newSubManager();
                GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray sum = null;
            for (Map.Entry<Parameter, NDArray> e : grads.entrySet()) {
                NDArray t = e.getKey().getArray().mul(e.getValue()).sum();
                t.attach(s);
                sum = sum == null ? t : sum.add(t);
            }
            gc.backward(sum);
        }
    }

    @Test
    void theOrthogonalityGradientIsTheRegularisersGradient() {
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel peft = PeftModel.builder()
                    .setBaseModel(
                            io.github.peft4j.core.testing.TestModels.mlp(m, 1, ai.djl.ndarray.types.DataType.FLOAT32))
                    .setConfig(AdaLoraConfig.builder()
                            .setTargetModules(io.github.peft4j.core.ModuleSelector.allLinear())
                            .optRanks(4, 2)
                            .setTotalStep(8)
                            .optOrthRegWeight(0.5)
                            .build())
                    .build();
            Map<String, AdaLoraLayer> layers = peft.getLayerAdapters(PeftModel.DEFAULT_ADAPTER, AdaLoraLayer.class);
            // autograd of w · mean over every A and B of ‖PPᵀ − I‖_F
            try (NDManager s = m.newSubManager();
                    GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray sum = null;
                for (AdaLoraLayer l : layers.values()) {
                    NDArray a = l.parameters().get("lora_A").getArray();
                    NDArray b = l.parameters().get("lora_B").getArray();
                    for (NDArray cov : new NDArray[] {
                        a.matMul(a.transpose()), b.transpose().matMul(b)
                    }) {
                        int r = Math.toIntExact(cov.getShape().get(0));
                        NDArray f = cov.sub(s.eye(r)).square().sum().sqrt();
                        sum = sum == null ? f : sum.add(f);
                    }
                }
                gc.backward(Scalars.mul(sum, 0.5 / (2 * layers.size())));
            }
            Map<Parameter, float[]> want = new java.util.LinkedHashMap<>();
            for (AdaLoraLayer l : layers.values()) {
                for (Parameter p : l.parameters().values()) {
                    want.put(p, p.getArray().getGradient().toFloatArray());
                    try (NDArray g = p.getArray().getGradient()) {
                        Scalars.fill(g, 0);
                    }
                }
            }
            peft.beforeStep(0);
            want.forEach(
                    (p, g) -> assertArrayEquals(g, p.getArray().getGradient().toFloatArray(), 1e-6f, p.getName()));
        }
    }

    @Test
    void theAllocatorPrunesAsPythonsDoes() throws IOException, URISyntaxException {
        Path golden =
                Path.of(AdaLoraGoldenTest.class.getResource("/golden/adalora").toURI());
        JsonNode record = Json.MAPPER.readTree(golden.resolve("allocation.json").toFile());
        Path dir = TinyDecoders.copy("llama", tmp);
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> t = Safetensors.read(golden.resolve("allocation.safetensors"), m)
                    .tensors();
            PeftModel peft = PeftModel.builder()
                    .setBaseModel(Decoders.load(dir.resolve("base"), m))
                    .setConfig(AdaLoraConfig.builder()
                            .setTargetModules("q_proj", "v_proj")
                            .optRanks(4, 2)
                            .optSchedule(1, 2, 1)
                            .setTotalStep(8)
                            // Python's recorded gradients hold its regulariser already
                            .optOrthRegWeight(0)
                            .build())
                    .build();
            Map<String, AdaLoraLayer> layers = peft.getLayerAdapters(PeftModel.DEFAULT_ADAPTER, AdaLoraLayer.class);
            int masked = 0;
            for (int step = 0; step < record.get("steps").asInt(); step++) {
                Map<Parameter, NDArray> grads = new java.util.LinkedHashMap<>();
                for (AdaLoraLayer l : layers.values()) {
                    for (Map.Entry<String, Parameter> e : l.parameters().entrySet()) {
                        String key = "s" + step + "." + l.path() + "." + e.getKey();
                        ParameterValues.copyInto(e.getValue().getArray(), t.get(key));
                        grads.put(e.getValue(), t.get(key + ".grad"));
                    }
                }
                setGradients(grads, m);
                // the training loop's order: the hooks before the update, the update (here: Python's values), after
                peft.beforeStep(step);
                peft.afterStep(step, OptimizerAccess.NONE);
                JsonNode pattern = record.get("patterns").get(step);
                for (AdaLoraLayer l : layers.values()) {
                    float[] want =
                            t.get("s" + step + "." + l.path() + ".lora_E.after").toFloatArray();
                    assertArrayEquals(
                            want,
                            l.parameters().get("lora_E").getArray().toFloatArray(),
                            0f,
                            "E of " + l.path() + " after step " + step);
                    if (pattern.isNull()) {
                        assertNull(l.keep(), "no pruning yet at step " + step);
                    } else {
                        JsonNode p = pattern.get(l.path() + ".lora_E");
                        boolean[] keep = l.keep();
                        for (int i = 0; i < keep.length; i++) {
                            assertEquals(p.get(i).asBoolean(), keep[i], l.path() + " triplet " + i + ", step " + step);
                        }
                        masked++;
                    }
                }
            }
            assertTrue(masked >= 4 * 5, "the allocator pruned on most steps: " + masked);

            // saved after the 8 steps: the file Python saved, resized by the same rank pattern
            Path saved = tmp.resolve("saved");
            peft.saveAdapters(saved);
            Map<String, NDArray> python = Safetensors.read(golden.resolve("llama/adapter_model.safetensors"), m)
                    .tensors();
            Map<String, NDArray> ours = Safetensors.read(saved.resolve("adapter_model.safetensors"), m)
                    .tensors();
            assertEquals(python.keySet(), ours.keySet());
            python.forEach((k, v) -> {
                assertEquals(v.getShape(), ours.get(k).getShape(), k);
                assertArrayEquals(v.toFloatArray(), ours.get(k).toFloatArray(), 0f, k);
            });
            JsonNode ourCfg =
                    Json.MAPPER.readTree(saved.resolve("adapter_config.json").toFile());
            JsonNode pyCfg = Json.MAPPER.readTree(
                    golden.resolve("llama/adapter_config.json").toFile());
            assertEquals(pyCfg.get("rank_pattern"), ourCfg.get("rank_pattern"));
        }
    }
}
