package io.github.peft4j.fuzz;

import java.io.IOException;
import java.lang.management.ManagementFactory;

/**
 * The rules every fuzz target holds each input to. A parser may accept the input or reject it with an
 * {@link IOException} or {@link IllegalArgumentException} whose message says what is wrong; every other exception
 * (a {@link NullPointerException}, an index out of bounds, {@link NumberFormatException}'s bare "For input string",
 * an {@link OutOfMemoryError}) is a finding, as is a rejection without a message, and as is an input that makes the
 * parser allocate more Java heap than its size justifies: more than {@link #ALLOWANCE_BYTES} plus
 * {@link #BYTES_PER_INPUT_BYTE} per input byte (a header claiming a 1 TB tensor must be refused before allocating).
 * An input that reaches code loaded just then (and instrumented, under the fuzzer) is run a second time and the second
 * run is measured. Hangs are the fuzzer's to catch (its per-input timeout).
 */
public final class Harness {

    /** Heap any input may cost: the libraries' own working memory (Jackson, the tokenizer, DJL). */
    public static final long ALLOWANCE_BYTES = 64L << 20;

    /** Heap per byte of input beyond the allowance: a parsed copy or two of what was read. */
    public static final long BYTES_PER_INPUT_BYTE = 64;

    private static final java.lang.management.ClassLoadingMXBean CLASSES = ManagementFactory.getClassLoadingMXBean();

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private Harness() {}

    /**
     * Runs a target on its seeds once without the checks: the first inputs load the engine, the native libraries and
     * the fuzzer's instrumented classes, costs of the process rather than of an input.
     *
     * @param target the target's {@code fuzzerTestOneInput}
     * @param seeds its seeds
     */
    public static void warmUp(java.util.function.Consumer<byte[]> target, java.util.Collection<byte[]> seeds) {
        WARMING.set(true);
        try {
            seeds.forEach(target);
        } finally {
            WARMING.set(false);
        }
    }

    private static final ThreadLocal<Boolean> WARMING = ThreadLocal.withInitial(() -> false);

    /** What a target does with one input. */
    @FunctionalInterface
    public interface Body {
        /**
         * Parses the input.
         *
         * @throws Exception what the parser throws
         */
        void run() throws Exception;
    }

    /**
     * Runs a parser on one input and checks the rules.
     *
     * @param what the parser, for messages
     * @param inputBytes the input's size
     * @param body the parse
     * @return true if the input was accepted, false if it was rejected clearly
     * @throws FuzzFinding if a rule was broken
     */
    public static boolean check(String what, long inputBytes, Body body) {
        long classes = CLASSES.getTotalLoadedClassCount();
        long before = THREADS.getCurrentThreadAllocatedBytes();
        boolean accepted = once(what, body);
        long used = THREADS.getCurrentThreadAllocatedBytes() - before;
        if (WARMING.get()) {
            return accepted;
        }
        if (CLASSES.getTotalLoadedClassCount() != classes) {
            // the input reached code that was loaded (and, under the fuzzer, instrumented) just now: a cost of the
            // process, not of the input; the second run of the same input measures the parse alone
            before = THREADS.getCurrentThreadAllocatedBytes();
            once(what, body);
            used = THREADS.getCurrentThreadAllocatedBytes() - before;
        }
        long allowed = ALLOWANCE_BYTES + BYTES_PER_INPUT_BYTE * inputBytes;
        if (used > allowed) {
            throw new FuzzFinding(
                    what + ": allocated " + used + " bytes of heap for an input of " + inputBytes + " bytes (allowed "
                            + allowed + ")",
                    null);
        }
        return accepted;
    }

    private static boolean once(String what, Body body) {
        try {
            body.run();
            return true;
        } catch (NumberFormatException e) {
            throw new FuzzFinding(what + ": a bare number-format error reached the caller: " + e.getMessage(), e);
        } catch (IOException | IllegalArgumentException e) {
            String m = e.getMessage();
            if (m == null || m.isBlank()) {
                throw new FuzzFinding(
                        what + ": rejected without a message (" + e.getClass().getName() + ")", e);
            }
            return false;
        } catch (FuzzFinding e) {
            throw e;
        } catch (Exception | Error e) {
            throw new FuzzFinding(what + ": unexpected " + e.getClass().getName() + ": " + e.getMessage(), e);
        }
    }
}
