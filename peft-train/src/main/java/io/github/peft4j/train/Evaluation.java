package io.github.peft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.training.loss.Loss;

/**
 * Metrics over a data set: of a classifier ({@link #of}) or of a language model ({@link #languageModel}).
 *
 * @param loss mean cross-entropy (per example for a classifier, per counted token for a language model)
 * @param accuracy share of correct predictions (classes, or next tokens)
 * @param macroF1 unweighted mean of the per-class F1 scores; NaN for a language model
 * @param examples number of examples (counted tokens for a language model)
 * @param confusion confusion matrix [true class][predicted class]; empty for a language model
 */
public record Evaluation(double loss, double accuracy, double macroF1, int examples, long[][] confusion) {

    /**
     * Evaluates a classifier (inference mode: no dropout, no gradient).
     *
     * @param model a block whose first output is logits [batch, classes]
     * @param data the examples
     * @param batchSize examples per forward pass
     * @param numClasses the number of classes
     * @param manager parent of the per-batch scopes
     * @return the metrics
     */
    public static Evaluation of(Block model, TrainingData data, int batchSize, int numClasses, NDManager manager) {
        long[][] confusion = new long[numClasses][numClasses];
        double lossSum = 0;
        Loss ce = Loss.softmaxCrossEntropyLoss();
        for (int start = 0; start < data.size(); start += batchSize) {
            int n = Math.min(batchSize, data.size() - start);
            int[] idx = new int[n];
            for (int i = 0; i < n; i++) {
                idx[i] = start + i;
            }
            try (NDManager s = manager.newSubManager()) {
                NDArray logits = model.forward(
                                new ParameterStore(s, false),
                                data.inputs(idx, s),
                                false,
                                data.forwardParameters(idx, s))
                        .get(0);
                NDArray labels = data.labels(idx, s);
                lossSum += ce.evaluate(new NDList(labels), new NDList(logits)).getFloat() * n;
                long[] pred = logits.argMax(-1).toLongArray();
                long[] truth = labels.toLongArray();
                for (int i = 0; i < n; i++) {
                    confusion[(int) truth[i]][(int) pred[i]]++;
                }
            }
        }
        return fromConfusion(confusion, lossSum / Math.max(1, data.size()));
    }

    /**
     * Computes the metrics of a confusion matrix.
     *
     * @param confusion [true][predicted] counts
     * @param loss the mean loss to report
     * @return the metrics
     */
    public static Evaluation fromConfusion(long[][] confusion, double loss) {
        int k = confusion.length;
        long correct = 0;
        long total = 0;
        double f1Sum = 0;
        for (int c = 0; c < k; c++) {
            long tp = confusion[c][c];
            long fn = 0;
            long fp = 0;
            for (int o = 0; o < k; o++) {
                total += confusion[c][o];
                if (o != c) {
                    fn += confusion[c][o];
                    fp += confusion[o][c];
                }
            }
            correct += tp;
            f1Sum += tp == 0 ? 0 : 2.0 * tp / (2.0 * tp + fp + fn);
        }
        return new Evaluation(loss, total == 0 ? 0 : (double) correct / total, f1Sum / k, (int) total, confusion);
    }

    /**
     * The metrics of a language model.
     *
     * @param loss the mean cross-entropy per counted token
     * @param tokenAccuracy the share of counted tokens predicted exactly (argmax)
     * @param tokens the number of counted tokens
     * @return the evaluation
     */
    public static Evaluation languageModel(double loss, double tokenAccuracy, long tokens) {
        return new Evaluation(
                loss, tokenAccuracy, Double.NaN, (int) Math.min(Integer.MAX_VALUE, tokens), new long[0][0]);
    }

    /**
     * Whether these are a language model's metrics (no classes).
     *
     * @return true for {@link #languageModel} evaluations
     */
    public boolean isLanguageModel() {
        return Double.isNaN(macroF1);
    }

    /**
     * The perplexity, exp(loss): what a language model's evaluation reports.
     *
     * @return e to the mean token loss
     */
    public double perplexity() {
        return Math.exp(loss);
    }

    /**
     * Whether this evaluation is better than another: lower loss for a language model (as Hugging Face's trainer
     * picks by default), higher accuracy for a classifier.
     *
     * @param other the evaluation to beat, or null
     * @return true if this one is better
     */
    public boolean betterThan(Evaluation other) {
        if (other == null) {
            return true;
        }
        return isLanguageModel() ? loss < other.loss : accuracy > other.accuracy;
    }

    /**
     * A one-line summary for logs.
     *
     * @return e.g. {@code loss 0.1234, accuracy 0.9700, macro-F1 0.9650} or {@code loss 2.31, perplexity 10.1,
     *     token accuracy 0.41}
     */
    public String summary() {
        return isLanguageModel()
                ? String.format(
                        java.util.Locale.ROOT,
                        "loss %.4f, perplexity %.3f, token accuracy %.4f",
                        loss,
                        perplexity(),
                        accuracy)
                : String.format(
                        java.util.Locale.ROOT, "loss %.4f, accuracy %.4f, macro-F1 %.4f", loss, accuracy, macroF1);
    }
}
