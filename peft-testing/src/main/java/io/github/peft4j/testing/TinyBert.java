package io.github.peft4j.testing;

import ai.djl.ndarray.NDManager;
import io.github.peft4j.core.testing.TestModels;
import io.github.peft4j.models.bert.BertConfig;
import io.github.peft4j.models.bert.BertForSequenceClassification;

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
}
