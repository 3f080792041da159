package io.github.peft4j.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A per-thread scratch directory the targets write their inputs into (the parsers read files). */
final class Scratch {

    private static final ThreadLocal<Path> DIR = ThreadLocal.withInitial(() -> {
        try {
            Path d = Files.createTempDirectory("peft4j-fuzz");
            d.toFile().deleteOnExit();
            return d;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    });

    private Scratch() {}

    /** A fresh, empty subdirectory of this thread's scratch directory. */
    static Path fresh(String name) {
        Path d = DIR.get().resolve(name);
        try {
            if (Files.isDirectory(d)) {
                try (var files = Files.list(d)) {
                    for (Path f : (Iterable<Path>) files::iterator) {
                        Files.delete(f);
                    }
                }
            }
            return Files.createDirectories(d);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes bytes into a file of a fresh directory and returns the file. */
    static Path write(String dir, String file, byte[] data) {
        Path f = fresh(dir).resolve(file);
        try {
            Files.write(f, data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return f;
    }
}
