package io.github.peft4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeftCommandTest {

    @Test
    void quickstartTrainsSavesReloadsAndMerges(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("adapter");
        QuickstartExample.Result r = new QuickstartExample(ai.djl.Device.cpu(), 7, 4, 10)
                .run(dir, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertTrue(r.adaptedLoss() < 0.5 * r.baseLoss(), r.toString());
        assertEquals(0.0, r.reloadMaxDiff(), "a reloaded adapter must give identical outputs");
        assertTrue(r.mergeMaxDiff() < 1e-5, r.toString());
        assertTrue(Files.isRegularFile(dir.resolve("adapter_config.json")));
        assertTrue(Files.isRegularFile(dir.resolve("adapter_model.safetensors")));
    }

    @Test
    void commandLineRunsTheExample(@TempDir Path tmp) {
        CliRun r = CliRun.of("quickstart", "--output", tmp.resolve("a").toString(), "--epochs", "2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("adapter saved in the Hugging Face PEFT layout"), r.out());
        assertTrue(r.out().contains("trainable params: 1,104 || all params: 6,612 || trainable%: 16.6969"), r.out());
    }

    @Test
    void badArgumentsExitNonZeroWithAMessage() {
        CliRun r = CliRun.of("quickstart", "--rank", "0");
        assertEquals(1, r.code());
        assertEquals("error: --rank must be ≥ 1; got 0", r.err().trim());

        CliRun unknown = CliRun.of("quickstart", "--rnak", "3");
        assertEquals(2, unknown.code());
        assertTrue(unknown.err().startsWith("Unknown options: '--rnak'"), unknown.err());
        assertTrue(unknown.err().contains("Usage: peft quickstart"), unknown.err());

        CliRun gpu = CliRun.of("quickstart", "--device", "gpu");
        assertEquals(1, gpu.code());
        assertTrue(
                gpu.err().startsWith("error: device 'gpu' was requested but the PyTorch engine sees 0 GPU(s)."),
                gpu.err());
        assertFalse(gpu.err().contains("\tat "), "no stack trace");

        CliRun none = CliRun.of();
        assertEquals(2, none.code());
        assertTrue(none.err().contains("missing subcommand"), none.err());
    }
}
