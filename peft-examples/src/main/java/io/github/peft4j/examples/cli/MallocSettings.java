package io.github.peft4j.examples.cli;

import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import java.util.Locale;
import java.util.Map;

/**
 * Sets glibc's allocator so that the memory of freed libtorch tensors goes back to the system: tensors of 4 MiB and
 * more are mapped and unmapped one by one ({@code M_MMAP_THRESHOLD}, which also stops glibc from raising the threshold
 * as large blocks are freed), and at most two arenas serve the threads ({@code M_ARENA_MAX}). The {@code peft} launcher
 * sets the same values through {@code MALLOC_MMAP_THRESHOLD_} and {@code MALLOC_ARENA_MAX} (with the serial collector
 * the README job peaked at 1,498 and 1,522 MiB instead of 1,692; docs/performance.md); this class applies them to a
 * {@code java -jar} start (1,656 MiB in one run), unless either variable is set (the user's choice wins) or
 * {@code PEFT4J_MALLOC} is {@code off}. Elsewhere than on Linux with glibc it does nothing.
 */
final class MallocSettings {

    /** glibc's {@code M_MMAP_THRESHOLD} parameter of {@code mallopt}. */
    static final int M_MMAP_THRESHOLD = -3;
    /** glibc's {@code M_ARENA_MAX} parameter of {@code mallopt}. */
    static final int M_ARENA_MAX = -8;
    /** Blocks of at least this many bytes are mapped on their own. */
    static final int MMAP_THRESHOLD = 4 << 20;
    /** Arenas at most. */
    static final int ARENA_MAX = 2;

    private MallocSettings() {}

    /**
     * Applies the settings if nothing says otherwise.
     *
     * @param env the environment
     * @return what happened, for the debug log: {@code applied}, or why not
     */
    static String apply(Map<String, String> env) {
        if (env.containsKey("MALLOC_MMAP_THRESHOLD_") || env.containsKey("MALLOC_ARENA_MAX")) {
            return "left to MALLOC_MMAP_THRESHOLD_ / MALLOC_ARENA_MAX";
        }
        if ("off".equalsIgnoreCase(env.getOrDefault("PEFT4J_MALLOC", ""))) {
            return "off (PEFT4J_MALLOC)";
        }
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            return "not Linux";
        }
        try {
            Function mallopt = NativeLibrary.getInstance("c").getFunction("mallopt");
            int a = mallopt.invokeInt(new Object[] {M_MMAP_THRESHOLD, MMAP_THRESHOLD});
            int b = mallopt.invokeInt(new Object[] {M_ARENA_MAX, ARENA_MAX});
            return a == 1 && b == 1 ? "applied" : "mallopt refused (" + a + ", " + b + ")";
        } catch (UnsatisfiedLinkError e) {
            return "no mallopt in the C library (not glibc): " + e.getMessage();
        }
    }
}
