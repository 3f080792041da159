package io.github.peft4j.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Every method and recipe of {@code peft train --task causal-lm} that applies to a decoder, on a small Llama-family
 * checkpoint and the shipped spam-instructions set (234 training and 38 validation chats; completions count), with
 * the same budget of optimizer steps, each run its own process, several seeds: validation loss mean ± sd [min – max]
 * (lower is better; a difference from LoRA is within noise when smaller than the larger of the two seed ranges),
 * token accuracy, trainable parameters, size on disk, median step time and peak RSS, next to full fine-tuning.
 *
 * <p>Run from the repository root after {@code mvn package}: {@code java -cp benchmarks/target/benchmarks.jar
 * io.github.peft4j.bench.DecoderComparison MODEL_DIR [steps=100] [seeds=1,2,3] [max-length=128] [only=name,name]},
 * MODEL_DIR a Hugging Face directory (the tiny Llama of the shared golden set, {@code hf-decoders/llama/base}, or a
 * real one). Runs are kept in {@code runs/decoder-comparison/}; the table is printed and written beside them.
 */
public final class DecoderComparison {

    private DecoderComparison() {}

    static List<MethodComparison.Config> configs() {
        String lr = "5e-3";
        return List.of(
                MethodComparison.Config.of("full fine-tuning", "--method", "full", "--lr", "5e-4"),
                MethodComparison.Config.of("LoRA r=8 (all linear)", "--method", "lora", "--lr", lr),
                MethodComparison.Config.of("DoRA r=8", "--method", "dora", "--lr", lr),
                MethodComparison.Config.of("LoHa r=8", "--method", "loha", "--lr", lr),
                MethodComparison.Config.of("LoKr r=8", "--method", "lokr", "--lr", lr),
                MethodComparison.Config.of("VeRA r=256", "--method", "vera", "--lr", "5e-2"),
                MethodComparison.Config.of(
                        "AdaLoRA r 12→8", "--method", "adalora", "--tinit", "10", "--tfinal", "20", "--lr", lr),
                MethodComparison.Config.of("Hydra r=8", "--method", "hydra", "--lr", lr),
                MethodComparison.Config.of("DSEE r=8 + 64 sparse", "--method", "dsee", "--lr", lr),
                MethodComparison.Config.of("Poly r=8, 4 skills (one task)", "--method", "poly", "--lr", lr),
                MethodComparison.Config.of(
                        "IA³ (k, v, down_proj)",
                        "--method",
                        "ia3",
                        "--targets",
                        "k_proj,v_proj,down_proj",
                        "--feedforward-modules",
                        "down_proj",
                        "--lr",
                        "3e-2"),
                MethodComparison.Config.of("SSF", "--method", "ssf", "--lr", lr),
                MethodComparison.Config.of(
                        "RMSNorm tuning",
                        "--method",
                        "ln",
                        "--targets",
                        "input_layernorm,post_attention_layernorm,norm",
                        "--lr",
                        "5e-2"),
                MethodComparison.Config.of(
                        "bottleneck adapters (o_proj, down_proj; k=16)",
                        "--method",
                        "adapter",
                        "--targets",
                        "o_proj,down_proj",
                        "--lr",
                        lr),
                MethodComparison.Config.of("SaRA 10%", "--method", "sara", "--lr", lr),
                MethodComparison.Config.of("SpIEL 1%", "--method", "spiel", "--lr", lr),
                MethodComparison.Config.of("prompt tuning (20 tokens)", "--method", "prompt", "--lr", "5e-2"),
                MethodComparison.Config.of("prefix tuning (20 tokens)", "--method", "prefix", "--lr", "5e-2"),
                MethodComparison.Config.of(
                        "LoRA + LoRA+ (λ=16)", "--method", "lora", "--lora-plus-ratio", "16", "--lr", lr),
                MethodComparison.Config.of("LoRA + LoRA-Pro", "--method", "lora", "--lora-pro", "--lr", lr),
                MethodComparison.Config.of(
                        "LoRA + layer-wise lr decay 0.9", "--method", "lora", "--llrd", "0.9", "--lr", lr),
                MethodComparison.Config.of(
                        "full + LISA (1 layer / 20 steps)",
                        "--method",
                        "full",
                        "--lr",
                        "5e-4",
                        "--lisa-layers",
                        "1",
                        "--lisa-period",
                        "20"),
                MethodComparison.Config.of(
                        "full + freeze bottom 1", "--method", "full", "--lr", "5e-4", "--freeze-bottom", "1"),
                MethodComparison.Config.of(
                        "full + re-init top 1", "--method", "full", "--lr", "5e-4", "--reinit-top", "1"));
    }

