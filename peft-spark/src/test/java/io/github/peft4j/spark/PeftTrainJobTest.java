package io.github.peft4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@link PeftTrainJob} does on the driver, before any executor runs it. */
class PeftTrainJobTest {

    @Test
    void aJobWithoutOutputIsRefused() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> PeftTrainJob.of(List.of("--model", "minilm")));
        assertTrue(e.getMessage().contains("needs --output"), e.getMessage());
    }

    @Test
    void pathsThatExistAndTheOutputBecomeAbsoluteNamesStay(@TempDir Path tmp) throws IOException {
        Path data = Files.createTempFile(tmp, "mail", ".csv");
        Path relativeData = Path.of("").toAbsolutePath().relativize(data);
        PeftTrainJob job =
                PeftTrainJob.of(List.of("--model", "minilm", "--data", relativeData.toString(), "--output", "runs/x"));
        assertEquals("minilm", job.args().get(1)); // a model name, not a path here
        assertEquals(data.toString(), job.args().get(3));
        assertEquals(Path.of("runs/x").toAbsolutePath().toString(), job.args().get(5));
    }
}
