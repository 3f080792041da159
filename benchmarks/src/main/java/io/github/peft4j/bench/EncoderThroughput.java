package io.github.peft4j.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.github.peft4j.models.bert.BertModel;
import io.github.peft4j.models.bert.MiniLm;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Encoder forward throughput of all-MiniLM-L6-v2: peft4j's BERT on DJL/libtorch against ONNX Runtime on the ONNX file
 * the weights came from (the baseline), batch 32 × 128 tokens, inference. Both run in this JVM, alternating batch by
 * batch, so machine noise hits both alike. Prints median [min – max] sentences/s over the measured rounds.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar io.github.peft4j.bench.EncoderThroughput [rounds]}
 */
public final class EncoderThroughput {

    private EncoderThroughput() {}

    /**
     * Runs the comparison.
     *
     * @param args optional number of measured rounds (default 20)
     * @throws Exception if a runtime fails
     */
    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        int warmup = 5;
        int batch = 32;
        int seq = 128;
        long[][] ids = new long[batch][seq];
        long[][] mask = new long[batch][seq];
        long[][] types = new long[batch][seq];
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < batch; i++) {
            ids[i][0] = 101;
            for (int t = 1; t < seq - 1; t++) {
                ids[i][t] = 1000L + r.nextInt(28000);
            }
            ids[i][seq - 1] = 102;
            java.util.Arrays.fill(mask[i], 1);
        }

        try (NDManager manager = NDManager.newBaseManager()) {
            BertModel model = MiniLm.load(manager);
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            byte[] onnx;
            try (InputStream is = EncoderThroughput.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
                onnx = is.readAllBytes();
            }
            try (OrtSession session = env.createSession(onnx, new OrtSession.SessionOptions())) {
                List<Double> djl = new ArrayList<>();
                List<Double> ort = new ArrayList<>();
                for (int i = 0; i < warmup + rounds; i++) {
                    long t0 = System.nanoTime();
                    try (NDManager s = manager.newSubManager()) {
                        NDList in = new NDList(s.create(ids), s.create(mask), s.create(types));
                        model.forward(new ParameterStore(s, false), in, false)
                                .get(0)
                                .toFloatArray();
                    }
                    long t1 = System.nanoTime();
                    try (OnnxTensor a = OnnxTensor.createTensor(env, ids);
                            OnnxTensor b = OnnxTensor.createTensor(env, mask);
                            OnnxTensor c = OnnxTensor.createTensor(env, types);
                            OrtSession.Result res =
                                    session.run(Map.of("input_ids", a, "attention_mask", b, "token_type_ids", c))) {
                        res.get(0).getValue();
                    }
                    long t2 = System.nanoTime();
                    if (i >= warmup) {
                        djl.add(batch / ((t1 - t0) / 1e9));
                        ort.add(batch / ((t2 - t1) / 1e9));
                    }
                }
                System.out.printf(
                        Locale.ROOT,
                        "all-MiniLM-L6-v2 forward, batch %d x %d tokens, %d rounds after %d"
                                + " warm-up, alternating; %d CPUs, default thread settings of both runtimes%n",
                        batch,
                        seq,
                        rounds,
                        warmup,
                        Runtime.getRuntime().availableProcessors());
                System.out.println();
                System.out.println("| runtime | sentences/s median | min | max |");
                System.out.println("| --- | ---: | ---: | ---: |");
                row(
                        "peft4j BertModel (DJL 0.36, libtorch "
                                + Engine.getInstance().getVersion() + ")",
                        djl);
                row("ONNX Runtime " + env.getVersion() + " (baseline)", ort);
            }
        }
    }

    private static void row(String name, List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        Collections.sort(s);
        double median = s.size() % 2 == 1 ? s.get(s.size() / 2) : (s.get(s.size() / 2 - 1) + s.get(s.size() / 2)) / 2;
        System.out.printf(Locale.ROOT, "| %s | %.1f | %.1f | %.1f |%n", name, median, s.get(0), s.get(s.size() - 1));
    }
}
