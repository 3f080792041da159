package io.github.peft4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.ModuleTree;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.examples.data.LabeledTexts;
import io.github.peft4j.examples.data.SpamAssassin;
import io.github.peft4j.examples.data.Split;
import io.github.peft4j.models.bert.BertModel;
import io.github.peft4j.models.bert.BertTokenizer;
import io.github.peft4j.models.bert.MiniLm;
import io.github.peft4j.sparse.kernels.SparseKernels;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * SaRA's observation on a real model: zeroing the smallest-magnitude p% of every linear weight of all-MiniLM-L6-v2
 * (the 36 encoder projections) barely changes what the model computes. For p = 5, 10, 20, 30, 50 it reports the cosine
 * similarity of the pruned model's sentence embeddings to the original's on the SpamAssassin test split (604 real
 * mails, first 128 tokens), and the test accuracy of a fixed classifier: a logistic regression trained once on the
 * original model's embeddings of the training split, then applied unchanged to the pruned models' embeddings.
 *
 * <p>Run from the repository root after {@code mvn package}:
 * {@code java -cp benchmarks/target/benchmarks.jar io.github.peft4j.bench.SaraObservation [train examples]}
 */
public final class SaraObservation {

    private SaraObservation() {}

    /**
     * Runs the experiment and prints the table.
     *
     * @param args optional number of training mails for the classifier (default 2000)
     * @throws Exception if the model or data cannot be read
     */
    public static void main(String[] args) throws Exception {
        int trainN = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        Split split = Split.stratified(SpamAssassin.load(MiniLm.cacheRoot()), 42);
        LabeledTexts train = split.train().head(trainN);
        LabeledTexts test = split.test();
        List<String> classes = split.train().classes();
        try (NDManager manager = NDManager.newBaseManager();
                BertTokenizer tokenizer = BertTokenizer.open(MiniLm.directory(), 128)) {
            BertModel model = MiniLm.load(manager);
            Map<String, Parameter> weights = new LinkedHashMap<>();
            for (ModuleTree.Node n : ModuleTree.walk(model)) {
                if (n.block() instanceof Linear && n.path().contains("encoder.")) {
                    weights.put(n.path(), n.block().getParameters().get("weight"));
                }
            }
            Map<String, float[]> original = new LinkedHashMap<>();
            weights.forEach((k, p) -> original.put(k, p.getArray().toFloatArray()));

            double[][] trainEmb = embed(model, tokenizer, train.texts(), manager);
            double[][] reference = embed(model, tokenizer, test.texts(), manager);
            int[] trainY = labels(train, classes);
            int[] testY = labels(test, classes);
            double[] head = logisticRegression(trainEmb, trainY);
            System.out.printf(
                    Locale.ROOT,
                    "all-MiniLM-L6-v2, %d encoder linear weights (%,d entries); embeddings of"
                            + " the %d SpamAssassin test mails (max 128 tokens); fixed logistic-regression head"
                            + " trained on"
                            + " %d training mails' original embeddings; %d CPUs%n%n",
                    weights.size(),
                    original.values().stream().mapToLong(a -> a.length).sum(),
                    test.size(),
                    train.size(),
                    Runtime.getRuntime().availableProcessors());
            System.out.println(
                    "| zeroed p | mean cosine to original | 5th percentile | min | test accuracy (fixed" + " head) |");
            System.out.println("| ---: | ---: | ---: | ---: | ---: |");
            System.out.printf(
                    Locale.ROOT, "| 0%% | 1.0000 | 1.0000 | 1.0000 | %.4f |%n", accuracy(head, reference, testY));
            for (int p : new int[] {5, 10, 20, 30, 50}) {
                for (Map.Entry<String, Parameter> e : weights.entrySet()) {
                    float[] w = original.get(e.getKey()).clone();
                    for (int i : SparseKernels.smallestMagnitude(w, (int) Math.round(p / 100.0 * w.length))) {
                        w[i] = 0;
                    }
                    set(e.getValue(), w);
                }
                double[][] pruned = embed(model, tokenizer, test.texts(), manager);
                double[] cos = new double[pruned.length];
                for (int i = 0; i < cos.length; i++) {
                    cos[i] = dot(pruned[i], reference[i]); // both L2-normalised
                }
                double[] sorted = cos.clone();
                Arrays.sort(sorted);
                System.out.printf(
                        Locale.ROOT,
                        "| %d%% | %.4f | %.4f | %.4f | %.4f |%n",
                        p,
                        Arrays.stream(cos).average().orElse(Double.NaN),
                        sorted[(int) (0.05 * sorted.length)],
                        sorted[0],
                        accuracy(head, pruned, testY));
                for (Map.Entry<String, Parameter> e : weights.entrySet()) {
                    set(e.getValue(), original.get(e.getKey()));
                }
            }
        }
    }

    private static void set(Parameter p, float[] values) {
        NDArray a = p.getArray();
        try (NDArray v = a.getManager().create(values, a.getShape())) {
            ParameterValues.copyInto(a, v);
        }
    }

    /** Output 1 of peft4j's BertModel: the mean-pooled, L2-normalised sentence embedding. */
    private static double[][] embed(BertModel model, BertTokenizer tokenizer, List<String> texts, NDManager manager) {
        List<double[]> out = new ArrayList<>();
        for (int start = 0; start < texts.size(); start += 32) {
            List<String> batch = texts.subList(start, Math.min(texts.size(), start + 32));
            try (NDManager s = manager.newSubManager()) {
                float[] e = model.forward(
                                new ParameterStore(s, false),
                                tokenizer.encode(batch).toNDList(s),
                                false)
                        .get(1)
                        .toFloatArray();
                int dim = e.length / batch.size();
                for (int i = 0; i < batch.size(); i++) {
                    double[] v = new double[dim];
                    for (int d = 0; d < dim; d++) {
                        v[d] = e[i * dim + d];
                    }
                    out.add(v);
                }
            }
        }
        return out.toArray(new double[0][]);
    }

    private static int[] labels(LabeledTexts t, List<String> classes) {
        return t.labels().stream().mapToInt(classes::indexOf).toArray();
    }

    /** Σ a[i] b[i] over b's length (a may carry a trailing bias). */
    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < b.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /** Binary logistic regression (class 1 vs 0), full-batch gradient descent, L2 1e-4; weights then bias. */
    static double[] logisticRegression(double[][] x, int[] y) {
        int dim = x[0].length;
        double[] w = new double[dim + 1];
        double lr = 2.0;
        for (int it = 0; it < 2000; it++) {
            double[] g = new double[dim + 1];
            for (int i = 0; i < x.length; i++) {
                double z = w[dim] + dot(w, x[i]);
                double err = 1 / (1 + Math.exp(-z)) - y[i];
                for (int d = 0; d < dim; d++) {
                    g[d] += err * x[i][d];
                }
                g[dim] += err;
            }
            for (int d = 0; d <= dim; d++) {
                w[d] -= lr * (g[d] / x.length + (d < dim ? 1e-4 * w[d] : 0));
            }
        }
        return w;
    }

    private static double accuracy(double[] w, double[][] x, int[] y) {
        int dim = x[0].length;
        int ok = 0;
        for (int i = 0; i < x.length; i++) {
            double z = w[dim];
            for (int d = 0; d < dim; d++) {
                z += w[d] * x[i][d];
            }
            ok += (z > 0 ? 1 : 0) == y[i] ? 1 : 0;
        }
        return (double) ok / x.length;
    }
}
