package io.github.peft4j.testing;

import ai.djl.ndarray.NDManager;
import io.github.peft4j.core.testing.TestModels;
import io.github.peft4j.models.HfWeights;
import io.github.peft4j.models.bert.BertConfig;
import io.github.peft4j.models.bert.BertForSequenceClassification;
import io.github.peft4j.models.bert.BertModel;
import java.io.IOException;
import java.nio.file.Path;

/** Tiny BERT models with deterministic weights, for tests that need a real transformer. */
public final class TinyBert {

    private TinyBert() {}

    /**
     * A two-layer BERT classifier (hidden 32, intermediate 64, 2 heads, 2 labels, no dropout, so gradients and
     * outputs are deterministic) for sequences of 8 ids from a vocabulary of 50, weights from {@link TestModels#fill}
     * with seed 3: the model of {@link Synthetic}.
     *
     * @param manager owns the weights
     * @return the initialized model
     */
    public static BertForSequenceClassification classifier(NDManager manager) {
        BertForSequenceClassification m = new BertForSequenceClassification(
                new BertConfig(50, 32, 2, 2, 64, 16, 2, 1e-12, 0.0, 0.0, null, 2, 0.02));
        m.initialize(manager, 1, 8);
        TestModels.fill(m, 3);
        return m;
    }

    /**
     * The config of {@link #writeDirectory}: MiniLM's vocabulary (30,522 ids, so its tokenizer fits), hidden 32,
     * 2 layers of 2 heads, intermediate 64.
     */
    public static final BertConfig DIRECTORY_CONFIG =
            new BertConfig(30522, 32, 2, 2, 64, 512, 2, 1e-12, 0.1, 0.1, null, 2, 0.02);

    /**
     * Writes a Hugging Face BERT directory with random weights (N(0, 0.3²), LayerNorm weights 1, biases 0; seed 11)
     * and a given tokenizer: a model the {@code peft} command line trains in a fraction of MiniLM's time, for tests
     * of its wiring. At transformers' own init scale (0.02) the tokens of a random model barely reach its [CLS]
     * output and nothing learns in a few dozen steps; at 0.3 the tests' keyword task is learnt (test accuracy 0.875
     * after 24 LoRA steps at seed 42).
     *
     * @param dir the directory to create
     * @param tokenizerJson a {@code tokenizer.json} with at least 30,522 ids (MiniLM's)
     * @throws IOException if writing fails
     */
    public static void writeDirectory(Path dir, Path tokenizerJson) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            BertModel model = new BertModel(DIRECTORY_CONFIG, true);
            model.initialize(m, 1, 8);
            java.util.SplittableRandom r = new java.util.SplittableRandom(11);
            for (java.util.Map.Entry<String, ai.djl.nn.Parameter> e :
                    io.github.peft4j.core.ModuleTree.namedParameters(model).entrySet()) {
                ai.djl.ndarray.NDArray a = e.getValue().getArray();
                float[] v = new float[Math.toIntExact(a.size())];
                boolean weight = e.getKey().endsWith("weight");
                boolean norm = e.getKey().contains("LayerNorm");
                for (int i = 0; i < v.length; i++) {
                    v[i] = !weight ? 0f : norm ? 1f : (float) (r.nextGaussian() * 0.3);
                }
                try (ai.djl.ndarray.NDArray src = m.create(v, a.getShape())) {
                    io.github.peft4j.core.ParameterValues.copyInto(a, src);
                }
            }
            HfWeights.writeDirectory(dir, model, DIRECTORY_CONFIG.toJson(), tokenizerJson);
        }
    }

    /**
     * Writes a two-class CSV ({@code text,label}) of 160 short mails for the tiny model: offers ("spam") and work mail
     * ("ham"), alternating, each numbered; seed 1.
     *
     * @param csv the file to write
     * @param maxExtraWords up to this many words of filler added to each text at random (0: none), so that texts
     *     differ in length
     * @throws IOException if writing fails
     */
    public static void writeMailCsv(Path csv, int maxExtraWords) throws IOException {
        String[] spam = {"Win a free prize now", "Cheap meds, click here", "Limited offer: buy cheap watches"};
        String[] ham = {"Meeting moved to Tuesday", "The build is green again", "Please review my pull request"};
        StringBuilder sb = new StringBuilder("text,label\n");
        java.util.SplittableRandom r = new java.util.SplittableRandom(1);
        for (int i = 0; i < 160; i++) {
            String[] pool = i % 2 == 0 ? spam : ham;
            sb.append('"').append(pool[r.nextInt(pool.length)]).append(" #").append(i);
            if (maxExtraWords > 0) {
                sb.append(" extra".repeat(r.nextInt(maxExtraWords + 1)));
            }
            sb.append("\",").append(i % 2 == 0 ? "spam" : "ham").append('\n');
        }
        java.nio.file.Files.writeString(csv, sb.toString());
    }
}
