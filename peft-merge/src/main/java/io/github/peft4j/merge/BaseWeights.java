package io.github.peft4j.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.peft4j.models.HfCheckpoint;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The base weight of an adapted layer in a model checkpoint: adapters name layers by their path in the adapted model
 * ({@code bert.encoder.layer.0.attention.self.query}), a base checkpoint may lack the first component
 * ({@code encoder.layer.0.…} in a {@code BertModel} file).
 */
public final class BaseWeights {

    private BaseWeights() {}

    /**
     * The checkpoint key of a layer's weight.
     *
     * @param base the base checkpoint
     * @param layer the layer's module path
     * @param dir the checkpoint's directory, for the message
     * @return {@code <layer>.weight}, or the same without the path's first component
     * @throws IllegalArgumentException naming both keys when the checkpoint has neither
     */
    public static String key(HfCheckpoint base, String layer, Path dir) {
        String key = layer + ".weight";
        if (base.has(key)) {
            return key;
        }
        int dot = layer.indexOf('.');
        if (dot > 0 && base.has(layer.substring(dot + 1) + ".weight")) {
            return layer.substring(dot + 1) + ".weight";
        }
        throw new IllegalArgumentException("the base model " + dir + " has no weight for layer " + layer + " (looked"
                + " for " + key + (dot > 0 ? " and " + layer.substring(dot + 1) + ".weight" : "")
                + "): is it the model the adapter was trained on?");
    }

    /**
     * Reads a layer's weight as float64.
     *
     * @param base the base checkpoint
     * @param layer the layer's module path
     * @param dir the checkpoint's directory, for messages
     * @param size the number of values the caller expects
     * @param manager a scratch manager
     * @return the weight, row-major
     * @throws IOException if it cannot be read
     * @throws IllegalArgumentException if it has another number of values
     */
    public static double[] read(HfCheckpoint base, String layer, Path dir, long size, NDManager manager)
            throws IOException {
        String key = key(base, layer, dir);
        try (NDArray a = base.read(key, manager)) {
            if (a.size() != size) {
                throw new IllegalArgumentException("layer " + layer + ": the base weight " + key + " has shape "
                        + a.getShape() + " (" + a.size() + " values), the update " + size + " values");
            }
            float[] f = a.toFloatArray();
            double[] d = new double[f.length];
            for (int i = 0; i < f.length; i++) {
                d[i] = f[i];
            }
            return d;
        }
    }
}
