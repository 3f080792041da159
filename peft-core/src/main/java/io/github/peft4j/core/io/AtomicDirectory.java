package io.github.peft4j.core.io;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Writes a directory all at once: the files go into a temporary sibling directory, which then replaces the target
 * by renames. A failure at any point leaves the previous directory (if any) as it was and removes the temporary one.
 */
public final class AtomicDirectory {

    private AtomicDirectory() {}

    /** Fills a directory with files. */
    @FunctionalInterface
    public interface Filler {
        /**
         * Writes the files.
         *
         * @param dir the (temporary) directory to write into
         * @throws IOException if writing fails
         */
        void fill(Path dir) throws IOException;
    }

    /**
     * Writes {@code target} atomically.
     *
     * @param target the directory to create or replace
     * @param filler writes the files into the directory it is given
     * @throws IOException if the filler or a rename fails; {@code target} is then unchanged
     */
    public static void write(Path target, Filler filler) throws IOException {
        Path abs = target.toAbsolutePath().normalize();
        Path parent = abs.getParent();
        if (Files.exists(abs) && !Files.isDirectory(abs)) {
            throw new FileAlreadyExistsException(abs.toString(), null, "exists and is not a directory");
        }
        Files.createDirectories(parent);
        recover(abs);
        Path tmp = Files.createTempDirectory(parent, "." + abs.getFileName() + ".tmp-");
        if (tmp.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            // temporary directories are created owner-only; the result is an ordinary directory
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Path old = null;
        try {
            try {
                filler.fill(tmp);
            } catch (IOException e) {
                // "No space left on device" alone does not say what was being written, nor that nothing was lost
                throw new IOException(
                        "cannot write " + abs + ": " + e.getMessage() + " (" + abs
                                + (Files.exists(abs) ? " is unchanged)" : " was not created)"),
                        e);
            }
            if (Files.exists(abs)) {
                old = Files.createTempDirectory(parent, "." + abs.getFileName() + ".old-");
                Files.delete(old);
                move(abs, old);
            }
            try {
                move(tmp, abs);
            } catch (IOException e) {
                if (old != null) {
                    move(old, abs);
                    old = null;
                }
                throw e;
            }
        } finally {
            deleteTree(tmp);
            if (old != null) {
                deleteTree(old);
            }
        }
    }

    /**
     * Repairs what a process killed inside {@link #write} left: if the target is missing but its previous version
     * was set aside (killed between the two renames), that version is moved back, being the last complete one;
     * temporary and set-aside siblings of the target are deleted. Called by {@link #write} and before reading a
     * directory that a killed process may have been replacing (a checkpoint to resume).
     *
     * @param target the directory
     * @throws IOException if a sibling cannot be moved or deleted
     */
    public static void recover(Path target) throws IOException {
        Path abs = target.toAbsolutePath().normalize();
        Path parent = abs.getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            return;
        }
        String tmpPrefix = "." + abs.getFileName() + ".tmp-";
        String oldPrefix = "." + abs.getFileName() + ".old-";
        java.util.List<Path> olds = new java.util.ArrayList<>();
        java.util.List<Path> tmps = new java.util.ArrayList<>();
        try (Stream<Path> s = Files.list(parent)) {
            s.forEach(p -> {
                String n = p.getFileName().toString();
                if (n.startsWith(oldPrefix)) {
                    olds.add(p);
                } else if (n.startsWith(tmpPrefix)) {
                    tmps.add(p);
                }
            });
        }
        if (!Files.exists(abs) && olds.size() == 1) {
            move(olds.remove(0), abs);
        }
        for (Path p : tmps) {
            deleteTree(p);
        }
        for (Path p : olds) {
            deleteTree(p);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    /**
     * Deletes a file tree if it exists.
     *
     * @param dir the tree
     * @throws IOException if a file cannot be deleted
     */
    public static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }
}
