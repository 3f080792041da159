package io.github.peft4j.fuzz;

import io.github.peft4j.models.bert.BertConfig;
import io.github.peft4j.models.decoder.DecoderConfig;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Fuzz target: a model directory's {@code config.json}, read as a decoder's ({@link DecoderConfig#read}, first byte
 * even) or a BERT's ({@link BertConfig#read}, odd); the rest of the input is the file.
 */
public final class ModelConfigTarget {

    private ModelConfigTarget() {}

    /** Warms up on the seeds (Jazzer calls this once before fuzzing). */
    public static void fuzzerInitialize() {
        Harness.warmUp(
                ModelConfigTarget::fuzzerTestOneInput, Seeds.modelConfigs().values());
    }

    /**
     * Reads one input as a model config.
     *
     * @param data a selector byte, then the file's bytes
     */
    public static void fuzzerTestOneInput(byte[] data) {
        if (data.length == 0) {
            return;
        }
        byte[] json = Arrays.copyOfRange(data, 1, data.length);
        Path f = Scratch.write("config", "config.json", json);
        if ((data[0] & 1) == 0) {
            Harness.check("decoder config.json", json.length, () -> DecoderConfig.read(f.getParent()));
        } else {
            Harness.check("BERT config.json", json.length, () -> BertConfig.read(f));
        }
    }
}
