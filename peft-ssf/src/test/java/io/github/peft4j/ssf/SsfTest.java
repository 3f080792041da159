package io.github.peft4j.ssf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.testing.ManagedTest;
import io.github.peft4j.core.testing.TestModels;
import io.github.peft4j.models.bert.BertConfig;
import io.github.peft4j.models.bert.BertForSequenceClassification;
import org.junit.jupiter.api.Test;

class SsfTest extends ManagedTest {

    static final BertConfig TINY = new BertConfig(50, 16, 2, 2, 32, 16, 2, 1e-12, 0.1, 0.1, null, 2, 0.02);

    private static float[] logits(ai.djl.nn.Block m) {
        try (NDManager s = manager.newSubManager()) {
            NDList in = new NDList(
                    s.create(new long[][] {{1, 7, 9, 2, 0}, {1, 3, 2, 0, 0}}),
                    s.create(new long[][] {{1, 1, 1, 1, 0}, {1, 1, 1, 0, 0}}));
            return m.forward(new ParameterStore(s, false), in, false).get(0).toFloatArray();
        }
    }

    @Test
    void linearAndLayerNormMergeExactly() {
        BertForSequenceClassification bert = new BertForSequenceClassification(TINY);
        bert.initialize(manager, 1, 5);
        TestModels.fill(bert, 4);
        float[] base = logits(bert);
        PeftModel m = PeftModel.builder()
                .setBaseModel(bert)
                .setConfig(SsfConfig.builder()
                        .setTargetModules("dense", "query", "key", "value", "LayerNorm")
                        .optInitStd(0.2)
                        .optModulesToSave("classifier")
                        .optTaskType("SEQ_CLS")
                        .build())
                .build();
        // 2 layers × (query, key, value, attention.output.dense, its LayerNorm, intermediate.dense, output.dense, its
        // LayerNorm) + embeddings.LayerNorm + pooler.dense
        assertEquals(2 * 8 + 2, m.getTargetPaths("default").size());
        assertTrue(m.getTargetPaths("default").contains("bert.encoder.layer.1.output.LayerNorm"));
        float[] unmerged = logits(m);
        double moved = 0;
        for (int i = 0; i < base.length; i++) {
            moved = Math.max(moved, Math.abs(base[i] - unmerged[i]));
        }
        assertTrue(moved > 1e-3, "SSF's paper init changes the model");
        m.merge();
        float[] merged = logits(m);
        for (int i = 0; i < merged.length; i++) {
            assertEquals(unmerged[i], merged[i], 1e-5, "logit " + i);
        }
        m.unmerge();
        float[] back = logits(m);
        for (int i = 0; i < back.length; i++) {
            assertEquals(unmerged[i], back[i], 1e-5);
        }
    }

    @Test
    void weightPathLayersAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PeftModel.builder()
                .setBaseModel(TestModels.tinyEncoder(manager, 2, DataType.FLOAT32))
                .setConfig(SsfConfig.builder().setTargetModules("query").build())
                .build());
        assertTrue(
                e.getMessage()
                        .startsWith("SSF needs the activation path but layer 'encoder.0.query' is reached on"
                                + " the weight path"),
                e.getMessage());
    }

    @Test
    void nonAdaptableModuleIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PeftModel.builder()
                .setBaseModel(TestModels.mlp(manager, 1, DataType.FLOAT32))
                .setConfig(SsfConfig.builder().setTargetModules("1").build())
                .build());
        assertTrue(
                e.getMessage().contains("SSF adapts linear layers (ai.djl.nn.core.Linear) and normalisations"),
                e.getMessage());
    }
}
