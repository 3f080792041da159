package io.github.peft4j.models.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.github.peft4j.core.ModuleTree;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * peft4j's BERT against an independent implementation: ONNX Runtime running the very ONNX file the weights were
 * converted from.
 */
class MiniLmParityTest {

    static final List<String> SENTENCES = List.of(
            "The quick brown fox jumps over the lazy dog.",
            "ok",
            "Your account has been suspended. Verify your password at the link below within 24 hours.",
            "Gewinnen Sie jetzt! Ihr Preis über 5.000 € wartet – klicken Sie hier.",
            "日本語のメールも分類できますか?",
            "Re: minutes of Tuesday's meeting — action items for the Q3 release are in the attached document.",
            "Émojis 🎉 and accents: naïve café, smörgåsbord, ça va?",
            "Numbers 3.14159, dates 2026-11-27 and URLs https://example.org/a?b=c#d.",
            "I merged the fix for the flaky tokenizer test; the build is green again.");

    static String longText() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; sb.length() < 2000; i++) {
            sb.append("Sentence number ").append(i).append(" talks about parameter efficient fine tuning. ");
        }
        return sb.toString();
    }

    private static NDManager manager;
    private static BertModel model;
    private static Path dir;
    private static OrtEnvironment env;
    private static OrtSession session;

    @BeforeAll
    static void setUp() throws Exception {
        manager = NDManager.newBaseManager();
        dir = MiniLm.directory();
        model = Bert.loadModel(dir, manager);
        env = OrtEnvironment.getEnvironment();
        try (InputStream is = MiniLmParityTest.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
            session = env.createSession(is.readAllBytes(), new OrtSession.SessionOptions());
        }
    }

    @AfterAll
    static void tearDown() throws OrtException {
        session.close();
        manager.close();
    }

    private static float[][][] onnx(BertTokenizer.Batch b) throws OrtException {
        try (OnnxTensor ids = OnnxTensor.createTensor(env, b.inputIds());
                OnnxTensor mask = OnnxTensor.createTensor(env, b.attentionMask());
                OnnxTensor types = OnnxTensor.createTensor(env, b.tokenTypeIds());
                OrtSession.Result r =
                        session.run(Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", types))) {
            return (float[][][]) r.get(0).getValue();
        }
    }

    private static double checkBatch(List<String> texts, int maxLength) throws Exception {
        try (BertTokenizer tok = BertTokenizer.open(dir, maxLength);
                NDManager s = manager.newSubManager()) {
            BertTokenizer.Batch b = tok.encode(texts);
            float[][][] ref = onnx(b);
            NDList out = model.forward(new ParameterStore(s, false), b.toNDList(s), false);
            NDArray h = out.get(0);
            assertEquals(ref.length * ref[0].length * ref[0][0].length, h.size());
            float[] ours = h.toFloatArray();
            double maxDiff = 0;
            int k = 0;
            for (float[][] seq : ref) {
                for (float[] tokVec : seq) {
                    for (float v : tokVec) {
                        maxDiff = Math.max(maxDiff, Math.abs(v - ours[k++]));
                    }
                }
            }
            // sentence embeddings: mean pooling + L2 norm of ONNX Runtime's output, computed here in plain Java
            float[] emb = out.get(1).toFloatArray();
            int hidden = ref[0][0].length;
            for (int i = 0; i < ref.length; i++) {
                double[] mean = new double[hidden];
                int n = 0;
                for (int t = 0; t < ref[i].length; t++) {
                    if (b.attentionMask()[i][t] == 1) {
                        n++;
                        for (int d = 0; d < hidden; d++) {
                            mean[d] += ref[i][t][d];
                        }
                    }
                }
                double norm = 0;
                for (int d = 0; d < hidden; d++) {
                    mean[d] /= n;
                    norm += mean[d] * mean[d];
                }
                norm = Math.sqrt(norm);
                for (int d = 0; d < hidden; d++) {
                    maxDiff = Math.max(maxDiff, Math.abs(mean[d] / norm - emb[i * hidden + d]));
                }
            }
            return maxDiff;
        }
    }

    @Test
    void paddedBatchOfVariedSentencesMatchesOnnxRuntime() throws Exception {
        double d = checkBatch(SENTENCES, 128);
        System.out.println("MiniLM vs ONNX Runtime, padded batch of " + SENTENCES.size() + ": max abs diff " + d);
        assertTrue(d <= 1e-4, "max abs diff " + d);
    }

    @Test
    void a128TokenTextMatchesOnnxRuntime() throws Exception {
        try (BertTokenizer tok = BertTokenizer.open(dir, 128)) {
            assertEquals(128, tok.encode(List.of(longText())).inputIds()[0].length, "the text fills 128 tokens");
        }
        double d = checkBatch(List.of(longText(), "short one"), 128);
        System.out.println("MiniLM vs ONNX Runtime, 128-token text: max abs diff " + d);
        assertTrue(d <= 1e-4, "max abs diff " + d);
    }

    @Test
    void linearWeightsAreRecoveredTransposed() throws IOException {
        var params = ModuleTree.namedParameters(model);
        assertEquals(
                new ai.djl.ndarray.types.Shape(1536, 384),
                params.get("encoder.layer.0.intermediate.dense.weight")
                        .getArray()
                        .getShape());
        assertEquals(
                new ai.djl.ndarray.types.Shape(384, 1536),
                params.get("encoder.layer.5.output.dense.weight").getArray().getShape());
        assertEquals(6 * 16 + 5, params.size()); // 6 layers × 16 tensors + 3 embeddings + LayerNorm (2)
    }

    @Test
    void secondUseReadsTheCacheWithoutConverting() throws IOException {
        Path file = dir.resolve("model.safetensors");
        var before = Files.getLastModifiedTime(file);
        assertEquals(dir, MiniLm.directory());
        assertEquals(before, Files.getLastModifiedTime(file));
        assertTrue(dir.getFileName().toString().startsWith("all-minilm-l6-v2-langchain4j-1.19.0-beta29"));
    }
}
