package io.github.peft4j.examples.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterMethods;
import io.github.peft4j.core.Scalars;
import io.github.peft4j.core.io.AdapterFiles;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.lora.LoraConfig;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code peft inspect}: what an adapter directory holds. */
@Command(
        name = "inspect",
        mixinStandardHelpOptions = true,
        description = "Show an adapter's config, per-layer ranks, parameter counts and the norm of each layer's"
                + " weight update ΔW = s·BA.")
public final class InspectCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "adapter directory")
    private Path dir;

    @Override
    public Integer call() throws Exception {
        ObjectNode json = AdapterFiles.readConfig(dir);
        var config = AdapterMethods.forPeftType(json.get("peft_type").asText()).parseConfig(json);
        System.out.println("adapter: " + dir.toAbsolutePath());
        System.out.println(Json.write(config.toJson()).strip());
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> t = new TreeMap<>(AdapterFiles.readTensors(dir, m));
            long total = 0;
            System.out.printf(Locale.ROOT, "%n%-58s %5s %10s %12s%n", "layer", "rank", "params", "|ΔW|_F");
            for (Map.Entry<String, NDArray> e : t.entrySet()) {
                String k = e.getKey();
                total += e.getValue().size();
                if (!k.endsWith(".lora_A.weight")) {
                    continue;
                }
                String path = k.substring(AdapterFiles.KEY_PREFIX.length(), k.length() - ".lora_A.weight".length());
                NDArray a = e.getValue();
                NDArray b = t.get(AdapterFiles.KEY_PREFIX + path + ".lora_B.weight");
                double s = config instanceof LoraConfig lc ? lc.scalingFor(path) : 1;
                double norm = Math.abs(s) * b.matMul(a).norm().getFloat();
                System.out.printf(
                        Locale.ROOT,
                        "%-58s %5d %10d %12.5f%n",
                        path,
                        a.getShape().get(0),
                        a.size() + b.size(),
                        norm);
            }
            for (Map.Entry<String, NDArray> e : t.entrySet()) {
                String k = e.getKey();
                if (k.endsWith(".ssf_scale")) {
                    String path = k.substring(AdapterFiles.KEY_PREFIX.length(), k.length() - ".ssf_scale".length());
                    NDArray g = e.getValue();
                    NDArray b = t.get(AdapterFiles.KEY_PREFIX + path + ".ssf_shift");
                    System.out.printf(
                            Locale.ROOT,
                            "%-58s SSF width %d, max |γ−1| %.5f, max |β| %.5f%n",
                            path,
                            g.size(),
                            Scalars.sub(g, 1).abs().max().getFloat(),
                            b.abs().max().getFloat());
                }
            }
            System.out.println();
            for (Map.Entry<String, NDArray> e : t.entrySet()) {
                if (!e.getKey().contains(".lora_") && !e.getKey().contains(".ssf_")) {
                    System.out.printf(
                            Locale.ROOT,
                            "saved whole: %-50s %10d%n",
                            e.getKey().substring(AdapterFiles.KEY_PREFIX.length()),
                            e.getValue().size());
                }
            }
            System.out.printf(Locale.ROOT, "total tensors %d, parameters %,d%n", t.size(), total);
        }
        return 0;
    }
}
