package io.github.peft4j.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** This process's memory as Linux reports it in {@code /proc/self/status}; -1 elsewhere. */
public final class ProcessMemory {

    private ProcessMemory() {}

    /**
     * Returns the resident set size.
     *
     * @return VmRSS in KiB, or -1
     */
    public static long residentKb() {
        return field("VmRSS:");
    }

    /**
     * Returns the peak resident set size.
     *
     * @return VmHWM in KiB, or -1
     */
    public static long peakResidentKb() {
        return field("VmHWM:");
    }

    private static long field(String name) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith(name)) {
                    return Long.parseLong(l.replaceAll("\\D", ""));
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
