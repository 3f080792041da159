package io.github.peft4j.core.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicDirectoryTest {

    private static List<String> listing(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    @Test
    void failureMidWriteLeavesPreviousDirectoryIntact(@TempDir Path tmp) throws IOException {
        Path target = tmp.resolve("adapter");
        AtomicDirectory.write(target, d -> {
            Files.writeString(d.resolve("adapter_config.json"), "old config");
            Files.writeString(d.resolve("adapter_model.safetensors"), "old weights");
        });
        IOException e = assertThrows(
                IOException.class,
                () -> AtomicDirectory.write(target, d -> {
                    Files.writeString(d.resolve("adapter_config.json"), "new config");
                    throw new IOException("disk full while writing adapter_model.safetensors");
                }));
        // the message names what could not be written and that the previous version is kept; the cause is the error
        assertEquals(
                "cannot write " + target.toAbsolutePath() + ": disk full while writing adapter_model.safetensors ("
                        + target.toAbsolutePath() + " is unchanged)",
                e.getMessage());
        assertEquals(
                "disk full while writing adapter_model.safetensors",
                e.getCause().getMessage());
        assertEquals("old config", Files.readString(target.resolve("adapter_config.json")));
        assertEquals("old weights", Files.readString(target.resolve("adapter_model.safetensors")));
        assertEquals(List.of("adapter"), listing(tmp), "no temporary directory may be left behind");
    }

    @Test
    void successReplacesTheWholeDirectory(@TempDir Path tmp) throws IOException {
        Path target = tmp.resolve("adapter");
        AtomicDirectory.write(target, d -> Files.writeString(d.resolve("stale.txt"), "x"));
        AtomicDirectory.write(target, d -> Files.writeString(d.resolve("adapter_config.json"), "new"));
        assertEquals(List.of("adapter_config.json"), listing(target));
        assertEquals(List.of("adapter"), listing(tmp));
    }

    /** What a kill -9 inside write() leaves: found by KillTrials (peft-reliability). */
    @Test
    void recoverRestoresTheSetAsideVersionAndRemovesTemporaries(@TempDir Path tmp) throws IOException {
        Path target = tmp.resolve("checkpoint");
        // killed between the two renames: the previous version set aside, the new one complete but not in place
        Path old = Files.createDirectories(tmp.resolve(".checkpoint.old-123"));
        Files.writeString(old.resolve("trainer_state.json"), "{\"step\": 10}");
        Path partial = Files.createDirectories(tmp.resolve(".checkpoint.tmp-456"));
        Files.writeString(partial.resolve("trainer_state.json"), "{\"step\": 12}");
        Files.createDirectories(tmp.resolve(".adapter.tmp-789")); // another target's: left alone
        AtomicDirectory.recover(target);
        assertEquals("{\"step\": 10}", Files.readString(target.resolve("trainer_state.json")));
        assertFalse(Files.exists(old));
        assertFalse(Files.exists(partial));
        assertTrue(Files.exists(tmp.resolve(".adapter.tmp-789")));
        // with the target in place, a set-aside copy is stale: removed, the target kept
        Path stale = Files.createDirectories(tmp.resolve(".checkpoint.old-999"));
        AtomicDirectory.write(target, d -> Files.writeString(d.resolve("trainer_state.json"), "{\"step\": 14}"));
        assertFalse(Files.exists(stale));
        assertEquals("{\"step\": 14}", Files.readString(target.resolve("trainer_state.json")));
    }

    @Test
    void aFileInTheWayIsNotClobbered(@TempDir Path tmp) throws IOException {
        Path target = tmp.resolve("adapter");
        Files.writeString(target, "user data");
        assertThrows(IOException.class, () -> AtomicDirectory.write(target, d -> {}));
        assertEquals("user data", Files.readString(target));
        assertFalse(Files.isDirectory(target));
    }
}
