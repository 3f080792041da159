package io.github.peft4j.fuzz;

import ai.djl.ndarray.NDManager;
import io.github.peft4j.core.io.Safetensors;
import java.nio.file.Path;

/** Fuzz target: the safetensors reader ({@link Safetensors#read}) on a file of the input's bytes. */
public final class SafetensorsTarget {

    private SafetensorsTarget() {}

    /** Warms up on the seeds (Jazzer calls this once before fuzzing). */
    public static void fuzzerInitialize() {
        Harness.warmUp(
                SafetensorsTarget::fuzzerTestOneInput, Seeds.safetensors().values());
    }

    /**
     * Reads one input as a safetensors file.
     *
     * @param data the file's bytes
     */
    public static void fuzzerTestOneInput(byte[] data) {
        Path f = Scratch.write("safetensors", "adapter_model.safetensors", data);
        Harness.check("safetensors reader", data.length, () -> {
            try (NDManager m = NDManager.newBaseManager()) {
                Safetensors.read(f, m);
            }
        });
    }
}
