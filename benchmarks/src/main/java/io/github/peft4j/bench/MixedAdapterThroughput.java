package io.github.peft4j.bench;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.lora.LoraConfig;
import io.github.peft4j.models.bert.Bert;
import io.github.peft4j.models.bert.MiniLm;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Inference throughput of many LoRA adapters on one all-MiniLM-L6-v2 classifier (r=8 on query/value, each adapter with
 * its own pooler and head): a batch of 32 × 128 tokens whose rows name 1, 4 or 16 different adapters (round robin),
 * against the same batch through one adapter merged into the base weights, and one adapter unmerged. The cases
 * alternate batch by batch in one JVM; medians with min and max.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar io.github.peft4j.bench.MixedAdapterThroughput [rounds]}
 */
public final class MixedAdapterThroughput {

    private static final int ROWS = 32;
    private static final int TOKENS = 128;

    private MixedAdapterThroughput() {}

    /**
     * Runs the comparison.
     *
     * @param args optional number of measured rounds (default 15)
     * @throws Exception if loading fails
     */
    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        int warmup = 2;
        Path dir = MiniLm.directory();
        try (NDManager manager = NDManager.newBaseManager()) {
            PeftModel served = model(dir, manager, 16);
            PeftModel merged = model(dir, manager, 1);
            merged.merge();
            long[][] ids = new long[ROWS][TOKENS];
            long[][] mask = new long[ROWS][TOKENS];
            SplittableRandom r = new SplittableRandom(1);
            for (int i = 0; i < ROWS; i++) {
                for (int t = 0; t < TOKENS; t++) {
                    ids[i][t] = t == 0 ? 101 : t == TOKENS - 1 ? 102 : 1000 + r.nextInt(28000);
                    mask[i][t] = 1;
                }
            }
            String[] cases = {
                "one adapter merged",
                "one adapter, unmerged",
                "mixed: 1 adapter",
                "mixed: 4 adapters",
                "mixed: 16 adapters"
            };
            List<List<Double>> times = new ArrayList<>();
            for (int c = 0; c < cases.length; c++) {
                times.add(new ArrayList<>());
            }
            for (int round = 0; round < warmup + rounds; round++) {
                for (int c = 0; c < cases.length; c++) {
                    long t0 = System.nanoTime();
                    try (NDManager s = manager.newSubManager()) {
                        NDList in = new NDList(s.create(ids), s.create(mask));
                        ParameterStore ps = new ParameterStore(s, false);
                        NDList out =
                                switch (c) {
                                    case 0 -> merged.forward(ps, in, false);
                                    case 1 -> served.forward(ps, in, false);
                                    case 2 -> served.forward(ps, in, names(1));
                                    case 3 -> served.forward(ps, in, names(4));
                                    default -> served.forward(ps, in, names(16));
                                };
                        out.head().toFloatArray();
                    }
                    if (round >= warmup) {
                        times.get(c).add((System.nanoTime() - t0) / 1e6);
                    }
                }
            }
            System.out.printf(
                    Locale.ROOT,
                    "all-MiniLM-L6-v2 seq-cls, LoRA r=8 query/value + own pooler and head per adapter, batch %d x %d,"
                            + " inference, %d alternating rounds after %d warm-up; %d CPUs%n%n",
                    ROWS,
                    TOKENS,
                    rounds,
                    warmup,
                    Runtime.getRuntime().availableProcessors());
            System.out.println("| batch | ms median | min | max | rows/s (median) | vs merged |");
            System.out.println("| --- | ---: | ---: | ---: | ---: | ---: |");
            double base = median(times.get(0));
            for (int c = 0; c < cases.length; c++) {
                List<Double> v = new ArrayList<>(times.get(c));
                Collections.sort(v);
                double med = median(v);
                System.out.printf(
                        Locale.ROOT,
                        "| %s | %.0f | %.0f | %.0f | %.1f | %.2fx |%n",
                        cases[c],
                        med,
                        v.get(0),
                        v.get(v.size() - 1),
                        ROWS / (med / 1000),
                        med / base);
            }
        }
    }

    /** A classifier with {@code n} LoRA adapters named a0, a1, …, each with seeded non-zero factors. */
    private static PeftModel model(Path dir, NDManager manager, int n) throws Exception {
        PeftModel peft = PeftModel.builder()
                .setBaseModel(Bert.loadForSequenceClassification(dir, 2, manager, true, 1))
                .build();
        for (int i = 0; i < n; i++) {
            peft.addAdapter(
                    "a" + i,
                    LoraConfig.builder()
                            .setTargetModules("query", "value")
                            .optRank(8)
                            .optAlpha(16)
                            .optModulesToSave("classifier", "pooler")
                            .build());
            SplittableRandom r = new SplittableRandom(100 + i);
            peft.getAdapterTensors("a" + i).forEach((k, a) -> {
                if (k.contains("lora_B")) {
                    float[] v = new float[Math.toIntExact(a.size())];
                    for (int j = 0; j < v.length; j++) {
                        v[j] = (float) (0.01 * r.nextGaussian());
                    }
                    try (var src = a.getManager().create(v, a.getShape())) {
                        ParameterValues.copyInto(a, src);
                    }
                }
            });
        }
        return peft;
    }

    private static List<String> names(int adapters) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < ROWS; i++) {
            out.add("a" + (i % adapters));
        }
        return out;
    }

    private static double median(List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        Collections.sort(s);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }
}
