package io.github.peft4j.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.Safetensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line end to end on MiniLM and a small slice of data: a few dozen steps each. */
class TrainCliTest {

    @TempDir
    static Path tmp;
    static Path data;


    /** A small two-class CSV: offers versus work mail. */
    @BeforeAll
    static void writeData() throws IOException {
        String[] spam = {"Win a free prize now", "Cheap meds, click here", "You won the lottery, send your bank"
                + " details", "Limited offer: buy cheap watches", "Earn money fast from home"};
        String[] ham = {"Meeting moved to Tuesday", "The build is green again", "Please review my pull request",
            "Lunch at noon with the team?", "Minutes of yesterday's call attached"};
        StringBuilder sb = new StringBuilder("text,label\n");
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < 160; i++) {
            boolean s = i % 2 == 0;
            String[] pool = s ? spam : ham;
            sb.append('"').append(pool[r.nextInt(pool.length)]).append(" #").append(i).append("\",")
                    .append(s ? "spam" : "ham").append('\n');
        }
        data = tmp.resolve("mail.csv");
        Files.writeString(data, sb.toString());
    }

    static String[] train(Path out, String... extra) {
        String[] base = {"train", "--model", "minilm", "--data", data.toString(), "--output", out.toString(),
            "--max-length", "24", "--batch-size", "8", "--max-steps", "24", "--eval-every", "12", "--lr", "2e-3",
            "--no-progress"};
        String[] all = new String[base.length + extra.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return all;
    }

    @Test
    void trainEvalPredictMergeInspect() throws IOException {
        Path out = tmp.resolve("run");
        CliRun t = CliRun.of(train(out));
        assertEquals(0, t.code(), t.err() + t.out());
        assertTrue(t.out().contains("test: accuracy"), t.out());
        for (String f : new String[] {"adapter/adapter_config.json", "adapter/adapter_model.safetensors",
            "adapter/labels.json", "metrics.jsonl", "results.json", "report.html", "checkpoint/trainer_state.json"}) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        JsonNode results = Json.MAPPER.readTree(out.resolve("results.json").toFile());
        assertTrue(results.get("test_accuracy").asDouble() >= 0.9, results.toString()); // an easy task
        assertTrue(Files.readString(out.resolve("report.html")).contains("<polyline"));

        CliRun e = CliRun.of("eval", "--model", "minilm", "--adapter", out.resolve("adapter").toString(), "--data",
                data.toString(), "--max-length", "24");
        assertEquals(0, e.code(), e.err());
        assertTrue(e.out().contains(String.format(java.util.Locale.ROOT, "accuracy  %.4f",
                results.get("test_accuracy").asDouble())), e.out());

        CliRun p = CliRun.of("predict", "--model", "minilm", "--adapter", out.resolve("adapter").toString(), "--text",
                "Win a free prize now", "--json", "--max-length", "24");
        assertEquals(0, p.code(), p.err());
        JsonNode pj = Json.MAPPER.readTree(p.out());
        assertEquals("spam", pj.get("label").asText(), p.out());

        Path merged = tmp.resolve("merged");
        CliRun m = CliRun.of("merge", "--model", "minilm", "--adapter", out.resolve("adapter").toString(), "--output",
                merged.toString());
        assertEquals(0, m.code(), m.err());
        CliRun pm = CliRun.of("predict", "--model", merged.toString(), "--text", "Win a free prize now", "--json",
                "--max-length", "24");
        assertEquals(0, pm.code(), pm.err());
        double a = pj.get("probabilities").get("spam").asDouble();
        double b = Json.MAPPER.readTree(pm.out()).get("probabilities").get("spam").asDouble();
        assertEquals(a, b, 1e-4, "merged model must predict as base + adapter");

        CliRun emb = CliRun.of("predict", "--model", "minilm", "--text", "hello", "--embed");
        assertEquals(0, emb.code(), emb.err());
        assertEquals(384, Json.MAPPER.readTree(emb.out()).size());

        CliRun i = CliRun.of("inspect", out.resolve("adapter").toString());
        assertEquals(0, i.code(), i.err());
        assertTrue(i.out().contains("bert.encoder.layer.0.attention.self.query"), i.out());
        assertTrue(i.out().contains("saved whole: classifier.weight"), i.out());
    }

    @Test
    void doraTrainsAndItsAdapterCarriesMagnitudes() throws IOException {
        Path out = tmp.resolve("dora");
        CliRun t = CliRun.of(train(out, "--method", "dora"));
        assertEquals(0, t.code(), t.err() + t.out());
        JsonNode cfg = Json.MAPPER.readTree(out.resolve("adapter/adapter_config.json").toFile());
        assertTrue(cfg.get("use_dora").asBoolean());
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> t2 = Safetensors.read(out.resolve("adapter/adapter_model.safetensors"), m).tensors();
            assertEquals(new ai.djl.ndarray.types.Shape(384), t2.get(
                    "base_model.model.bert.encoder.layer.0.attention.self.query.lora_magnitude_vector").getShape());
        }
    }

    @Test
    void ssfTrainsAndMerges() throws IOException {
        Path out = tmp.resolve("ssf");
        CliRun t = CliRun.of(train(out, "--method", "ssf"));
        assertEquals(0, t.code(), t.err() + t.out());
        assertEquals("SSF", Json.MAPPER.readTree(out.resolve("adapter/adapter_config.json").toFile()).get(
                "peft_type").asText());
        CliRun p = CliRun.of("predict", "--adapter", out.resolve("adapter").toString(), "--text", "Cheap meds",
                "--json", "--max-length", "24");
        assertEquals(0, p.code(), p.err());
        Path merged = tmp.resolve("ssf-merged");
        assertEquals(0, CliRun.of("merge", "--adapter", out.resolve("adapter").toString(), "--output",
                merged.toString()).code());
        CliRun pm = CliRun.of("predict", "--model", merged.toString(), "--text", "Cheap meds", "--json",
                "--max-length", "24");
        assertEquals(Json.MAPPER.readTree(p.out()).get("probabilities").get("spam").asDouble(),
                Json.MAPPER.readTree(pm.out()).get("probabilities").get("spam").asDouble(), 1e-4,
                "an SSF adapter merges away completely");
    }

    @Test
    void pissaAdapterIsSavedAtRank2rAndEvaluatesOnTheOriginalBase() throws IOException {
        Path out = tmp.resolve("pissa");
        CliRun t = CliRun.of(train(out, "--init", "pissa"));
        assertEquals(0, t.code(), t.err() + t.out());
        JsonNode cfg = Json.MAPPER.readTree(out.resolve("adapter/adapter_config.json").toFile());
        assertEquals(16, cfg.get("r").asInt());
        assertEquals(32.0, cfg.get("lora_alpha").asDouble());
        assertTrue(Files.readString(out.resolve("adapter/README.md")).contains("PiSSA"));
        JsonNode results = Json.MAPPER.readTree(out.resolve("results.json").toFile());
        // eval loads the rank-2r adapter onto the unmodified MiniLM: the test loss must be the one training saw
        CliRun e = CliRun.of("eval", "--adapter", out.resolve("adapter").toString(), "--data", data.toString(),
                "--max-length", "24");
        assertEquals(0, e.code(), e.err());
        double loss = Double.parseDouble(e.out().lines().filter(l -> l.startsWith("loss")).findFirst().orElseThrow()
                .substring(4).strip());
        assertEquals(results.get("test_loss").asDouble(), loss, 1e-4, e.out());
    }

    @Test
    void evaAndLoraGaJoinTheCommandLine() throws IOException {
        Path eva = tmp.resolve("eva");
        CliRun t = CliRun.of(train(eva, "--init", "eva", "--init-batches", "4", "--targets", "all-linear"));
        assertEquals(0, t.code(), t.err() + t.out());
        assertTrue(t.out().contains("EVA: 4 batches") || t.out().contains("EVA: "), t.out());
        JsonNode cfg = Json.MAPPER.readTree(eva.resolve("adapter/adapter_config.json").toFile());
        int sum = 0;
        for (JsonNode v : cfg.get("rank_pattern")) {
            sum += v.asInt();
        }
        // all-linear on MiniLM: 6 layers x 6 linear layers, budget 36 x 8
        assertEquals(36 * 8, sum, cfg.get("rank_pattern").toString());

        Path ga = tmp.resolve("lora-ga");
        CliRun g = CliRun.of(train(ga, "--init", "lora-ga", "--init-batches", "2"));
        assertEquals(0, g.code(), g.err() + g.out());
        assertEquals(16, Json.MAPPER.readTree(ga.resolve("adapter/adapter_config.json").toFile()).get("r").asInt());

        CliRun bad = CliRun.of(train(tmp.resolve("x"), "--method", "ssf", "--init", "pissa"));
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("--init pissa initialises LoRA adapters"), bad.err());
        CliRun bad2 = CliRun.of(train(tmp.resolve("x"), "--init", "olora"));
        assertTrue(bad2.err().contains("--init must be default, gaussian, pissa, lora-ga or eva"), bad2.err());
    }

    @Test
    void saraAndSpielTrainSaveMergeAndPredict() throws IOException {
        Path sara = tmp.resolve("sara");
        CliRun t = CliRun.of(train(sara, "--method", "sara", "--sara-fraction", "0.05"));
        assertEquals(0, t.code(), t.err() + t.out());
        JsonNode cfg = Json.MAPPER.readTree(sara.resolve("adapter/adapter_config.json").toFile());
        assertEquals("SARA", cfg.get("peft_type").asText());
        assertEquals(12, cfg.get("sara_reselect_step").asInt()); // halfway through 24 steps, as the reference
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = Safetensors.read(sara.resolve("adapter/adapter_model.safetensors"), m)
                    .tensors();
            NDArray idx = tensors.get("base_model.model.bert.encoder.layer.0.attention.self.query.sara_indices");
            assertEquals(ai.djl.ndarray.types.DataType.INT32, idx.getDataType());
            assertEquals(Math.round(0.05 * 384 * 384), idx.size());
        }
        Path merged = tmp.resolve("sara-merged");
        CliRun mg = CliRun.of("merge", "--adapter", sara.resolve("adapter").toString(), "--output",
                merged.toString());
        assertEquals(0, mg.code(), mg.err());
        CliRun a = CliRun.of("predict", "--adapter", sara.resolve("adapter").toString(), "--text", "Cheap meds, click"
                + " here", "--json", "--max-length", "24");
        CliRun b = CliRun.of("predict", "--model", merged.toString(), "--text", "Cheap meds, click here", "--json",
                "--max-length", "24");
        assertEquals(0, a.code(), a.err());
        assertEquals(a.out(), b.out(), "the merged model predicts what the adapter does");

        Path spiel = tmp.resolve("spiel");
        CliRun s = CliRun.of(train(spiel, "--method", "spiel", "--density", "0.02", "--sparse-gradient", "dense"));
        assertEquals(0, s.code(), s.err() + s.out());
        assertEquals("SPIEL", Json.MAPPER.readTree(spiel.resolve("adapter/adapter_config.json").toFile())
                .get("peft_type").asText());

        CliRun bad = CliRun.of(train(tmp.resolve("x"), "--method", "sara", "--sparse-gradient", "fast"));
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("--sparse-gradient must be auto, sddmm or dense"), bad.err());
        CliRun frac = CliRun.of(train(tmp.resolve("x"), "--method", "sara", "--sara-fraction", "1.5"));
        assertEquals(1, frac.code());
        assertTrue(frac.err().contains("sara_fraction must be in (0, 1)"), frac.err());
    }

    @Test
    void resumedRunEqualsUninterruptedRun() throws IOException {
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        assertEquals(0, CliRun.of(train(a, "--checkpoint-every", "0")).code());
        assertEquals(0, CliRun.of(train(b, "--stop-after", "10")).code());
        CliRun resumed = CliRun.of(train(b, "--resume", b.resolve("checkpoint").toString()));
        assertEquals(0, resumed.code(), resumed.err());
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> ta = Safetensors.read(a.resolve("adapter/adapter_model.safetensors"), m).tensors();
            Map<String, NDArray> tb = Safetensors.read(b.resolve("adapter/adapter_model.safetensors"), m).tensors();
            assertEquals(ta.keySet(), tb.keySet());
            for (String k : ta.keySet()) {
                assertArrayEquals(ta.get(k).toFloatArray(), tb.get(k).toFloatArray(), 1e-6f, k);
            }
        }
    }

    @Test
    void badArgumentsFailWithAMessage() throws IOException {
        CliRun noData = CliRun.of("train", "--output", tmp.resolve("x").toString());
        assertEquals(2, noData.code());
        assertTrue(noData.err().contains("Missing required option: '--data"), noData.err());

        CliRun method = CliRun.of("train", "--data", data.toString(), "--output", tmp.resolve("x").toString(), "--method",
                "ia3");
        assertEquals(1, method.code());
        assertEquals("error: --method must be lora, dora, ssf, sara, spiel or full; got 'ia3'", method.err().strip());

        Path bad = tmp.resolve("bad.jsonl");
        Files.writeString(bad, "{\"text\": \"ok\", \"label\": \"a\"}\n{\"label\": \"b\"}\n");
        CliRun row = CliRun.of("train", "--data", bad.toString(), "--output", tmp.resolve("x").toString());
        assertEquals(1, row.code());
        assertTrue(row.err().strip().endsWith("bad.jsonl:2: 'text' is missing or empty"), row.err());

        CliRun model = CliRun.of("eval", "--model", tmp.resolve("nope").toString(), "--data", data.toString());
        assertEquals(1, model.code());
        assertTrue(model.err().contains("is neither 'minilm' nor a directory"), model.err());
        assertTrue(!model.err().contains("\tat "), "no stack trace");

        CliRun inspect = CliRun.of("inspect", tmp.toString());
        assertEquals(1, inspect.code());
        assertTrue(inspect.err().startsWith("error: not an adapter directory"), inspect.err());
    }
}
