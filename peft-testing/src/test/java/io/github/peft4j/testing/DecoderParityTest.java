package io.github.peft4j.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import io.github.peft4j.models.decoder.CausalLanguageModel;
import io.github.peft4j.models.decoder.Decoders;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The decoder families reproduce the logits Python's transformers computed on the tiny checkpoints. */
class DecoderParityTest {

    @TempDir
    Path tmp;

    static NDArray logits(CausalLanguageModel model, TinyDecoders.Expected e, NDManager m) {
        NDArray ids = m.create(e.inputIds());
        NDArray mask = m.create(e.attentionMask());
        return model.forward(new ParameterStore(m, false), new NDList(ids, mask), false)
                .singletonOrThrow();
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "gpt2"})
    void baseLogitsMatchPython(String family) throws IOException {
        Path dir = TinyDecoders.copy(family, tmp);
        TinyDecoders.Expected e = TinyDecoders.expected(dir);
        try (NDManager m = NDManager.newBaseManager()) {
            CausalLanguageModel model = Decoders.load(dir.resolve("base"), m);
            NDArray out = logits(model, e, m);
            assertEquals(e.baseLogits().length, out.size());
            double diff = TinyDecoders.maxDiffOnTokens(out.toFloatArray(), e.baseLogits(), e.attentionMask(), 512);
            assertTrue(diff <= 1e-4, family + ": max |Δlogit| " + diff);
        }
    }
}