    /**
     * Runs the comparison.
     *
     * @param args the model directory, then steps, seeds, max length, and an optional subset of names (substrings)
     * @throws Exception if a run fails
     */
    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            throw new IllegalArgumentException(
                    "usage: DecoderComparison MODEL_DIR [steps=100] [seeds=1,2,3] [max-length=128] [only=a,b]");
        }
        Path model = Path.of(args[0]);
        String steps = args.length > 1 ? args[1] : "100";
        long[] seeds = Arrays.stream((args.length > 2 ? args[2] : "1,2,3").split(","))
                .mapToLong(Long::parseLong)
                .toArray();
        String maxLength = args.length > 3 ? args[3] : "128";
        List<String> only = args.length > 4 ? List.of(args[4].split(",")) : List.of();
        Path root = Path.of("runs", "decoder-comparison");
        Path data = shippedData(root.resolve("data"));
        Map<String, List<ObjectNode>> results = MethodComparison.runAll(
                MethodComparison.select(configs(), only),
                root,
                List.of("--task", "causal-lm", "--model", model.toString(), "--data", data.toString()),
                List.of("--max-steps", steps, "--eval-every", "0", "--batch-size", "16", "--max-length", maxLength),
                seeds);
        String table = table(results, model.getFileName().toString(), steps, seeds.length, maxLength);
        System.out.print(table);
        Files.writeString(root.resolve("table.md"), table, StandardCharsets.UTF_8);
    }

    /** Copies the shipped spam-instructions files (train.jsonl, validation.jsonl) out of peft-examples' jar. */
    static Path shippedData(Path dir) throws IOException {
        Files.createDirectories(dir);
        for (String f : List.of("train.jsonl", "validation.jsonl")) {
            try (InputStream in =
                    DecoderComparison.class.getResourceAsStream("/io/github/peft4j/examples/spam-instructions/" + f)) {
                if (in == null) {
                    throw new IOException("spam-instructions/" + f + " is not on the class path (peft-examples)");
                }
                Files.copy(in, dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return dir;
    }

    static String table(
            Map<String, List<ObjectNode>> results, String model, String steps, int seeds, String maxLength) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(
                Locale.ROOT,
                "%s on the spam-instructions set (234 training, 38 validation chats; completions count), %s optimizer"
                        + " steps of batch 16, max length %s, %d seeds; %d CPUs%n%n",
                model,
                steps,
                maxLength,
                seeds,
                Runtime.getRuntime().availableProcessors()));
        b.append("| method | validation loss mean ± sd [min – max] | vs LoRA | token accuracy | trainable params |"
                + " on disk (KiB) | step time (s) | peak RSS (MiB) |\n");
        b.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        List<ObjectNode> lora = results.getOrDefault("LoRA r=8 (all linear)", List.of());
        double[] loraLoss = MethodComparison.values(lora, "validation_loss");
        for (Map.Entry<String, List<ObjectNode>> e : results.entrySet()) {
            List<ObjectNode> rs = e.getValue();
            double[] loss = MethodComparison.values(rs, "validation_loss");
            double[] step = rs.stream()
                    .mapToDouble(r ->
                            r.path("train_seconds").asDouble() / r.path("steps").asDouble())
                    .toArray();
            String vs = "";
            if (!lora.isEmpty() && lora != rs) {
                double d = MethodComparison.mean(loss) - MethodComparison.mean(loraLoss);
                boolean noise = Math.abs(d) <= Math.max(MethodComparison.range(loss), MethodComparison.range(loraLoss));
                vs = String.format(Locale.ROOT, "%+.4f%s", d, noise ? " (noise)" : "");
            }
            b.append(String.format(
                    Locale.ROOT,
                    "| %s | %.4f ± %.4f [%.4f – %.4f] | %s | %.4f | %,d | %,.0f | %.3f | %.0f |%n",
                    e.getKey(),
                    MethodComparison.mean(loss),
                    MethodComparison.std(loss),
                    Arrays.stream(loss).min().orElse(0),
                    Arrays.stream(loss).max().orElse(0),
                    vs,
                    MethodComparison.mean(MethodComparison.values(rs, "validation_token_accuracy")),
                    rs.get(0).path("trainable_parameters").asLong(),
                    MethodComparison.median(MethodComparison.values(rs, "disk_bytes")) / 1024,
                    MethodComparison.median(step),
                    MethodComparison.median(MethodComparison.values(rs, "peak_rss_mb"))));
        }
        return b.toString();
    }
}
