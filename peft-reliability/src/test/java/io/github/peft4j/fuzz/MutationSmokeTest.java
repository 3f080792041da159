package io.github.peft4j.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The seeded smoke version of the campaign, in the default test run: every seed of every target, then
 * {@value #MUTANTS} mutants of the seeds per target (byte flips, truncations, insertions and deletions, digits and
 * JSON tokens swapped, numbers made huge or negative), each held to {@link Harness}'s rules. The same seed gives the
 * same inputs on every machine, so a failure here reproduces.
 */
class MutationSmokeTest {

    static final int MUTANTS = 400;

    private static final String[] TOKENS = {
        "null",
        "true",
        "-1",
        "0",
        "1e309",
        "99999999999999999999",
        "\"\"",
        "[]",
        "{}",
        "\"../../x\"",
        "9223372036854775807",
        "-9223372036854775808",
        "1.5",
        "NaN",
        "\"\\u0000\""
    };

    static Stream<Arguments> targets() {
        List<Arguments> out = new ArrayList<>();
        Map<Class<?>, Map<String, byte[]>> seeds = Seeds.all();
        out.add(Arguments.of(
                "SafetensorsTarget",
                (Consumer<byte[]>) SafetensorsTarget::fuzzerTestOneInput,
                seeds.get(SafetensorsTarget.class)));
        out.add(Arguments.of(
                "ModelConfigTarget",
                (Consumer<byte[]>) ModelConfigTarget::fuzzerTestOneInput,
                seeds.get(ModelConfigTarget.class)));
        out.add(Arguments.of(
                "TokenizerTarget",
                (Consumer<byte[]>) TokenizerTarget::fuzzerTestOneInput,
                seeds.get(TokenizerTarget.class)));
        out.add(Arguments.of(
                "TokenizerConfigTarget",
                (Consumer<byte[]>) TokenizerConfigTarget::fuzzerTestOneInput,
                seeds.get(TokenizerConfigTarget.class)));
        out.add(Arguments.of(
                "AdapterTarget", (Consumer<byte[]>) AdapterTarget::fuzzerTestOneInput, seeds.get(AdapterTarget.class)));
        out.add(Arguments.of(
                "OnnxTarget", (Consumer<byte[]>) OnnxTarget::fuzzerTestOneInput, seeds.get(OnnxTarget.class)));
        return out.stream();
    }

    /** One mutation of a seed; the first byte (a target's selector) is kept. */
    static byte[] mutate(byte[] seed, SplittableRandom r) {
        byte[] b = seed.clone();
        int kinds = r.nextInt(1, 4);
        for (int k = 0; k < kinds; k++) {
            int n = b.length;
            if (n < 2) {
                return b;
            }
            int at = r.nextInt(1, n);
            switch (r.nextInt(6)) {
                case 0 -> b[at] ^= (byte) (1 << r.nextInt(8));
                case 1 -> b = java.util.Arrays.copyOf(b, at);
                case 2 -> {
                    int len = Math.min(r.nextInt(1, 64), n - at);
                    byte[] c = new byte[n - len];
                    System.arraycopy(b, 0, c, 0, at);
                    System.arraycopy(b, at + len, c, at, n - at - len);
                    b = c;
                }
                case 3 -> b[at] = (byte) r.nextInt(256);
                case 4 -> {
                    // replace a run of digits (a number in JSON, a header length, an offset) by another token
                    int s = at;
                    while (s < n && !Character.isDigit(b[s])) {
                        s++;
                    }
                    int e = s;
                    while (e < n && (Character.isDigit(b[e]) || b[e] == '.')) {
                        e++;
                    }
                    if (s < n) {
                        b = splice(b, s, e, TOKENS[r.nextInt(TOKENS.length)].getBytes(StandardCharsets.UTF_8));
                    }
                }
                default -> {
                    byte[] ins = TOKENS[r.nextInt(TOKENS.length)].getBytes(StandardCharsets.UTF_8);
                    b = splice(b, at, at, ins);
                }
            }
        }
        return b;
    }

    private static byte[] splice(byte[] b, int from, int to, byte[] with) {
        byte[] c = new byte[b.length - (to - from) + with.length];
        System.arraycopy(b, 0, c, 0, from);
        System.arraycopy(with, 0, c, from, with.length);
        System.arraycopy(b, to, c, from + with.length, b.length - to);
        return c;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("targets")
    void seedsAndTheirMutantsAreAcceptedOrRejectedClearly(
            String name, Consumer<byte[]> target, Map<String, byte[]> seeds) {
        List<byte[]> pool = new ArrayList<>(seeds.values());
        for (byte[] s : pool) {
            target.accept(s);
        }
        SplittableRandom r = new SplittableRandom(name.hashCode());
        for (int i = 0; i < MUTANTS; i++) {
            byte[] input = mutate(pool.get(r.nextInt(pool.size())), r);
            try {
                target.accept(input);
            } catch (FuzzFinding e) {
                throw new AssertionError(
                        name + " mutant " + i + " (" + input.length + " bytes, starting "
                                + new String(input, 0, Math.min(input.length, 120), StandardCharsets.ISO_8859_1) + "): "
                                + e.getMessage(),
                        e);
            }
        }
        assertTrue(pool.size() > 0);
    }
}
