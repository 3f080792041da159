package io.github.peft4j.fuzz;

import io.github.peft4j.models.onnx.OnnxBertImporter;

/** Fuzz target: the ONNX importer ({@link OnnxBertImporter#extractWeights}) on the input's bytes. */
public final class OnnxTarget {

    private OnnxTarget() {}

    /** Warms up on the seeds (Jazzer calls this once before fuzzing). */
    public static void fuzzerInitialize() {
        Harness.warmUp(OnnxTarget::fuzzerTestOneInput, Seeds.onnx().values());
    }

    /**
     * Imports one input as an ONNX model.
     *
     * @param data the file's bytes
     */
    public static void fuzzerTestOneInput(byte[] data) {
        Harness.check("ONNX importer", data.length, () -> OnnxBertImporter.extractWeights(data));
    }
}
