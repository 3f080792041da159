package io.github.peft4j.examples;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.models.HfWeights;
import io.github.peft4j.models.bert.Bert;
import io.github.peft4j.models.bert.BertConfig;
import io.github.peft4j.models.bert.BertForSequenceClassification;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * A text classifier as the command line uses it: a BERT-family model, optionally with an adapter, and its class
 * names ({@code labels.json} beside the adapter or the merged model, or {@code id2label} of {@code config.json}).
 *
 * @param model the block to run (a {@link PeftModel} when an adapter is loaded)
 * @param base the classifier inside
 * @param classes class names, index = class
 */
public record Classifier(Block model, BertForSequenceClassification base, List<String> classes) {

    /** The file that records class names. */
    public static final String LABELS = "labels.json";

    /**
     * Loads a classifier.
     *
     * @param modelDir a Hugging Face directory (a base encoder when an adapter is given, else a merged classifier)
     * @param adapterDir an adapter directory written by {@code peft train}, or null
     * @param manager owns the weights
     * @return the classifier
     * @throws IOException if files are missing or invalid
     */
    public static Classifier load(Path modelDir, Path adapterDir, NDManager manager) throws IOException {
        if (adapterDir != null) {
            List<String> classes = readLabels(adapterDir);
            BertForSequenceClassification base =
                    Bert.loadForSequenceClassification(modelDir, classes.size(), manager, true, 0);
            PeftModel peft = PeftModel.builder().setBaseModel(base).build();
            peft.loadAdapter(adapterDir, PeftModel.DEFAULT_ADAPTER);
            return new Classifier(peft, base, classes);
        }
        List<String> classes =
                Files.isRegularFile(modelDir.resolve(LABELS)) ? readLabels(modelDir) : id2label(modelDir);
        if (classes == null) {
            throw new IOException(modelDir + " is not a classifier (no labels.json and no id2label in config.json):"
                    + " pass --adapter, or a directory written by 'peft merge' or 'peft train --method full'");
        }
        BertForSequenceClassification merged =
                Bert.loadForSequenceClassification(modelDir, classes.size(), manager, false, 0);
        return new Classifier(merged, merged, classes);
    }

    /**
     * Reads {@code labels.json}.
     *
     * @param dir the directory holding it
     * @return the class names
     * @throws IOException if it is missing or not a list of strings
     */
    public static List<String> readLabels(Path dir) throws IOException {
        Path f = dir.resolve(LABELS);
        if (!Files.isRegularFile(f)) {
            throw new IOException(f + " is missing: it names the classes of the classifier ('peft train' writes it)");
        }
        JsonNode n = Json.MAPPER.readTree(f.toFile());
        if (n == null || !n.isArray() || n.isEmpty()) {
            throw new IOException(f + " must hold a non-empty JSON list of class names");
        }
        List<String> out = new ArrayList<>();
        n.forEach(x -> out.add(x.asText()));
        return out;
    }

    /**
     * Copies {@code labels.json} from one directory to another, when the first has one (a derived adapter or model
     * keeps the class names of the one it came from).
     *
     * @param from the source directory
     * @param to the target directory
     * @throws IOException if copying fails
     */
    public static void copyLabels(Path from, Path to) throws IOException {
        Path labels = from.resolve(LABELS);
        if (Files.isRegularFile(labels)) {
            Files.copy(labels, to.resolve(LABELS), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Writes {@code labels.json}.
     *
     * @param dir the directory
     * @param classes the class names
     * @throws IOException if writing fails
     */
    public static void writeLabels(Path dir, List<String> classes) throws IOException {
        ArrayNode a = Json.MAPPER.createArrayNode();
        classes.forEach(a::add);
        Files.writeString(dir.resolve(LABELS), Json.write(a), StandardCharsets.UTF_8);
    }

    private static List<String> id2label(Path dir) throws IOException {
        ObjectNode cfg = Json.readObject(dir.resolve("config.json"));
        JsonNode m = cfg.get("id2label");
        if (m == null || !cfg.path("architectures").toString().contains("ForSequenceClassification")) {
            return null;
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < m.size(); i++) {
            out.add(m.path(Integer.toString(i)).asText("LABEL_" + i));
        }
        return out;
    }

    /**
     * Writes a classifier as a Hugging Face directory that {@code --model} accepts again.
     *
     * @param model the classifier (merged: no peft4j blocks left)
     * @param classes the class names
     * @param tokenizerSource the directory holding the tokenizer.json to copy
     * @param out the directory, written atomically
     * @throws IOException if writing fails
     */
    public static void writeMerged(
            BertForSequenceClassification model, List<String> classes, Path tokenizerSource, Path out)
            throws IOException {
        BertConfig c = model.getConfig();
        ObjectNode cfg = c.toJson();
        cfg.putArray("architectures").add("BertForSequenceClassification");
        ObjectNode id2label = cfg.putObject("id2label");
        ObjectNode label2id = cfg.putObject("label2id");
        for (int i = 0; i < classes.size(); i++) {
            id2label.put(Integer.toString(i), classes.get(i));
            label2id.put(classes.get(i), i);
        }
        Path tok = tokenizerSource.resolve("tokenizer.json");
        HfWeights.writeDirectory(out, model, cfg, Files.isRegularFile(tok) ? tok : null);
        writeLabels(out, classes);
    }
}
