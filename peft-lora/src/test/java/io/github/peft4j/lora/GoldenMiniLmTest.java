package io.github.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.peft4j.core.InjectionMode;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.Safetensors;
import io.github.peft4j.models.bert.Bert;
import io.github.peft4j.models.bert.BertTokenizer;
import io.github.peft4j.models.bert.MiniLm;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The interop proof: adapters written by Python's PEFT 0.21 on all-MiniLM-L6-v2 load in peft4j and reproduce the
 * outputs Python computed, and peft4j's own save of them holds the same tensors.
 */
class GoldenMiniLmTest {

    private static NDManager manager;
    private static Path modelDir;

    @BeforeAll
    static void open() throws IOException {
        manager = NDManager.newBaseManager();
        modelDir = MiniLm.directory();
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    private static JsonNode expected(String name) throws IOException {
        return Json.MAPPER.readTree(
                LoraInteropTest.golden(name + "/expected_outputs.json").toFile());
    }

    private static List<String> texts(JsonNode e) {
        List<String> t = new ArrayList<>();
        e.get("texts").forEach(x -> t.add(x.asText()));
        return t;
    }

    private static long[][] longs(JsonNode rows) {
        long[][] out = new long[rows.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = new long[rows.get(i).size()];
            for (int j = 0; j < out[i].length; j++) {
                out[i][j] = rows.get(i).get(j).asLong();
            }
        }
        return out;
    }

    private static double maxDiff(JsonNode rows, float[] ours) {
        double d = 0;
        int k = 0;
        for (JsonNode row : rows) {
            for (JsonNode v : row) {
                d = Math.max(d, Math.abs(v.asDouble() - ours[k++]));
            }
        }
        assertEquals(k, ours.length);
        return d;
    }

    private static NDList run(Block model, BertTokenizer.Batch batch, NDManager s) {
        return model.forward(new ParameterStore(s, false), batch.toNDList(s), false);
    }

    private static BertTokenizer.Batch tokenize(JsonNode e) throws IOException {
        try (BertTokenizer tok =
                BertTokenizer.open(modelDir, e.get("max_length").asInt())) {
            BertTokenizer.Batch b = tok.encode(texts(e));
            // Python's tokenizer and peft4j's see the same ids
            assertArrayEquals(longs(e.get("input_ids")), b.inputIds());
            assertArrayEquals(longs(e.get("attention_mask")), b.attentionMask());
            return b;
        }
    }

    /**
     * Loads a Python sequence-classification adapter, checks logits and probabilities against Python's, checks that
     * peft4j's save holds exactly Python's tensors under Python's keys, and that the merged model gives the same
     * logits.
     */
    private PeftModel checkSequenceClassification(String name, Path tmp) throws IOException {
        JsonNode e = expected(name);
        BertTokenizer.Batch batch = tokenize(e);
        PeftModel peft = PeftModel.builder()
                .setBaseModel(Bert.loadForSequenceClassification(modelDir, 2, manager, true, 0))
                .build();
        Path golden = LoraInteropTest.golden(name);
        peft.loadAdapter(golden, "default");
        assertEquals(InjectionMode.ACTIVATION, peft.getInjectionMode("bert.encoder.layer.0.attention.self.query"));
        try (NDManager s = manager.newSubManager()) {
            NDArray logits = run(peft, batch, s).singletonOrThrow();
            double d = maxDiff(e.get("logits"), logits.toFloatArray());
            System.out.println(name + " logits vs Python: max abs diff " + d);
            assertTrue(d <= 1e-4, "logits differ from Python's by " + d);
            assertTrue(maxDiff(e.get("probabilities"), logits.softmax(-1).toFloatArray()) <= 1e-4);
        }

        peft.saveAdapters(tmp);
        Map<String, NDArray> py = Safetensors.read(golden.resolve("adapter_model.safetensors"), manager)
                .tensors();
        Map<String, NDArray> ours = Safetensors.read(tmp.resolve("adapter_model.safetensors"), manager)
                .tensors();
        assertEquals(new java.util.TreeSet<>(py.keySet()), new java.util.TreeSet<>(ours.keySet()));
        for (String k : py.keySet()) {
            assertArrayEquals(py.get(k).toFloatArray(), ours.get(k).toFloatArray(), 0f, k);
        }

        peft.merge();
        try (NDManager s = manager.newSubManager()) {
            double d = maxDiff(
                    e.get("logits"), run(peft, batch, s).singletonOrThrow().toFloatArray());
            assertTrue(d <= 1e-4, "merged logits differ from Python's by " + d);
        }
        return peft;
    }

    @Test
    void sequenceClassificationLoraReproducesPythonLogits(@TempDir Path tmp) throws IOException {
        checkSequenceClassification("seqcls-lora", tmp);
    }

    @Test
    void featureExtractionRsloraWithPatternsReproducesPythonEmbeddings() throws IOException {
        JsonNode e = expected("feature-rslora-patterns");
        BertTokenizer.Batch batch = tokenize(e);
        PeftModel peft = PeftModel.builder().setBaseModel(MiniLm.load(manager)).build();
        peft.loadAdapter(LoraInteropTest.golden("feature-rslora-patterns"), "default");
        assertEquals(24, peft.getTargetPaths("default").size()); // 6 layers × query, key, value, intermediate.dense
        assertEquals(
                2,
                peft.getLayerAdapters("default", LoraLayer.class)
                        .get("encoder.layer.3.attention.self.value")
                        .getRank());
        try (NDManager s = manager.newSubManager()) {
            NDList out = run(peft, batch, s);
            double emb = maxDiff(e.get("embeddings"), out.get(1).toFloatArray());
            double cls = maxDiff(
                    e.get("last_hidden_state_cls"), out.get(0).get(":, 0, :").toFloatArray());
            System.out.println("feature-rslora embeddings vs Python: max abs diff " + emb + ", CLS " + cls);
            assertTrue(emb <= 1e-4 && cls <= 1e-4, "embeddings " + emb + ", CLS " + cls);
        }
        peft.disableAdapters();
        try (NDManager s = manager.newSubManager()) {
            double base = maxDiff(
                    e.get("base_outputs").get("embeddings"),
                    run(peft, batch, s).get(1).toFloatArray());
            assertTrue(base <= 1e-4, "base embeddings differ by " + base);
        }
    }

    @Test
    void loraOnRealMiniLmIsIdentityAtInitAndMergesExactly() throws IOException {
        JsonNode e = expected("seqcls-lora");
        BertTokenizer.Batch batch = tokenize(e);
        Block base = MiniLm.load(manager);
        float[] before;
        try (NDManager s = manager.newSubManager()) {
            before = run(base, batch, s).get(0).toFloatArray();
        }
        PeftModel peft = PeftModel.builder()
                .setBaseModel(base)
                .setConfig(LoraConfig.builder()
                        .setTargetModules("query", "value")
                        .optRank(8)
                        .optAlpha(16)
                        .build())
                .build();
        try (NDManager s = manager.newSubManager()) {
            assertArrayEquals(before, run(peft, batch, s).get(0).toFloatArray(), 0f);
        }
        peft.deleteAdapter("default");
        peft.addAdapter(
                "random",
                LoraConfig.builder()
                        .setTargetModules("query", "value")
                        .optRank(8)
                        .optAlpha(16)
                        .optInit(LoraInit.RANDOM)
                        .build());
        float[] unmerged;
        try (NDManager s = manager.newSubManager()) {
            unmerged = run(peft, batch, s).get(0).toFloatArray();
        }
        double moved = 0;
        for (int i = 0; i < unmerged.length; i++) {
            moved = Math.max(moved, Math.abs(unmerged[i] - before[i]));
        }
        assertTrue(moved > 1e-3, "a non-identity adapter must change the output");
        peft.merge();
        try (NDManager s = manager.newSubManager()) {
            float[] merged = run(peft, batch, s).get(0).toFloatArray();
            double scale = 0;
            double diff = 0;
            for (int i = 0; i < merged.length; i++) {
                scale = Math.max(scale, Math.abs(unmerged[i]));
                diff = Math.max(diff, Math.abs(unmerged[i] - merged[i]));
            }
            assertTrue(diff / scale <= 1e-5, "merged != unmerged: relative " + diff / scale);
        }
    }

    @Test
    void sequenceClassificationDoraReproducesPythonLogits(@TempDir Path tmp) throws IOException {
        PeftModel peft = checkSequenceClassification("seqcls-dora", tmp);
        // "dense" targets attention.output, intermediate and output dense layers, not the pooler saved whole
        assertEquals(30, peft.getTargetPaths("default").size());
        assertTrue(
                peft.getLayerAdapters("default", LoraLayer.class)
                                .get("bert.encoder.layer.2.output.dense")
                                .getVariant()
                        instanceof io.github.peft4j.lora.variant.Dora);
    }
}
