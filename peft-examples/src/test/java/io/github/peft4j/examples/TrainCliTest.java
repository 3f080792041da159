package io.github.peft4j.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.Safetensors;
import io.github.peft4j.examples.cli.PeftCommand;
import io.github.peft4j.models.bert.MiniLm;
import io.github.peft4j.testing.TinyBert;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The command line end to end on a tiny random BERT with MiniLM's tokenizer (the wiring, not the accuracy, is under
 * test: MiniLM itself is exercised by the models' and golden tests): train, eval, predict, merge, inspect, every
 * method, exact resume for each, and Ctrl-C/SIGTERM writing a checkpoint.
 */
class TrainCliTest {

    @TempDir
    static Path tmp;

    static Path data;
    static Path tiny;

    /** A small two-class CSV (offers versus work mail) and the tiny model directory. */
    @BeforeAll
    static void writeDataAndModel() throws IOException {
        String[] spam = {
            "Win a free prize now",
            "Cheap meds, click here",
            "You won the lottery, send your bank" + " details",
            "Limited offer: buy cheap watches",
            "Earn money fast from home"
        };
        String[] ham = {
            "Meeting moved to Tuesday",
            "The build is green again",
            "Please review my pull request",
            "Lunch at noon with the team?",
            "Minutes of yesterday's call attached"
        };
        StringBuilder sb = new StringBuilder("text,label\n");
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < 160; i++) {
            boolean s = i % 2 == 0;
            String[] pool = s ? spam : ham;
            sb.append('"')
                    .append(pool[r.nextInt(pool.length)])
                    .append(" #")
                    .append(i)
                    .append("\",")
                    .append(s ? "spam" : "ham")
                    .append('\n');
        }
        data = tmp.resolve("mail.csv");
        Files.writeString(data, sb.toString());
        tiny = tmp.resolve("tiny-bert");
        TinyBert.writeDirectory(tiny, MiniLm.directory().resolve("tokenizer.json"));
    }

    /** {@code peft train} on the tiny model and the mail CSV; options in {@code extra} replace the defaults. */
    static String[] train(Path out, String... extra) {
        String[][] defaults = {
            {"--model", tiny.toString()},
            {"--data", data.toString()},
            {"--output", out.toString()},
            {"--max-length", "24"},
            {"--batch-size", "8"},
            {"--max-steps", "24"},
            {"--eval-every", "12"},
            {"--lr", "3e-2"}
        };
        List<String> given = new ArrayList<>();
        for (String e : extra) {
            if (e.startsWith("--")) {
                given.add(e.contains("=") ? e.substring(0, e.indexOf('=')) : e);
            }
        }
        List<String> all = new ArrayList<>(List.of("train", "--no-progress"));
        for (String[] d : defaults) {
            if (!given.contains(d[0])) {
                all.addAll(List.of(d));
            }
        }
        all.addAll(List.of(extra));
        return all.toArray(String[]::new);
    }

    /** {@code peft eval} of an adapter on the tiny model. */
    static CliRun eval(Path adapter) {
        return eval(adapter, data);
    }

    /** {@code peft eval} of an adapter on the tiny model and a data file. */
    static CliRun eval(Path adapter, Path file) {
        return CliRun.of(
                "eval",
                "--model",
                tiny.toString(),
                "--adapter",
                adapter.toString(),
                "--data",
                file.toString(),
                "--max-length",
                "24");
    }

    /** {@code peft merge} of an adapter that cannot be merged: exit 1 with the message that says so. */
    static void assertMergeRefused(Path adapter, Path output) {
        CliRun m = CliRun.of(
                "merge", "--model", tiny.toString(), "--adapter", adapter.toString(), "--output", output.toString());
        assertEquals(1, m.code(), m.out());
        assertTrue(m.err().contains("cannot be merged"), m.err());
    }

    /** {@code peft predict --json}: the tiny model with an adapter, or a merged model directory (adapter null). */
    static JsonNode predict(Path model, Path adapter, String text) throws IOException {
        List<String> args = new ArrayList<>(
                List.of("predict", "--model", model.toString(), "--text", text, "--json", "--max-length", "24"));
        if (adapter != null) {
            args.addAll(List.of("--adapter", adapter.toString()));
        }
        CliRun r = CliRun.of(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        return Json.MAPPER.readTree(r.out());
    }

    /** Merges an adapter into the tiny model; the merged model must predict what base + adapter does. */
    static void assertMergeKeepsPredictions(Path adapter, String text, double tolerance) throws IOException {
        Path merged = adapter.resolveSibling(adapter.getFileName() + "-merged");
        CliRun m = CliRun.of(
                "merge", "--model", tiny.toString(), "--adapter", adapter.toString(), "--output", merged.toString());
        assertEquals(0, m.code(), m.err());
        double a = predict(tiny, adapter, text).get("probabilities").get("spam").asDouble();
        double b = predict(merged, null, text).get("probabilities").get("spam").asDouble();
        assertEquals(a, b, tolerance, "the merged model must predict what base + adapter does");
    }

    static Map<String, float[]> tensors(Path adapter) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, float[]> out = new java.util.TreeMap<>();
            Safetensors.read(adapter.resolve("adapter_model.safetensors"), m)
                    .tensors()
                    .forEach((k, v) -> out.put(
                            k,
                            v.toType(ai.djl.ndarray.types.DataType.FLOAT32, false)
                                    .toFloatArray()));
            return out;
        }
    }

    static void assertSameAdapter(Path a, Path b) throws IOException {
        Map<String, float[]> ta = tensors(a);
        Map<String, float[]> tb = tensors(b);
        assertEquals(ta.keySet(), tb.keySet());
        for (String k : ta.keySet()) {
            assertArrayEquals(ta.get(k), tb.get(k), 1e-6f, k);
        }
    }

    @Test
    void trainEvalPredictMergeInspect() throws IOException {
        Path out = tmp.resolve("run");
        CliRun t = CliRun.of(train(out));
        assertEquals(0, t.code(), t.err() + t.out());
        assertTrue(t.out().contains("test: accuracy"), t.out());
        for (String f : new String[] {
            "adapter/adapter_config.json",
            "adapter/adapter_model.safetensors",
            "adapter/labels.json",
            "metrics.jsonl",
            "results.json",
            "report.html",
            "checkpoint/trainer_state.json",
            "checkpoint/model/peft_state.json",
            "checkpoint/adapter/adapter_model.safetensors"
        }) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        JsonNode results = Json.MAPPER.readTree(out.resolve("results.json").toFile());
        // a keyword task a random tiny BERT learns: chance is 0.5
        assertTrue(results.get("test_accuracy").asDouble() >= 0.75, results.toString());
        String report = Files.readString(out.resolve("report.html"));
        assertTrue(report.contains("echarts.init(document.getElementById('loss')"), "the loss chart");
        assertTrue(report.contains("echarts.init(document.getElementById('rss')"), "the memory chart");

        CliRun e = eval(out.resolve("adapter"));
        assertEquals(0, e.code(), e.err());
        String accuracy = String.format(
                java.util.Locale.ROOT,
                "accuracy  %.4f",
                results.get("test_accuracy").asDouble());
        assertTrue(e.out().contains(accuracy), e.out());
        assertMergeKeepsPredictions(out.resolve("adapter"), "Win a free prize now", 1e-5);

        CliRun emb = CliRun.of("predict", "--model", "minilm", "--text", "hello", "--embed");
        assertEquals(0, emb.code(), emb.err());
        assertEquals(384, Json.MAPPER.readTree(emb.out()).size());

        CliRun i = CliRun.of("inspect", out.resolve("adapter").toString());
        assertEquals(0, i.code(), i.err());
        assertTrue(i.out().contains("bert.encoder.layer.0.attention.self.query"), i.out());
        assertTrue(i.out().contains("saved whole: classifier.weight"), i.out());
    }

    /** {@code --precision bf16}: frozen weights in bf16, the keyword task still learnt; nonsense refused. */
    @Test
    void trainsWithABf16Base() throws IOException {
        Path out = tmp.resolve("bf16");
        CliRun t = CliRun.of(train(out, "--precision", "bf16"));
        assertEquals(0, t.code(), t.err() + t.out());
        JsonNode results = Json.MAPPER.readTree(out.resolve("results.json").toFile());
        assertTrue(results.get("test_accuracy").asDouble() >= 0.75, results.toString());
        assertTrue(results.toString().contains("bf16"), results.toString());
        CliRun e = eval(out.resolve("adapter"));
        assertEquals(0, e.code(), e.err());

        CliRun full = CliRun.of(train(tmp.resolve("bf16-full"), "--method", "full", "--precision", "bf16"));
        assertEquals(2, full.code(), full.out());
        assertTrue(full.err().contains("nothing would be frozen"), full.err());
        CliRun fp16 = CliRun.of(train(tmp.resolve("fp16"), "--precision", "fp16"));
        assertEquals(2, fp16.code(), fp16.out());
        assertTrue(fp16.err().contains("--precision must be fp32 or bf16"), fp16.err());
    }

    /** {@code peft combine}: two trained adapters, cat with weights; the head of the one named; eval runs on it. */
    @Test
    void combinesTwoTrainedAdapters() throws IOException {
        Path one = tmp.resolve("combine-1");
        Path two = tmp.resolve("combine-2");
        assertEquals(0, CliRun.of(train(one, "--max-steps", "6", "--seed", "1")).code());
        assertEquals(0, CliRun.of(train(two, "--max-steps", "6", "--seed", "2")).code());
        Path out = tmp.resolve("combined");
        String[] args = {
            "combine",
            "--adapter",
            one.resolve("adapter").toString(),
            "--adapter",
            two.resolve("adapter").toString(),
            "--weights",
            "0.5,0.25",
            "--type",
            "cat",
            "--output",
            out.toString()
        };
        CliRun refused = CliRun.of(args);
        assertEquals(1, refused.code(), refused.out());
        assertTrue(refused.err().contains("--modules-to-save-from"), refused.err());

        CliRun c = CliRun.of(concat(args, "--modules-to-save-from", "2"));
        assertEquals(0, c.code(), c.err() + c.out());
        assertTrue(c.out().contains("rank 16"), c.out());
        Map<String, float[]> a = tensors(one.resolve("adapter"));
        Map<String, float[]> b = tensors(two.resolve("adapter"));
        Map<String, float[]> m = tensors(out);
        String key = "base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight";
        float[] a1 = a.get(key);
        float[] a2 = b.get(key);
        float[] cat = m.get(key);
        assertEquals(a1.length + a2.length, cat.length);
        double s = 16.0 / 8; // lora_alpha / r of the trained adapters
        for (int i = 0; i < a1.length; i++) {
            assertEquals(0.5 * s * a1[i], cat[i], 1e-6, "first adapter's rows, scaled by w·s");
        }
        for (int i = 0; i < a2.length; i++) {
            assertEquals(0.25 * s * a2[i], cat[a1.length + i], 1e-6, "second adapter's rows");
        }
        assertArrayEquals(b.get("base_model.model.classifier.weight"), m.get("base_model.model.classifier.weight"));
        // the issue's spelling: peft merge --adapters A,B --combination ...
        Path viaMerge = tmp.resolve("combined-via-merge");
        CliRun vm = CliRun.of(
                "merge",
                "--adapters",
                one.resolve("adapter") + "," + two.resolve("adapter"),
                "--weights",
                "0.5,0.25",
                "--combination",
                "cat",
                "--modules-to-save-from",
                "2",
                "--output",
                viaMerge.toString());
        assertEquals(0, vm.code(), vm.err() + vm.out());
        assertSameAdapter(out, viaMerge);
        assertTrue(Files.isRegularFile(out.resolve("labels.json")));
        CliRun e = eval(out);
        assertEquals(0, e.code(), e.err());
        assertTrue(e.out().contains("accuracy"), e.out());
    }

    @Test
    void transfersAFullFineTuneAndScalesItByDepth() throws IOException {
        Path ft = tmp.resolve("full-ft");
        CliRun t = CliRun.of(train(ft, "--method", "full", "--max-steps", "6", "--lr", "1e-3"));
        assertEquals(0, t.code(), t.err() + t.out());
        Path again = tmp.resolve("transferred");
        Path vector = tmp.resolve("vector");
        CliRun tr = CliRun.of(
                "transfer",
                "--base",
                tiny.toString(),
                "--fine-tuned",
                ft.resolve("model").toString(),
                "--save-vector",
                vector.toString(),
                "--output",
                again.toString());
        assertEquals(0, tr.code(), tr.err() + tr.out());
        assertTrue(tr.out().contains("new in the fine-tuned model [classifier.bias, classifier.weight]"), tr.out());
        // the update applied to the base it came from is the fine-tuned model: same predictions
        String text = "Cheap watches, limited offer";
        double p = predict(ft.resolve("model"), null, text)
                .get("probabilities")
                .get("spam")
                .asDouble();
        double q = predict(again, null, text).get("probabilities").get("spam").asDouble();
        assertEquals(p, q, 1e-5);
        // LiNeS with alpha 0: the first layer's and the embeddings' updates are gone, the last layer's kept
        Path scaled = tmp.resolve("transferred-lines");
        CliRun li = CliRun.of(
                "transfer",
                "--vector",
                vector.toString(),
                "--onto",
                tiny.toString(),
                "--lines",
                "--output",
                scaled.toString());
        assertEquals(0, li.code(), li.err() + li.out());
        assertTrue(li.out().contains("LiNeS over 2 layers"), li.out());
        Map<String, float[]> base = modelTensors(tiny);
        Map<String, float[]> fine = modelTensors(ft.resolve("model"));
        Map<String, float[]> out = modelTensors(scaled);
        String first = "encoder.layer.0.attention.self.query.weight";
        String last = "encoder.layer.1.attention.self.query.weight";
        assertArrayEquals(base.get(first), out.get("bert." + first), 0f);
        assertArrayEquals(fine.get("bert." + last), out.get("bert." + last), 1e-6f);
        assertArrayEquals(
                base.get("embeddings.word_embeddings.weight"), out.get("bert.embeddings.word_embeddings.weight"), 0f);
        assertTrue(!java.util.Arrays.equals(base.get(last), fine.get("bert." + last)), "the last layer trained");

        // grafting all of the update gives the fine-tuned model's accuracy; none of it, the base with the new head
        Path graft = tmp.resolve("graft");
        CliRun g = CliRun.of(
                "graft",
                "--base",
                tiny.toString(),
                "--fine-tuned",
                ft.resolve("model").toString(),
                "--data",
                data.toString(),
                "--max-length",
                "24",
                "--fractions",
                "0,0.01,1",
                "--output",
                graft.toString());
        assertEquals(0, g.code(), g.err() + g.out());
        JsonNode grafts =
                Json.MAPPER.readTree(graft.resolve("results.json").toFile()).get("grafts");
        assertEquals(3, grafts.size());
        assertEquals(0, grafts.get(0).get("entries").asLong());
        long all = Json.MAPPER
                .readTree(graft.resolve("results.json").toFile())
                .get("entries")
                .asLong();
        assertEquals(Math.round(0.01 * all), grafts.get(1).get("entries").asLong(), 1.0);
        CliRun fe = CliRun.of(
                "eval", "--model", ft.resolve("model").toString(), "--data", data.toString(), "--max-length", "24");
        assertEquals(0, fe.code(), fe.err());
        String acc = String.format(
                java.util.Locale.ROOT,
                "%.4f",
                grafts.get(2).get("test_accuracy").asDouble());
        assertTrue(fe.out().contains("accuracy  " + acc), "grafting everything is the fine-tuned model: " + fe.out());
        assertTrue(Files.readString(graft.resolve("graft.html"))
                .contains("echarts.init(document.getElementById('graft')"));

        CliRun none = CliRun.of("transfer", "--fine-tuned", ft.toString(), "--output", again.toString());
        assertEquals(2, none.code(), none.out());
        assertTrue(none.err().contains("give --base and --fine-tuned"), none.err());
    }

    @Test
    void linesScalesATrainedAdapterByDepth() throws IOException {
        Path run = tmp.resolve("lines-run");
        assertEquals(0, CliRun.of(train(run, "--max-steps", "6")).code());
        Path out = tmp.resolve("lines-adapter");
        CliRun c = CliRun.of(
                "lines", "--adapter", run.resolve("adapter").toString(), "--alpha", "0.5", "--output", out.toString());
        assertEquals(0, c.code(), c.err() + c.out());
        assertTrue(c.out().contains("LiNeS over 2 layers (factors 0.500 to 1.50)"), c.out());
        Map<String, float[]> a = tensors(run.resolve("adapter"));
        Map<String, float[]> b = tensors(out);
        String b0 = "base_model.model.bert.encoder.layer.0.attention.self.query.lora_B.weight";
        String b1 = "base_model.model.bert.encoder.layer.1.attention.self.query.lora_B.weight";
        for (int i = 0; i < a.get(b0).length; i++) {
            assertEquals(0.5 * a.get(b0)[i], b.get(b0)[i], 1e-7);
            assertEquals(1.5 * a.get(b1)[i], b.get(b1)[i], 1e-6);
        }
        String a0 = "base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight";
        assertArrayEquals(a.get(a0), b.get(a0), 0f);
        assertArrayEquals(a.get("base_model.model.classifier.weight"), b.get("base_model.model.classifier.weight"));
        CliRun e = eval(out);
        assertEquals(0, e.code(), e.err());
    }

    static Map<String, float[]> modelTensors(Path dir) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, float[]> out = new java.util.TreeMap<>();
            Safetensors.read(dir.resolve("model.safetensors"), m)
                    .tensors()
                    .forEach((k, v) -> out.put(
                            k,
                            v.toType(ai.djl.ndarray.types.DataType.FLOAT32, false)
                                    .toFloatArray()));
            return out;
        }
    }

    /** The issue's acceptance: stop at 10, resume to 24, the same adapter file as an uninterrupted run. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"lora,", "dora,", "ssf,", "sara,--sara-fraction=0.05", "spiel,--regrow-every=8"})
    void resumedRunWritesTheAdapterOfTheUninterruptedRun(String method, String extra) throws IOException {
        String[] opts = extra == null ? new String[] {"--method", method} : new String[] {"--method", method, extra};
        Path a = tmp.resolve(method + "-full");
        Path b = tmp.resolve(method + "-part");
        CliRun full = CliRun.of(train(a, opts));
        assertEquals(0, full.code(), full.err() + full.out());
        CliRun part = CliRun.of(train(b, concat(opts, "--stop-after", "10")));
        assertEquals(0, part.code(), part.err());
        CliRun resumed = CliRun.of(
                train(b, concat(opts, "--resume", b.resolve("checkpoint").toString())));
        assertEquals(0, resumed.code(), resumed.err() + resumed.out());
        assertTrue(resumed.out().contains("resuming " + method), resumed.out());
        assertSameAdapter(a.resolve("adapter"), b.resolve("adapter"));
        if (method.equals("spiel")) {
            // regrowth after steps 8 (before the stop) and 16 (after it) moved positions
            Map<String, float[]> t = tensors(b.resolve("adapter"));
            assertTrue(t.keySet().stream().anyMatch(k -> k.endsWith("spiel_indices")));
        }
    }

    static String[] concat(String[] a, String... b) {
        List<String> l = new ArrayList<>(List.of(a));
        l.addAll(List.of(b));
        return l.toArray(String[]::new);
    }

    @Test
    void resumeRefusesAnotherMethodAndAnotherSeed() throws IOException {
        Path run = tmp.resolve("refuse");
        assertEquals(0, CliRun.of(train(run, "--stop-after", "4")).code());
        CliRun other = CliRun.of(train(
                run, "--method", "ssf", "--resume", run.resolve("checkpoint").toString()));
        assertEquals(1, other.code());
        assertTrue(other.err().contains("holds a LORA adapter but --method is ssf"), other.err());
        CliRun seed = CliRun.of(
                train(run, "--seed", "7", "--resume", run.resolve("checkpoint").toString()));
        assertEquals(1, seed.code());
        assertTrue(seed.err().contains("was written with seed 42 but this run uses seed 7"), seed.err());
    }

    /** SIGTERM (and Ctrl-C) mid-run: the step finishes, a checkpoint is written, the process exits 143 (130). */
    @Test
    void sigtermWritesACheckpointThatResumesToTheUninterruptedResult() throws Exception {
        Path out = tmp.resolve("signal");
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                PeftCommand.class.getName()));
        cmd.addAll(List.of(train(out, "--max-steps", "400", "--checkpoint-every", "0", "--eval-every", "0")));
        Process p = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(tmp.resolve("signal.log").toFile())
                .start();
        Path metrics = out.resolve("metrics.jsonl");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!(Files.isRegularFile(metrics) && Files.readAllLines(metrics).size() >= 3)) {
            assertTrue(p.isAlive(), Files.readString(tmp.resolve("signal.log")));
            assertTrue(System.nanoTime() < deadline, "no progress: " + Files.readString(tmp.resolve("signal.log")));
            Thread.sleep(100);
        }
        p.destroy(); // SIGTERM
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the process did not exit");
        String log = Files.readString(tmp.resolve("signal.log"));
        assertEquals(143, p.exitValue(), log);
        assertTrue(log.contains("stop requested"), log);
        JsonNode state = Json.MAPPER.readTree(
                out.resolve("checkpoint/trainer_state.json").toFile());
        long step = state.get("step").asLong();
        assertTrue(step >= 3 && step < 400, "checkpoint at step " + step);
        assertEquals(step, Files.readAllLines(metrics).size(), "the checkpoint is the last step written");
        assertTrue(!new File(out.toFile(), "checkpoint.tmp").exists());
    }

    @Test
    void doraTrainsAndItsAdapterCarriesMagnitudes() throws IOException {
        Path out = tmp.resolve("dora");
        CliRun t = CliRun.of(train(out, "--method", "dora"));
        assertEquals(0, t.code(), t.err() + t.out());
        JsonNode cfg =
                Json.MAPPER.readTree(out.resolve("adapter/adapter_config.json").toFile());
        assertTrue(cfg.get("use_dora").asBoolean());
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> t2 = Safetensors.read(out.resolve("adapter/adapter_model.safetensors"), m)
                    .tensors();
            assertEquals(
                    new ai.djl.ndarray.types.Shape(32),
                    t2.get("base_model.model.bert.encoder.layer.0.attention.self.query.lora_magnitude_vector")
                            .getShape());
        }
    }

    @Test
    void ia3TrainsSavesInPythonsLayoutAndMerges() throws IOException {
        Path out = tmp.resolve("ia3");
        CliRun t = CliRun.of(train(out, "--method", "ia3"));
        assertEquals(0, t.code(), t.err() + t.out());
        JsonNode cfg =
                Json.MAPPER.readTree(out.resolve("adapter/adapter_config.json").toFile());
        assertEquals("IA3", cfg.get("peft_type").asText());
        assertEquals("output.dense", cfg.get("feedforward_modules").get(0).asText());
        Map<String, float[]> tensors = tensors(out.resolve("adapter"));
        // key/value scale their 32 outputs, the feed-forward output.dense its 64 inputs; the attention's output.dense
        // is a target too and, matching "output.dense", scales its 32 inputs
        assertEquals(32, tensors.get("base_model.model.bert.encoder.layer.0.attention.self.key.ia3_l").length);
        assertEquals(64, tensors.get("base_model.model.bert.encoder.layer.0.output.dense.ia3_l").length);
        boolean trained = false;
        for (float v : tensors.get("base_model.model.bert.encoder.layer.1.attention.self.value.ia3_l")) {
            trained |= v != 1f;
        }
        assertTrue(trained, "the scales moved from 1");
        assertMergeKeepsPredictions(out.resolve("adapter"), "Cheap meds, click here", 1e-5);
        CliRun bad = CliRun.of(train(tmp.resolve("x"), "--method", "lora", "--feedforward-modules", "dense"));
        assertEquals(2, bad.code(), bad.out());
        assertTrue(bad.err().contains("--feedforward-modules does not apply to --method lora"), bad.err());
    }

    @Test
    void lohaTrainsInPythonsLayoutAndMerges() throws IOException {
        Path out = tmp.resolve("loha");
        CliRun t = CliRun.of(train(out, "--method", "loha", "--rank", "2", "--alpha", "4"));
        assertEquals(0, t.code(), t.err() + t.out());
        JsonNode cfg =
                Json.MAPPER.readTree(out.resolve("adapter/adapter_config.json").toFile());
        assertEquals("LOHA", cfg.get("peft_type").asText());
        assertEquals(2, cfg.get("r").asInt());
        Map<String, float[]> tensors = tensors(out.resolve("adapter"));
        assertEquals(
                32 * 2, tensors.get("base_model.model.bert.encoder.layer.0.attention.self.query.hada_w1_a").length);
        assertMergeKeepsPredictions(out.resolve("adapter"), "Cheap meds, click here", 1e-5);
    }

    @Test
    void lokrTrainsInPythonsLayoutAndMerges() throws IOException {
        Path out = tmp.resolve("lokr");
        CliRun t = CliRun.of(train(out, "--method", "lokr", "--rank", "2", "--alpha", "4"));
        assertEquals(0, t.code(), t.err() + t.out());
        JsonNode cfg =
                Json.MAPPER.readTree(out.resolve("adapter/adapter_config.json").toFile());
        assertEquals("LOKR", cfg.get("peft_type").asText());
        Map<String, float[]> tensors = tensors(out.resolve("adapter"));
        // 32 = 4 · 8: w1 [4, 4] full, w2 [8, 8] a rank-2 product (2 < 8 / 2)
        String query = "base_model.model.bert.encoder.layer.0.attention.self.query.";
        assertEquals(16, tensors.get(query + "lokr_w1").length);
        assertEquals(8 * 2, tensors.get(query + "lokr_w2_a").length);
        assertMergeKeepsPredictions(out.resolve("adapter"), "Cheap meds, click here", 1e-5);
    }

    @Test
    void lnTuningTrainsEveryLayerNormAndMerges() throws IOException {
        Path out = tmp.resolve("ln");
        CliRun t = CliRun.of(train(out, "--method", "ln", "--lr", "1e-2"));
        assertEquals(0, t.code(), t.err() + t.out());
        JsonNode cfg =
                Json.MAPPER.readTree(out.resolve("adapter/adapter_config.json").toFile());
        assertEquals("LN_TUNING", cfg.get("peft_type").asText());
        Map<String, float[]> tensors = tensors(out.resolve("adapter"));
        // embeddings.LayerNorm and two per encoder layer (2 layers), weight and bias each
        assertEquals(
                2 * (1 + 2 * 2),
                tensors.keySet().stream()
                        .filter(k -> k.contains(".ln_tuning_layers."))
                        .count());
        assertTrue(tensors.containsKey("base_model.model.bert.encoder.layer.1.output.LayerNorm.ln_tuning_layers.bias"));
        assertMergeKeepsPredictions(out.resolve("adapter"), "Cheap meds, click here", 1e-5);
    }

    @Test
    void recipesCombineFromTheCommandLineAndAreRecordedInTheCheckpoint() throws IOException {
        Path out = tmp.resolve("recipes");
        CliRun t = CliRun.of(train(
                out,
                "--lora-plus-ratio",
                "16",
                "--llrd",
                "0.9",
                "--lisa-layers",
                "1",
                "--lisa-period",
                "4",
                "--lp-steps",
                "3",
                "--freeze-bottom",
                "1"));
        assertEquals(0, t.code(), t.err() + t.out());
        JsonNode state = Json.MAPPER.readTree(
                out.resolve("checkpoint/trainer_state.json").toFile());
        List<String> recipes = new ArrayList<>();
        state.get("recipes").forEach(n -> recipes.add(n.asText()));
        assertEquals(
                List.of(
                        "freeze embeddings and bottom 1 layers",
                        "LISA 1 layers every 4 steps (seed 42)",
                        "LP-FT: [classifier] alone for 3 steps",
                        "layer-wise lr decay 0.9",
                        "LoRA+ ratio 16.0"),
                recipes);
        // freezing the bottom layer left its adapter as it started: B = 0
        Map<String, float[]> tensors = tensors(out.resolve("adapter"));
        for (float v : tensors.get("base_model.model.bert.encoder.layer.0.attention.self.query.lora_B.weight")) {
            assertEquals(0f, v);
        }
        // resuming with other recipes is refused
        CliRun other =
                CliRun.of(train(out, "--resume", out.resolve("checkpoint").toString(), "--llrd", "0.8"));
        assertEquals(1, other.code(), other.out());
        assertTrue(other.err().contains("resume with the same recipe options"), other.err());
    }

    @Test
    void loraProAndReinitTrainAndMisplacedRecipesFailWithAMessage() throws IOException {
        CliRun pro = CliRun.of(train(tmp.resolve("pro"), "--lora-pro"));
        assertEquals(0, pro.code(), pro.err() + pro.out());
        CliRun reinit =
                CliRun.of(train(tmp.resolve("reinit"), "--method", "full", "--reinit-top", "1", "--lr", "1e-3"));
        assertEquals(0, reinit.code(), reinit.err() + reinit.out());

        String[][] bad = {
            {"--reinit-top", "1"}, {"use it with --method full"},
            {"--method", "dora", "--lora-pro"}, {"--lora-pro adjusts plain LoRA's gradients"},
            {"--method", "ia3", "--lora-plus-ratio", "16"}, {"applies to --method lora or dora, not ia3"},
            {"--lisa-period", "5"}, {"--lisa-period needs --lisa-layers"},
            {"--method", "ia3", "--lisa-layers", "9"}, {"LISA: γ = 9 but the model has 2 layers"},
        };
        for (int i = 0; i < bad.length; i += 2) {
            CliRun r = CliRun.of(train(tmp.resolve("bad" + i), bad[i]));
            assertTrue(r.code() != 0, String.join(" ", bad[i]));
            assertTrue(r.err().contains(bad[i + 1][0]), String.join(" ", bad[i]) + ": " + r.err());
        }
    }

    @Test
    void hydraTrainsBothBranchesAndMerges() throws IOException {
        Path out = tmp.resolve("hydra");
        CliRun t = CliRun.of(train(out, "--method", "hydra", "--rank", "2"));
        assertEquals(0, t.code(), t.err() + t.out());
        JsonNode cfg =
                Json.MAPPER.readTree(out.resolve("adapter/adapter_config.json").toFile());
        assertEquals("HYDRA", cfg.get("peft_type").asText());
        Map<String, float[]> tensors = tensors(out.resolve("adapter"));
        String query = "base_model.model.bert.encoder.layer.0.attention.self.query.";
        for (String branch : new String[] {"hydra_p_B", "hydra_s_B"}) {
            double moved = 0;
            for (float v : tensors.get(query + branch)) {
                moved = Math.max(moved, Math.abs(v));
            }
            assertTrue(moved > 0, branch + " trained away from 0");
        }
        assertMergeKeepsPredictions(out.resolve("adapter"), "Cheap meds, click here", 1e-5);
    }

    @Test
    void bottleneckAdaptersFollowTheirPlacementAndRefuseToMerge() throws IOException {
        Path houlsby = tmp.resolve("houlsby");
        CliRun t = CliRun.of(train(houlsby, "--method", "adapter", "--reduction-factor", "8"));
        assertEquals(0, t.code(), t.err() + t.out());
        Map<String, float[]> h = tensors(houlsby.resolve("adapter"));
        String layer = "base_model.model.bert.encoder.layer.0.";
        // after the attention output and the feed-forward output; 32 / 8 = 4 wide
        assertEquals(4 * 32, h.get(layer + "attention.output.dense.adapter_down.weight").length);
        assertTrue(h.containsKey(layer + "output.dense.adapter_up.weight"));
        Path pfeiffer = tmp.resolve("pfeiffer");
        CliRun p = CliRun.of(train(pfeiffer, "--method", "adapter", "--placement", "pfeiffer"));
        assertEquals(0, p.code(), p.err() + p.out());
        Map<String, float[]> f = tensors(pfeiffer.resolve("adapter"));
        assertTrue(f.containsKey(layer + "output.dense.adapter_up.weight"));
        assertTrue(
                !f.containsKey(layer + "attention.output.dense.adapter_up.weight"),
                f.keySet().toString());
        // evaluation loads it; merging is refused with a message
        CliRun e = eval(houlsby.resolve("adapter"));
        assertEquals(0, e.code(), e.err());
        assertMergeRefused(houlsby.resolve("adapter"), tmp.resolve("merged"));
        CliRun bad = CliRun.of(train(tmp.resolve("x"), "--method", "adapter", "--placement", "middle"));
        assertTrue(bad.err().contains("--placement must be houlsby or pfeiffer"), bad.err());
    }

    @Test
    void adaloraPrunesToItsBudgetAndSavesTheRankPattern() throws IOException {
        Path out = tmp.resolve("adalora");
        // 24 steps: 4 of warm-up, pruning from init_r 4 towards 2, the last 6 at the final pattern
        CliRun t = CliRun.of(
                train(out, "--method", "adalora", "--init-r", "4", "--rank", "2", "--tinit", "4", "--tfinal", "6"));
        assertEquals(0, t.code(), t.err() + t.out());
        JsonNode cfg =
                Json.MAPPER.readTree(out.resolve("adapter/adapter_config.json").toFile());
        assertEquals("ADALORA", cfg.get("peft_type").asText());
        assertEquals(24, cfg.get("total_step").asInt());
        JsonNode pattern = cfg.get("rank_pattern");
        assertEquals(4, pattern.size(), "query and value of 2 layers");
        int kept = 0;
        Map<String, float[]> tensors = tensors(out.resolve("adapter"));
        for (var it = pattern.fields(); it.hasNext(); ) {
            var e = it.next();
            int n = 0;
            for (JsonNode b : e.getValue()) {
                n += b.asBoolean() ? 1 : 0;
            }
            kept += n;
            String module = e.getKey().substring(0, e.getKey().length() - ".lora_E".length());
            // the saved tensors hold the surviving triplets only
            assertEquals(n, tensors.get("base_model.model." + module + ".lora_E").length, module);
        }
        assertEquals(2 * 4, kept, "the budget: target_r 2 per layer on average");
        assertMergeKeepsPredictions(out.resolve("adapter"), "Cheap meds, click here", 1e-5);
        CliRun bad = CliRun.of(train(tmp.resolve("x"), "--method", "adalora", "--rank", "16"));
        assertTrue(bad.err().contains("must be ≤ --init-r 12"), bad.err());
    }

    @Test
    void dseeTrainsItsSparseAndLowRankPartsAndMerges() throws IOException {
        Path out = tmp.resolve("dsee");
        CliRun t = CliRun.of(train(out, "--method", "dsee", "--rank", "2", "--sparse-count", "16"));
        assertEquals(0, t.code(), t.err() + t.out());
        JsonNode cfg =
                Json.MAPPER.readTree(out.resolve("adapter/adapter_config.json").toFile());
        assertEquals("DSEE", cfg.get("peft_type").asText());
        Map<String, float[]> tensors = tensors(out.resolve("adapter"));
        String query = "base_model.model.bert.encoder.layer.0.attention.self.query.";
        float[] values = tensors.get(query + "dsee_values");
        assertEquals(16, values.length);
        double moved = 0;
        for (float v : values) {
            moved = Math.max(moved, Math.abs(v));
        }
        assertTrue(moved > 0, "the sparse entries trained");
        assertMergeKeepsPredictions(out.resolve("adapter"), "Cheap meds, click here", 1e-5);
    }

    @Test
    void polyRoutesEachExampleByItsTaskColumnResumesExactlyAndRefusesToMerge() throws IOException {
        // two tasks on the same mails: task 0 as labelled, task 1 with the labels swapped
        List<String> lines = Files.readAllLines(data);
        StringBuilder sb = new StringBuilder("text,label,task\n");
        for (String l : lines.subList(1, lines.size())) {
            int comma = l.lastIndexOf(',');
            String label = l.substring(comma + 1);
            sb.append(l).append(",0\n");
            sb.append(l, 0, comma)
                    .append(',')
                    .append(label.equals("spam") ? "ham" : "spam")
                    .append(",1\n");
        }
        Path tasks = tmp.resolve("tasks.csv");
        Files.writeString(tasks, sb.toString());
        Path out = tmp.resolve("poly");
        CliRun t = CliRun.of(train(
                out,
                "--data",
                tasks.toString(),
                "--method",
                "poly",
                "--n-tasks",
                "2",
                "--skills",
                "2",
                "--splits",
                "2",
                "--rank",
                "2"));
        assertEquals(0, t.code(), t.err() + t.out());
        JsonNode cfg =
                Json.MAPPER.readTree(out.resolve("adapter/adapter_config.json").toFile());
        assertEquals("POLY", cfg.get("peft_type").asText());
        assertEquals(2, cfg.get("n_tasks").asInt());
        assertEquals(2, cfg.get("n_splits").asInt());
        Map<String, float[]> tensors = tensors(out.resolve("adapter"));
        float[] router =
                tensors.get("base_model.model.bert.encoder.layer.0.attention.self.query.poly_router.module_logits");
        assertEquals(2 * 2 * 2, router.length, "[tasks, splits × skills]");
        double apart = 0;
        for (int i = 0; i < 4; i++) {
            apart = Math.max(apart, Math.abs(router[i] - router[4 + i]));
        }
        assertTrue(apart > 1e-2, "the two tasks' routers trained apart: " + apart);
        // stopped at 10 and resumed: the adapter of the uninterrupted run (same batches, tasks and router noise)
        String[] opts = {
            "--data",
            tasks.toString(),
            "--method",
            "poly",
            "--n-tasks",
            "2",
            "--skills",
            "2",
            "--splits",
            "2",
            "--rank",
            "2"
        };
        Path part = tmp.resolve("poly-part");
        assertEquals(
                0, CliRun.of(train(part, concat(opts, "--stop-after", "10"))).code());
        CliRun resumed = CliRun.of(
                train(part, concat(opts, "--resume", part.resolve("checkpoint").toString())));
        assertEquals(0, resumed.code(), resumed.err() + resumed.out());
        assertSameAdapter(out.resolve("adapter"), part.resolve("adapter"));
        CliRun e = eval(out.resolve("adapter"), tasks);
        assertEquals(0, e.code(), e.err());
        assertMergeRefused(out.resolve("adapter"), tmp.resolve("poly-merged"));
        CliRun few = CliRun.of(train(tmp.resolve("x"), "--data", tasks.toString(), "--method", "poly"));
        assertTrue(few.err().contains("holds task id 1, but --n-tasks is 1: give --n-tasks 2"), few.err());
        Path ragged = tmp.resolve("ragged.jsonl");
        Files.writeString(
                ragged, "{\"text\": \"a\", \"label\": \"x\", \"task\": 0}\n{\"text\": \"b\", \"label\": \"y\"}\n");
        CliRun r = CliRun.of(train(tmp.resolve("x"), "--data", ragged.toString(), "--method", "poly"));
        assertTrue(r.err().contains(":2: 'task' must be on every row or on none"), r.err());
    }

    @Test
    void cordaInitialisesFromTheTrainingDataAndSavesRelativeToTheBase() throws IOException {
        Path out = tmp.resolve("corda");
        CliRun t = CliRun.of(train(out, "--init", "corda-kpm", "--init-batches", "8"));
        assertEquals(0, t.code(), t.err() + t.out());
        JsonNode cfg =
                Json.MAPPER.readTree(out.resolve("adapter/adapter_config.json").toFile());
        // the residual start is saved at rank 2r relative to the original base, as PiSSA's
        assertEquals(16, cfg.get("r").asInt());
        assertTrue(Files.readString(out.resolve("adapter/README.md")).contains("CorDA"));
    }

    @Test
    void veraTrainsInPythonsLayoutAndMerges() throws IOException {
        Path out = tmp.resolve("vera");
        CliRun t = CliRun.of(train(out, "--method", "vera", "--rank", "16", "--lr", "1e-2"));
        assertEquals(0, t.code(), t.err() + t.out());
        JsonNode cfg =
                Json.MAPPER.readTree(out.resolve("adapter/adapter_config.json").toFile());
        assertEquals("VERA", cfg.get("peft_type").asText());
        assertEquals(16, cfg.get("r").asInt());
        Map<String, float[]> tensors = tensors(out.resolve("adapter"));
        // the shared projections, as large as the largest target (query and value of the test model: 32 → 32)
        assertEquals(16 * 32, tensors.get("base_model.vera_A").length);
        float[] lambdaB = tensors.get("base_model.model.bert.encoder.layer.0.attention.self.query.vera_lambda_b");
        assertEquals(32, lambdaB.length);
        double moved = 0;
        for (float v : lambdaB) {
            moved = Math.max(moved, Math.abs(v));
        }
        assertTrue(moved > 0, "λ_b trained away from 0");
        assertMergeKeepsPredictions(out.resolve("adapter"), "Cheap meds, click here", 1e-5);
    }

    @Test
    void ssfTrainsAndMerges() throws IOException {
        Path out = tmp.resolve("ssf");
        CliRun t = CliRun.of(train(out, "--method", "ssf"));
        assertEquals(0, t.code(), t.err() + t.out());
        JsonNode cfg =
                Json.MAPPER.readTree(out.resolve("adapter/adapter_config.json").toFile());
        assertEquals("SSF", cfg.get("peft_type").asText());
        assertMergeKeepsPredictions(out.resolve("adapter"), "Cheap meds", 1e-5); // SSF merges away completely
    }

    @Test
    void pissaAdapterIsSavedAtRank2rAndEvaluatesOnTheOriginalBase() throws IOException {
        Path out = tmp.resolve("pissa");
        CliRun t = CliRun.of(train(out, "--init", "pissa"));
        assertEquals(0, t.code(), t.err() + t.out());
        JsonNode cfg =
                Json.MAPPER.readTree(out.resolve("adapter/adapter_config.json").toFile());
        assertEquals(16, cfg.get("r").asInt());
        assertEquals(32.0, cfg.get("lora_alpha").asDouble());
        assertTrue(Files.readString(out.resolve("adapter/README.md")).contains("PiSSA"));
        JsonNode results = Json.MAPPER.readTree(out.resolve("results.json").toFile());
        // eval loads the rank-2r adapter onto the unmodified base: the test loss must be the one training saw
        CliRun e = eval(out.resolve("adapter"));
        assertEquals(0, e.code(), e.err());
        double loss = Double.parseDouble(e.out()
                .lines()
                .filter(l -> l.startsWith("loss"))
                .findFirst()
                .orElseThrow()
                .substring(4)
                .strip());
        // eval prints 4 decimals; without the −B₀A₀ half the loaded model would be far off (B₀A₀ is W's top part)
        assertEquals(results.get("test_loss").asDouble(), loss, 1e-4, e.out());
    }

    @Test
    void pissaResumesWithoutRerunningTheInitializer() throws IOException {
        Path a = tmp.resolve("pissa-full");
        Path b = tmp.resolve("pissa-part");
        assertEquals(0, CliRun.of(train(a, "--init", "pissa")).code());
        assertEquals(
                0, CliRun.of(train(b, "--init", "pissa", "--stop-after", "10")).code());
        CliRun r = CliRun.of(
                train(b, "--init", "pissa", "--resume", b.resolve("checkpoint").toString()));
        assertEquals(0, r.code(), r.err());
        assertTrue(!r.out().contains("init pissa:"), "the residual comes from the checkpoint: " + r.out());
        assertSameAdapter(a.resolve("adapter"), b.resolve("adapter"));
    }

    @Test
    void evaAndLoraGaJoinTheCommandLine() throws IOException {
        Path eva = tmp.resolve("eva");
        CliRun t = CliRun.of(train(eva, "--init", "eva", "--init-batches", "4", "--targets", "all-linear"));
        assertEquals(0, t.code(), t.err() + t.out());
        assertTrue(t.out().contains("EVA: 4 batches"), t.out());
        JsonNode cfg =
                Json.MAPPER.readTree(eva.resolve("adapter/adapter_config.json").toFile());
        int sum = 0;
        for (JsonNode v : cfg.get("rank_pattern")) {
            sum += v.asInt();
        }
        // all-linear on the tiny BERT: 2 layers x 6 linear layers, budget 12 x 8
        assertEquals(12 * 8, sum, cfg.get("rank_pattern").toString());

        Path ga = tmp.resolve("lora-ga");
        CliRun g = CliRun.of(train(ga, "--init", "lora-ga", "--init-batches", "2"));
        assertEquals(0, g.code(), g.err() + g.out());
        assertEquals(
                16,
                Json.MAPPER
                        .readTree(ga.resolve("adapter/adapter_config.json").toFile())
                        .get("r")
                        .asInt());

        CliRun bad = CliRun.of(train(tmp.resolve("x"), "--method", "ssf", "--init", "pissa"));
        assertEquals(2, bad.code());
        assertTrue(
                bad.err().contains("--init does not apply to --method ssf (it is an option of [lora, dora])"),
                bad.err());
        CliRun bad2 = CliRun.of(train(tmp.resolve("x"), "--init", "olora"));
        assertEquals(1, bad2.code());
        assertTrue(
                bad2.err().contains("--init must be default, gaussian, pissa, lora-ga, eva, corda-ipm or corda-kpm"),
                bad2.err());
    }

    @Test
    void saraAndSpielTrainSaveMergeAndPredict() throws IOException {
        Path sara = tmp.resolve("sara");
        CliRun t = CliRun.of(train(sara, "--method", "sara", "--sara-fraction", "0.05"));
        assertEquals(0, t.code(), t.err() + t.out());
        JsonNode cfg =
                Json.MAPPER.readTree(sara.resolve("adapter/adapter_config.json").toFile());
        assertEquals("SARA", cfg.get("peft_type").asText());
        assertEquals(12, cfg.get("sara_reselect_step").asInt()); // halfway through 24 steps, as the reference
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = Safetensors.read(sara.resolve("adapter/adapter_model.safetensors"), m)
                    .tensors();
            NDArray idx = tensors.get("base_model.model.bert.encoder.layer.0.attention.self.query.sara_indices");
            assertEquals(ai.djl.ndarray.types.DataType.INT32, idx.getDataType());
            assertEquals(Math.round(0.05 * 32 * 32), idx.size());
        }
        assertMergeKeepsPredictions(sara.resolve("adapter"), "Cheap meds, click here", 0);

        Path spiel = tmp.resolve("spiel");
        CliRun s = CliRun.of(train(
                spiel, "--method", "spiel", "--density", "0.02", "--sparse-gradient", "dense", "--regrow-every", "8"));
        assertEquals(0, s.code(), s.err() + s.out());
        // initial positions are ascending; regrowth puts new positions in the dropped slots
        boolean regrown = false;
        try (NDManager m = NDManager.newBaseManager()) {
            for (Map.Entry<String, NDArray> e : Safetensors.read(spiel.resolve("adapter/adapter_model.safetensors"), m)
                    .tensors()
                    .entrySet()) {
                if (e.getKey().endsWith("spiel_indices")) {
                    int[] idx = e.getValue().toIntArray();
                    for (int i = 1; i < idx.length; i++) {
                        regrown |= idx[i] < idx[i - 1];
                    }
                }
            }
        }
        assertTrue(regrown, "SpIEL regrew positions during the run");
        assertEquals(
                "SPIEL",
                Json.MAPPER
                        .readTree(spiel.resolve("adapter/adapter_config.json").toFile())
                        .get("peft_type")
                        .asText());

        CliRun bad = CliRun.of(train(tmp.resolve("x"), "--method", "sara", "--sparse-gradient", "fast"));
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("--sparse-gradient must be auto, sddmm or dense"), bad.err());
        CliRun frac = CliRun.of(train(tmp.resolve("x"), "--method", "sara", "--sara-fraction", "1.5"));
        assertEquals(1, frac.code());
        assertTrue(frac.err().contains("--sara-fraction must be in (0, 1); got 1.5"), frac.err());
    }

    @Test
    void composesSparseFineTunesAndReportsConflicts() throws IOException {
        Path one = tmp.resolve("compose-spiel-1");
        Path two = tmp.resolve("compose-spiel-2");
        String[] opts = {"--method", "spiel", "--density", "0.1", "--max-steps", "6", "--regrow-every", "100"};
        assertEquals(
                0,
                CliRun.of(train(tmp.resolve("composed-lora-run"), "--max-steps", "2"))
                        .code());
        Files.move(tmp.resolve("composed-lora-run/adapter"), tmp.resolve("composed-lora"));
        assertEquals(0, CliRun.of(train(one, concat(opts, "--seed", "1"))).code());
        assertEquals(0, CliRun.of(train(two, concat(opts, "--seed", "2"))).code());
        Path out = tmp.resolve("composed");
        CliRun c = CliRun.of(
                "compose",
                "--adapter",
                one.resolve("adapter").toString(),
                "--adapter",
                two.resolve("adapter").toString(),
                "--base",
                tiny.toString(),
                "--output",
                out.toString());
        assertEquals(0, c.code(), c.err() + c.out());
        String layer = "base_model.model.bert.encoder.layer.0.attention.self.query.spiel_";
        Map<Integer, Double> expected = new java.util.TreeMap<>();
        int overlap = 0;
        for (Path p : List.of(one.resolve("adapter"), two.resolve("adapter"))) {
            try (NDManager m = NDManager.newBaseManager()) {
                Map<String, NDArray> t = Safetensors.read(p.resolve("adapter_model.safetensors"), m)
                        .tensors();
                int[] idx = t.get(layer + "indices").toIntArray();
                float[] val = t.get(layer + "values").toFloatArray();
                for (int i = 0; i < idx.length; i++) {
                    overlap += expected.containsKey(idx[i]) ? 1 : 0;
                    expected.merge(idx[i], (double) val[i], Double::sum);
                }
            }
        }
        // the model is the base plus both updates: W + d1 + d2 at every position, W elsewhere
        Map<String, float[]> base = modelTensors(tiny);
        Map<String, float[]> composed = modelTensors(out);
        float[] w = base.get("encoder.layer.0.attention.self.query.weight");
        float[] sum = composed.get("bert.encoder.layer.0.attention.self.query.weight");
        for (int i = 0; i < w.length; i++) {
            assertEquals(w[i] + expected.getOrDefault(i, 0.0), sum[i], 1e-6, "entry " + i);
        }
        assertTrue(overlap > 0, "two 10% selections of a 32x32 weight overlap");
        assertTrue(
                c.out().contains("bert.encoder.layer.0.attention.self.query: " + expected.size() + " entries"),
                c.out());
        assertTrue(c.out().contains(overlap + " conflicts"), c.out());
        double p = predict(out, null, "Cheap meds, click here")
                .get("probabilities")
                .get("spam")
                .asDouble();
        assertTrue(p >= 0 && p <= 1, "the composed model predicts");

        CliRun lora = CliRun.of(
                "compose",
                "--adapter",
                one.resolve("adapter").toString(),
                "--adapter",
                tmp.resolve("composed-lora").toString(),
                "--base",
                tiny.toString(),
                "--output",
                tmp.resolve("x").toString());
        assertTrue(lora.code() != 0, "a LoRA adapter is not a sparse fine-tune");
        assertTrue(lora.err().contains("is a LORA adapter"), lora.err());
    }

    @Test
    void badArgumentsFailWithAMessage() throws IOException {
        CliRun noData = CliRun.of("train", "--output", tmp.resolve("x").toString());
        assertEquals(2, noData.code());
        assertTrue(noData.err().contains("Missing required option: '--data"), noData.err());

        CliRun method = CliRun.of(
                "train", "--data", data.toString(), "--output", tmp.resolve("x").toString(), "--method", "vero");
        assertEquals(2, method.code());
        assertTrue(
                method.err()
                        .startsWith(
                                "--method must be one of [lora, dora, ssf, ia3, loha, lokr, vera, hydra, adapter, adalora, dsee, poly,"
                                        + " ln,"
                                        + " sara, spiel, full, prompt, prefix];"
                                        + " got 'vero'"),
                method.err());

        CliRun spike = CliRun.of(train(tmp.resolve("x"), "--loss-spike-factor", "1"));
        assertEquals(2, spike.code());
        assertTrue(spike.err().contains("--loss-spike-factor must be > 1"), spike.err());

        CliRun prompt = CliRun.of(train(tmp.resolve("x"), "--method", "prompt"));
        assertEquals(2, prompt.code());
        assertTrue(prompt.err().contains("it applies to --task causal-lm"), prompt.err());

        CliRun rank = CliRun.of(train(tmp.resolve("x"), "--method", "sara", "--rank", "4"));
        assertEquals(2, rank.code());
        assertTrue(rank.err().contains("--rank does not apply to --method sara"), rank.err());

        Path bad = tmp.resolve("bad.jsonl");
        Files.writeString(bad, "{\"text\": \"ok\", \"label\": \"a\"}\n{\"label\": \"b\"}\n");
        CliRun row = CliRun.of(
                "train", "--data", bad.toString(), "--output", tmp.resolve("x").toString());
        assertEquals(1, row.code());
        assertTrue(row.err().strip().endsWith("bad.jsonl:2: 'text' is missing or empty"), row.err());

        CliRun model = CliRun.of("eval", "--model", tmp.resolve("nope").toString(), "--data", data.toString());
        assertEquals(1, model.code());
        assertTrue(model.err().contains("is neither 'minilm', a directory, nor a hub id"), model.err());
        assertTrue(!model.err().contains("\tat "), "no stack trace");

        CliRun inspect = CliRun.of("inspect", tmp.toString());
        assertEquals(1, inspect.code());
        assertTrue(inspect.err().startsWith("error: not an adapter directory"), inspect.err());
    }
}
