package io.github.peft4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.models.decoder.Decoders;
import io.github.peft4j.testing.TinyDecoders;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code peft train --task causal-lm} and {@code peft generate} on the tiny Llama: every method and initializer
 * trains and saves; generation reads the adapter; a hub id resolves from a Hugging Face cache; bad input is named.
 */
class CausalLmCliTest {

    @TempDir
    static Path dir;

    static Path model;
    static Path data;

    @BeforeAll
    static void writeDataAndModel() throws IOException {
        model = TinyDecoders.copy("llama", dir).resolve("base");
        data = dir.resolve("data.jsonl");
        TinyDecoders.writeLabelJsonl(data);
    }

    static String[] train(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of(
                "train",
                "--task",
                "causal-lm",
                "--model",
                model.toString(),
                "--data",
                data.toString(),
                "--batch-size",
                "8",
                "--lr",
                "1e-2",
                "--no-progress",
                "--seed",
                "3",
                "--output",
                out.toString()));
        a.addAll(Arrays.asList(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void promptAndPrefixTuningTrainAndSaveInPythonsLayout() throws IOException {
        for (String method : new String[] {"prompt", "prefix"}) {
            Path out = dir.resolve(method);
            CliRun t = CliRun.of(
                    train(out, "--method", method, "--virtual-tokens", "6", "--max-steps", "20", "--eval-every", "10"));
            assertEquals(0, t.code(), t.out() + t.err());
            List<String> metrics = Files.readAllLines(out.resolve("metrics.jsonl"));
            double first = Json.MAPPER.readTree(metrics.get(9)).get("eval_loss").asDouble();
            double last = Json.MAPPER.readTree(metrics.get(19)).get("eval_loss").asDouble();
            assertTrue(last < first, method + ": validation loss must fall: " + first + " -> " + last);
            JsonNode config = Json.readObject(out.resolve("adapter/adapter_config.json"));
            assertEquals(
                    method.equals("prompt") ? "PROMPT_TUNING" : "PREFIX_TUNING",
                    config.get("peft_type").asText());
            assertEquals(6, config.get("num_virtual_tokens").asInt());
            // the Java API loads what the command line saved
            try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
                io.github.peft4j.prompt.PromptLearningModel loaded = io.github.peft4j.prompt.PromptLearningModel.load(
                        io.github.peft4j.models.decoder.Decoders.load(model, m), out.resolve("adapter"));
                assertEquals(6, loaded.getConfig().numVirtualTokens());
            }
        }
        CliRun text = CliRun.of(train(
                dir.resolve("prompt-text"),
                "--method",
                "prompt",
                "--prompt-init",
                "text",
                "--prompt-init-text",
                "Label the mail:",
                "--max-steps",
                "2"));
        assertEquals(0, text.code(), text.out() + text.err());
        JsonNode config = Json.readObject(dir.resolve("prompt-text/adapter/adapter_config.json"));
        assertEquals("TEXT", config.get("prompt_tuning_init").asText());
        CliRun bad = CliRun.of(train(dir.resolve("bad"), "--method", "prefix", "--prompt-init", "text"));
        assertEquals(2, bad.code(), bad.err());
        assertTrue(bad.err().contains("--prompt-init does not apply to --method prefix"), bad.err());
    }

    @Test
    void trainsThenGeneratesWithTheAdapter() throws IOException {
        Path out = dir.resolve("lora");
        CliRun t = CliRun.of(train(out, "--max-steps", "30", "--eval-every", "10"));
        assertEquals(0, t.code(), t.out() + t.err());
        assertTrue(t.out().contains("validation: loss"), t.out());
        JsonNode results = Json.MAPPER.readTree(out.resolve("results.json").toFile());
        assertTrue(results.get("validation_perplexity").asDouble() > 1);
        List<String> metrics = Files.readAllLines(out.resolve("metrics.jsonl"));
        double first = Json.MAPPER.readTree(metrics.get(9)).get("eval_loss").asDouble();
        double last = Json.MAPPER.readTree(metrics.get(29)).get("eval_loss").asDouble();
        assertTrue(last < first, "validation loss must fall: " + first + " -> " + last);
        assertTrue(Files.isRegularFile(out.resolve("adapter/adapter_model.safetensors")));
        assertTrue(Files.isRegularFile(out.resolve("adapter/tokenizer.json")), "the tokenizer travels with it");
        JsonNode config = Json.readObject(out.resolve("adapter/adapter_config.json"));
        assertEquals("CAUSAL_LM", config.get("task_type").asText());

        String prompt = "Subject: free money click here\nLabel:";
        CliRun g = CliRun.of(
                "generate",
                "--model",
                model.toString(),
                "--adapter",
                out.resolve("adapter").toString(),
                "--prompt",
                prompt,
                "--max-new-tokens",
                "4");
        assertEquals(0, g.code(), g.out() + g.err());
        assertTrue(g.out().startsWith(" spam"), "the adapter learnt the task: '" + g.out() + "'");
        CliRun noCache = CliRun.of(
                "generate",
                "--model",
                model.toString(),
                "--adapter",
                out.resolve("adapter").toString(),
                "--prompt",
                prompt,
                "--max-new-tokens",
                "4",
                "--no-cache");
        assertEquals(g.out(), noCache.out(), "the KV cache changes nothing");
        CliRun base = CliRun.of("generate", "--model", model.toString(), "--prompt", prompt, "--max-new-tokens", "4");
        assertNotEquals(g.out(), base.out(), "without the adapter the random model says something else");
    }

    @ParameterizedTest
    @CsvSource({
        "lora,",
        "lora,--rslora",
        "dora,",
        "lora,--init=pissa",
        "lora,--init=eva",
        "lora,--init=lora-ga",
        "ssf,",
        "sara,",
        "spiel,",
        "full,"
    })
    void everyMethodAndInitializerTrainsADecoder(String method, String option) throws IOException {
        Path out = dir.resolve(
                "m-" + method + (option == null ? "" : option.replace("-", "").replace("=", "")));
        List<String> extra = new ArrayList<>(List.of("--method", method, "--max-steps", "3", "--eval-every", "0"));
        if (option != null) {
            extra.add(option);
        }
        if (option != null && (option.equals("--init=eva") || option.equals("--init=lora-ga"))) {
            extra.add("--init-batches=2");
        }
        CliRun t = CliRun.of(train(out, extra.toArray(String[]::new)));
        assertEquals(0, t.code(), t.out() + t.err());
        if ("full".equals(method)) {
            try (NDManager m = NDManager.newBaseManager()) {
                assertEquals(
                        2, Decoders.load(out.resolve("model"), m).getConfig().numLayers());
            }
        } else {
            assertTrue(Files.isRegularFile(out.resolve("adapter/adapter_model.safetensors")), t.out());
        }
    }

    /** Qwen2 (tied head, biases) and GPT-2 (Conv1D: fan_in_fan_out) train and generate through the command line. */
    @ParameterizedTest
    @CsvSource({"qwen2,false", "gpt2,true"})
    void otherFamiliesTrainAndGenerate(String family, boolean fanInFanOut) throws IOException {
        Path base = TinyDecoders.copy(family, dir.resolve("fam")).resolve("base");
        Path out = dir.resolve("fam-" + family);
        CliRun t = CliRun.of(
                "train",
                "--task",
                "causal-lm",
                "--model",
                base.toString(),
                "--data",
                data.toString(),
                "--batch-size",
                "8",
                "--max-steps",
                "3",
                "--eval-every",
                "0",
                "--no-progress",
                "--output",
                out.toString());
        assertEquals(0, t.code(), t.out() + t.err());
        JsonNode config = Json.readObject(out.resolve("adapter/adapter_config.json"));
        assertEquals(fanInFanOut, config.get("fan_in_fan_out").asBoolean());
        CliRun g = CliRun.of(
                "generate",
                "--model",
                base.toString(),
                "--adapter",
                out.resolve("adapter").toString(),
                "--chat",
                "Is this spam? free money",
                "--max-new-tokens",
                "3");
        assertEquals(0, g.code(), g.out() + g.err());
    }

    @Test
    void aResumedRunEndsWhereTheUninterruptedRunEnds() throws IOException {
        Path a = dir.resolve("resume-a");
        Path b = dir.resolve("resume-b");
        String[] opts = {"--max-steps", "6", "--eval-every", "3", "--checkpoint-every", "3", "--packing"};
        assertEquals(0, CliRun.of(train(a, opts)).code());
        List<String> stop = new ArrayList<>(Arrays.asList(opts));
        stop.addAll(List.of("--stop-after", "3"));
        CliRun part = CliRun.of(train(b, stop.toArray(String[]::new)));
        assertEquals(0, part.code(), part.out() + part.err());
        List<String> resume = new ArrayList<>(Arrays.asList(opts));
        resume.addAll(List.of("--resume", b.resolve("checkpoint").toString()));
        CliRun resumed = CliRun.of(train(b, resume.toArray(String[]::new)));
        assertEquals(0, resumed.code(), resumed.out() + resumed.err());
        TrainCliTest.assertSameAdapter(a.resolve("adapter"), b.resolve("adapter"));
        assertEquals(
                Json.MAPPER
                        .readTree(a.resolve("results.json").toFile())
                        .get("validation_loss")
                        .asDouble(),
                Json.MAPPER
                        .readTree(b.resolve("results.json").toFile())
                        .get("validation_loss")
                        .asDouble(),
                1e-6);
    }

    /** --random-init needs only config.json and the tokenizer: the weights file may be absent. */
    @Test
    void randomInitBuildsTheArchitectureWithoutWeights() throws IOException {
        Path noWeights = dir.resolve("no-weights");
        java.nio.file.Files.createDirectories(noWeights);
        for (String f : List.of("config.json", "tokenizer.json", "tokenizer_config.json")) {
            Files.copy(model.resolve(f), noWeights.resolve(f));
        }
        CliRun g = CliRun.of(
                "generate",
                "--model",
                noWeights.toString(),
                "--random-init",
                "--prompt",
                "hello",
                "--max-new-tokens",
                "3");
        assertEquals(0, g.code(), g.out() + g.err());
        CliRun t = CliRun.of(
                "train",
                "--task",
                "causal-lm",
                "--model",
                noWeights.toString(),
                "--random-init",
                "--data",
                data.toString(),
                "--max-steps",
                "2",
                "--eval-every",
                "0",
                "--no-progress",
                "--output",
                dir.resolve("random").toString());
        assertEquals(0, t.code(), t.out() + t.err());
        CliRun without = CliRun.of("generate", "--model", noWeights.toString(), "--prompt", "hello");
        assertEquals(1, without.code());
        assertTrue(without.err().contains("model weights missing"), without.err());
    }

    @Test
    void badInputIsNamed() throws IOException {
        StringBuilder longPrompt = new StringBuilder();
        for (int i = 0; i < 200; i++) {
            longPrompt.append("word").append(i).append(' ');
        }
        CliRun g = CliRun.of("generate", "--model", model.toString(), "--prompt", longPrompt.toString());
        assertEquals(1, g.code());
        assertTrue(g.err().contains("leaves no room in the model's context of 128"), g.err());

        Path gpt2 = TinyDecoders.copy("gpt2", dir.resolve("other"));
        CliRun wrong = CliRun.of(
                "generate",
                "--model",
                model.toString(),
                "--adapter",
                gpt2.resolve("lora").toString(),
                "--prompt",
                "hi");
        assertEquals(1, wrong.code());
        assertTrue(wrong.err().contains("c_attn") && wrong.err().contains("matched no module"), wrong.err());

        Path bad = dir.resolve("bad-data.jsonl");
        Files.writeString(bad, "{\"prompt\":\"a\",\"completion\":\"b\"}\n{\"question\":\"?\"}\n");
        CliRun d = CliRun.of(
                "train",
                "--task",
                "causal-lm",
                "--model",
                model.toString(),
                "--data",
                bad.toString(),
                "--output",
                dir.resolve("bad").toString());
        assertEquals(1, d.code());
        assertTrue(d.err().contains("bad-data.jsonl:2") && d.err().contains("{\"text\"}"), d.err());
    }

    /** A hub id found in an existing Hugging Face cache, offline: the command runs in its own JVM with that env. */
    @Test
    void aHubIdResolvesFromTheHuggingFaceCache() throws Exception {
        Path cache = dir.resolve("hf-home/hub");
        String sha = "89abcdef0123456789abcdef0123456789abcdef";
        Path repo = cache.resolve("models--peft4j-test--tiny-llama");
        Path snap = repo.resolve("snapshots").resolve(sha);
        Files.createDirectories(snap);
        Files.createDirectories(repo.resolve("blobs"));
        try (var files = Files.list(model)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Path blob = repo.resolve("blobs").resolve(f.getFileName() + "-blob");
                Files.copy(f, blob);
                Files.createSymbolicLink(
                        snap.resolve(f.getFileName()), Path.of("../../blobs").resolve(blob.getFileName()));
            }
        }
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs/main"), sha);
        ProcessBuilder pb = new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                "io.github.peft4j.examples.cli.PeftCommand",
                "generate",
                "--model",
                "peft4j-test/tiny-llama",
                "--prompt",
                "Subject: hello",
                "--max-new-tokens",
                "3");
        pb.environment().put("HF_HOME", dir.resolve("hf-home").toString());
        pb.environment().put("HF_HUB_OFFLINE", "1");
        pb.environment().put("DJL_OFFLINE", "true");
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), output);
        assertTrue(output.contains("3 new token(s)"), output);

        pb.command().set(pb.command().indexOf("peft4j-test/tiny-llama"), "peft4j-test/not-cached");
        Process q = pb.start();
        String missing = new String(q.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(q.waitFor(120, TimeUnit.SECONDS));
        assertEquals(1, q.exitValue());
        assertTrue(missing.contains("not in the Hugging Face cache") && missing.contains("HF_HUB_OFFLINE"), missing);
    }
}
