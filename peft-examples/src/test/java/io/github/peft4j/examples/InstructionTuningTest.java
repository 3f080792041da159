package io.github.peft4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.peft4j.testing.TinyDecoders;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The instruction example runs on the tiny Llama with the shipped data and learns: validation loss falls. */
class InstructionTuningTest {

    @TempDir
    Path tmp;

    @Test
    void learnsTheShippedTaskOnTheTinyLlama() throws IOException {
        Path model = TinyDecoders.copy("llama", tmp).resolve("base");
        InstructionTuning.Result r =
                new InstructionTuning(model, null, 40, 4, 128, 8, 5e-3, 3, tmp.resolve("run"), 42).run();
        assertTrue(
                r.after().loss() < r.before().loss() - 0.1,
                r.before().summary() + " -> " + r.after().summary());
        assertEquals(3, r.answersAfter().size());
        assertEquals("spam", r.references().get(0));
        assertNotEquals(r.answersBefore(), r.answersAfter(), "the adapter changed what the model answers");
        assertTrue(Files.isRegularFile(tmp.resolve("run/adapter/adapter_model.safetensors")));
    }
}
