package io.github.peft4j.examples.cli;

import com.sun.jna.NativeLibrary;
import java.util.Locale;
import java.util.Map;

/**
 * Puts {@code OPENBLAS_CORETYPE=Haswell} into the process environment before ND4J loads OpenBLAS, unless it is set:
 * ND4J's OpenBLAS 0.3.19 gives wrong decompositions with its own kernel choice on some AVX-512 AMD CPUs
 * ({@code linalg.LapackCheck} refuses to run then). The {@code peft} launcher exports the same; this covers a
 * {@code java -jar} start. On systems without {@code setenv} in the C library it does nothing.
 */
final class OpenBlasCoreType {

    /** The kernel family forced. */
    static final String CORE = "Haswell";

    private OpenBlasCoreType() {}

    /**
     * Sets the variable if it is not set.
     *
     * @param env the environment
     * @return what happened, for the debug log
     */
    static String apply(Map<String, String> env) {
        if (env.containsKey("OPENBLAS_CORETYPE")) {
            return "left to OPENBLAS_CORETYPE=" + env.get("OPENBLAS_CORETYPE");
        }
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            return "not Linux";
        }
        try {
            int rc = NativeLibrary.getInstance("c")
                    .getFunction("setenv")
                    .invokeInt(new Object[] {"OPENBLAS_CORETYPE", CORE, 0});
            return rc == 0 ? "set to " + CORE : "setenv failed (" + rc + ")";
        } catch (UnsatisfiedLinkError e) {
            return "no setenv in the C library: " + e.getMessage();
        }
    }
}
