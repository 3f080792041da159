package io.github.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.models.decoder.Decoders;
import io.github.peft4j.testing.TinyDecoders;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The other direction of the decoder interop: a LoRA adapter that peft4j trained on the tiny Llama (all-linear, r 8),
 * loaded by Python's {@code PeftModel.from_pretrained}, gives the logits peft4j gives. {@code python_logits.json} was
 * written by Python's PEFT 0.21 from the committed adapter files ({@code peft4j-llama-lora/python_logits.py}).
 */
class PeftToPythonTest {

    @TempDir
    Path tmp;

    @Test
    void pythonReadsPeft4jsAdapterToTheSameLogits() throws Exception {
        Path dir = TinyDecoders.copy("llama", tmp);
        TinyDecoders.Expected e = TinyDecoders.expected(dir);
        Path adapter = Path.of(getClass().getResource("/peft4j-llama-lora").toURI());
        JsonNode python = Json.MAPPER
                .readTree(adapter.resolve("python_logits.json").toFile())
                .get("logits");
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel peft = PeftModel.builder()
                    .setBaseModel(Decoders.load(dir.resolve("base"), m))
                    .build();
            peft.loadAdapter(adapter, "default");
            NDArray logits = peft.forward(
                            new ParameterStore(m, false),
                            new NDList(m.create(e.inputIds()), m.create(e.attentionMask())),
                            false)
                    .singletonOrThrow();
            float[] got = logits.toFloatArray();
            assertEquals(python.size(), got.length);
            float[] want = new float[got.length];
            for (int i = 0; i < want.length; i++) {
                want[i] = (float) python.get(i).asDouble();
            }
            double d = TinyDecoders.maxDiffOnTokens(got, want, e.attentionMask(), 512);
            System.out.println("peft4j adapter, Python vs peft4j logits: max abs diff " + d);
            assertTrue(d <= 1e-4, "peft4j's adapter in Python vs peft4j: max |Δlogit| " + d);
            // the adapter changed the model: its logits are not the base's
            assertTrue(TinyDecoders.maxDiffOnTokens(got, e.baseLogits(), e.attentionMask(), 512) > 1e-2);
        }
    }
}
