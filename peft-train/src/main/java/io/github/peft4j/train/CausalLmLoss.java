package io.github.peft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.loss.Loss;
import io.github.peft4j.core.Scalars;

/**
 * The causal language-modelling loss as Hugging Face computes it: the labels are shifted inside the loss (position
 * t predicts token t + 1), positions labelled {@value #IGNORE_INDEX} (prompt and padding) are left out, and the
 * cross-entropy is the mean over the remaining tokens.
 */
public final class CausalLmLoss extends Loss {

    /** The label of positions that do not count. */
    public static final long IGNORE_INDEX = -100;

    /** Creates the loss. */
    public CausalLmLoss() {
        super("CausalLmLoss");
    }

    /**
     * The loss of one batch.
     *
     * @param labels {@code labels} int64 [batch, seq], the input ids with {@value #IGNORE_INDEX} where nothing counts
     * @param predictions the logits [batch, seq, vocab]
     * @return the mean cross-entropy over the counted tokens (0 when none counts), a scalar
     */
    @Override
    public NDArray evaluate(NDList labels, NDList predictions) {
        NDArray logits = predictions.get(0);
        NDArray target = labels.singletonOrThrow();
        if (!target.getShape().equals(logits.getShape().slice(0, 2))) {
            throw new IllegalArgumentException(
                    "labels must be [batch, seq] = " + logits.getShape().slice(0, 2) + "; got " + target.getShape());
        }
        Shifted sh = shift(target, logits);
        NDArray n = sh.weights.sum().maximum(Scalars.of(sh.weights, 1));
        return sh.picked.mul(sh.weights).sum().neg().div(n);
    }

    /**
     * The shifted targets of a batch: each position's log-probability of the next token, whether it counts, and the
     * logits it came from.
     */
    private record Shifted(NDArray logits, NDArray next, NDArray counted, NDArray picked, NDArray weights) {}

    private static Shifted shift(NDArray labels, NDArray logits) {
        long seq = logits.getShape().get(1);
        NDArray shiftedLogits = logits.get(":, :" + (seq - 1) + ", :");
        NDArray next = labels.get(":, 1:");
        NDArray counted = next.neq(Scalars.of(next, IGNORE_INDEX));
        NDArray safe = next.mul(counted.toType(DataType.INT64, false));
        NDArray logp = shiftedLogits.logSoftmax(-1);
        NDArray picked = logp.gather(safe.expandDims(-1), -1).squeeze(-1);
        return new Shifted(shiftedLogits, next, counted, picked, counted.toType(logp.getDataType(), false));
    }

    /**
     * The number of tokens a batch's loss counts.
     *
     * @param labels int64 [batch, seq]
     * @return the labels after the first position that are not {@value #IGNORE_INDEX}
     */
    public static long countedTokens(NDArray labels) {
        NDArray next = labels.get(":, 1:");
        return next.neq(Scalars.of(next, IGNORE_INDEX)).sum().getLong();
    }

    /**
     * Sums over one batch for an evaluation: the token losses, the tokens predicted exactly (argmax) and the tokens
     * counted.
     *
     * @param labels int64 [batch, seq]
     * @param logits [batch, seq, vocab]
     * @return {loss sum, correct, counted}
     */
    public static double[] sums(NDArray labels, NDArray logits) {
        Shifted sh = shift(labels, logits);
        double lossSum =
                -sh.picked.mul(sh.weights).sum().toType(DataType.FLOAT64, false).getDouble();
        NDArray hit = sh.logits.argMax(-1).eq(sh.next).logicalAnd(sh.counted);
        return new double[] {lossSum, hit.sum().getLong(), sh.counted.sum().getLong()};
    }
}
