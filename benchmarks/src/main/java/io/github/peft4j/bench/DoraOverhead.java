package io.github.peft4j.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
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
 * DoRA's training-step overhead over LoRA on all-MiniLM-L6-v2 (sequence classification, r=8 on query/value, batch 16
 * × 128 tokens): forward + backward of the cross-entropy, the two models alternating step by step in one JVM (LoRA is
 * the baseline). Python PEFT reports 16–100% for its DoRA.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar io.github.peft4j.bench.DoraOverhead [rounds]}
 */
public final class DoraOverhead {

    private DoraOverhead() {}

    /**
     * Runs the comparison.
     *
     * @param args optional number of measured rounds (default 20)
     * @throws Exception if loading fails
     */
    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        int warmup = 3;
        Path dir = MiniLm.directory();
        try (NDManager manager = NDManager.newBaseManager()) {
            PeftModel[] models = new PeftModel[2];
            for (int i = 0; i < 2; i++) {
                models[i] = PeftModel.builder()
                        .setBaseModel(Bert.loadForSequenceClassification(dir, 2, manager, true, 1))
                        .setConfig(LoraConfig.builder()
                                .setTargetModules("query", "value")
                                .optRank(8)
                                .optAlpha(16)
                                .optUseDora(i == 1)
                                .optModulesToSave("classifier", "pooler")
                                .build())
                        .build();
            }
            long[][] ids = new long[16][128];
            long[][] mask = new long[16][128];
            SplittableRandom r = new SplittableRandom(1);
            for (int i = 0; i < 16; i++) {
                for (int t = 0; t < 128; t++) {
                    ids[i][t] = t == 0 ? 101 : t == 127 ? 102 : 1000 + r.nextInt(28000);
                    mask[i][t] = 1;
                }
            }
            List<List<Double>> times = List.of(new ArrayList<>(), new ArrayList<>());
            for (int round = 0; round < warmup + rounds; round++) {
                for (int i = 0; i < 2; i++) {
                    long t0 = System.nanoTime();
                    try (NDManager s = manager.newSubManager();
                            GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDList in = new NDList(s.create(ids), s.create(mask));
                        NDArray logits = models[i]
                                .forward(new ParameterStore(s, false), in, true)
                                .get(0);
                        NDArray loss = logits.logSoftmax(-1).get(":, 0").neg().mean();
                        gc.backward(loss);
                    }
                    models[i].getParameters().values().stream()
                            .filter(p -> p.requiresGradient())
                            .forEach(p -> {
                                try (NDArray g = p.getArray().getGradient()) {
                                    g.set(new ai.djl.ndarray.index.NDIndex("..."), 0);
                                }
                            });
                    if (round >= warmup) {
                        times.get(i).add((System.nanoTime() - t0) / 1e6);
                    }
                }
            }
            System.out.printf(
                    Locale.ROOT,
                    "all-MiniLM-L6-v2 seq-cls, r=8 query/value, batch 16 x 128, forward +"
                            + " backward, %d alternating rounds after %d warm-up; %d CPUs%n%n",
                    rounds,
                    warmup,
                    Runtime.getRuntime().availableProcessors());
            System.out.println("| adapter | step ms median | min | max |");
            System.out.println("| --- | ---: | ---: | ---: |");
            double[] med = new double[2];
            String[] names = {"LoRA (baseline)", "DoRA"};
            for (int i = 0; i < 2; i++) {
                List<Double> v = new ArrayList<>(times.get(i));
                Collections.sort(v);
                med[i] = v.size() % 2 == 1 ? v.get(v.size() / 2) : (v.get(v.size() / 2 - 1) + v.get(v.size() / 2)) / 2;
                System.out.printf(
                        Locale.ROOT, "| %s | %.0f | %.0f | %.0f |%n", names[i], med[i], v.get(0), v.get(v.size() - 1));
            }
            System.out.printf(Locale.ROOT, "%nDoRA overhead (median): %+.1f%%%n", 100 * (med[1] / med[0] - 1));
        }
    }
}
