package io.github.peft4j.models.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.peft4j.models.HfWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Loads Hugging Face BERT-family model directories ({@code config.json} + {@code model.safetensors}) into
 * {@link BertModel} or {@link BertForSequenceClassification}. Accepts checkpoints saved from {@code BertModel} (no
 * prefix) and from task models ({@code bert.} prefix), and the legacy LayerNorm names {@code gamma}/{@code beta}.
 */
public final class Bert {

    private Bert() {}

    /**
     * Loads the bare encoder. It gets a pooler when the checkpoint has one.
     *
     * @param dir the model directory
     * @param manager owns the weights
     * @return the encoder, weights loaded
     * @throws IOException if a file is missing, unreadable or corrupted
     * @throws IllegalArgumentException if a weight is missing or has the wrong shape (naming the tensor and shapes)
     */
    public static BertModel loadModel(Path dir, NDManager manager) throws IOException {
        BertConfig config = readConfig(dir);
        try (NDManager scope = manager.newSubManager()) {
            Map<String, NDArray> tensors = HfWeights.read(dir, scope);
            boolean pooler =
                    tensors.containsKey("pooler.dense.weight") || tensors.containsKey("bert.pooler.dense.weight");
            BertModel model = new BertModel(config, pooler);
            model.initialize(manager, 1, 8);
            HfWeights.assign(
                    model,
                    tensors,
                    path -> keyOf(tensors, path),
                    List.of(),
                    config.initializerRange(),
                    0,
                    dir.resolve("model.safetensors").toString());
            return model;
        }
    }

    /**
     * Loads a sequence classifier. A checkpoint of a bare encoder (such as all-MiniLM-L6-v2) lacks the pooler and the
     * classifier: they are freshly initialised from {@code seed} when {@code allowFreshHeads} is true, and an error
     * otherwise. Train and save them with {@code modules_to_save: ["classifier", "pooler"]} so Python gets the same
     * head.
     *
     * @param dir the model directory
     * @param numLabels the number of classes
     * @param manager owns the weights
     * @param allowFreshHeads whether {@code bert.pooler} and {@code classifier} may be missing
     * @param seed the seed of fresh heads
     * @return the model
     * @throws IOException if a file is missing, unreadable or corrupted
     */
    public static BertForSequenceClassification loadForSequenceClassification(
            Path dir, int numLabels, NDManager manager, boolean allowFreshHeads, long seed) throws IOException {
        BertConfig config = readConfig(dir).withNumLabels(numLabels);
        try (NDManager scope = manager.newSubManager()) {
            Map<String, NDArray> tensors = HfWeights.read(dir, scope);
            BertForSequenceClassification model = new BertForSequenceClassification(config);
            model.initialize(manager, 1, 8);
            HfWeights.assign(
                    model,
                    tensors,
                    path -> keyOf(tensors, path),
                    allowFreshHeads ? List.of("bert.pooler", "classifier") : List.of(),
                    config.initializerRange(),
                    seed,
                    dir.resolve("model.safetensors").toString());
            return model;
        }
    }

    /**
     * Reads {@code config.json} of a model directory.
     *
     * @param dir the directory
     * @return the config
     * @throws IOException if it is missing or invalid
     */
    public static BertConfig readConfig(Path dir) throws IOException {
        Path file = dir.resolve("config.json");
        if (!Files.isRegularFile(file)) {
            throw new IOException("not a Hugging Face model directory: " + file + " is missing (expected config.json"
                    + " and model.safetensors)");
        }
        return BertConfig.read(file);
    }

    /** The file key a model parameter reads: as is, or with/without {@code bert.}, or with legacy names. */
    private static String keyOf(Map<String, NDArray> tensors, String path) {
        String bare = path.startsWith("bert.") ? path.substring(5) : path;
        for (String k : new String[] {path, bare, "bert." + bare, legacy(path), legacy(bare), "bert." + legacy(bare)}) {
            if (tensors.containsKey(k)) {
                return k;
            }
        }
        return path;
    }

    private static String legacy(String path) {
        if (path.contains("LayerNorm.")) {
            return path.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta");
        }
        return path;
    }
}
