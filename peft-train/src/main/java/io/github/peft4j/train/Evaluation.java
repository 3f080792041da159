package io.github.peft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.training.loss.Loss;

/**
 * Classification metrics over a data set.
 *
 * @param loss mean cross-entropy
 * @param accuracy share of correct predictions
 * @param macroF1 unweighted mean of the per-class F1 scores
 * @param examples number of examples
 * @param confusion confusion matrix [true class][predicted class]
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
                NDArray logits = model.forward(new ParameterStore(s, false), data.inputs(idx, s), false)
                        .get(0);
                NDArray labels = data.labels(idx, s);
                lossSum += ce.evaluate(new NDList(labels), new NDList(logits)).getFloat() * n;
                long[] pred = logits.argMax(-1).toLongArray();
                for (int i = 0; i < n; i++) {
                    confusion[data.label(idx[i])][(int) pred[i]]++;
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
}
