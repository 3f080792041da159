package io.github.peft4j.core.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
        assertEquals("disk full while writing adapter_model.safetensors", e.getMessage());
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

    @Test
    void aFileInTheWayIsNotClobbered(@TempDir Path tmp) throws IOException {
        Path target = tmp.resolve("adapter");
        Files.writeString(target, "user data");
        assertThrows(IOException.class, () -> AtomicDirectory.write(target, d -> {}));
        assertEquals("user data", Files.readString(target));
        assertFalse(Files.isDirectory(target));
    }
}
