package io.github.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.TranslateException;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.io.AdapterFiles;
import io.github.peft4j.core.testing.ManagedTest;
import io.github.peft4j.core.testing.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a Java user does: wrap, train with DJL's Trainer, save, reload, merge; several adapters side by side. */
class PeftModelWorkflowTest extends ManagedTest {

    private static NDArray data(Shape s, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[Math.toIntExact(s.size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return manager.create(v, s);
    }

    private static float[] predict(Block block, NDArray x) {
        try (NDManager s = manager.newSubManager()) {
            return block.forward(new ParameterStore(s, false), new NDList(x), false)
                    .singletonOrThrow()
                    .toFloatArray();
        }
    }

    private static float mse(Block block, NDArray x, NDArray y) {
        try (NDManager s = manager.newSubManager()) {
            return block.forward(new ParameterStore(s, false), new NDList(x), false)
                    .singletonOrThrow()
                    .sub(y)
                    .square()
                    .mean()
                    .getFloat();
        }
    }

    @Test
    void trainWithDjlTrainerSaveReloadMerge(@TempDir Path dir) throws IOException, TranslateException {
        NDArray x = data(new Shape(256, 8), 1);
        // the task: the base model's outputs, bent by a fixed non-linear change it cannot express without training
        Block teacher = TestModels.mlp(manager, 77, DataType.FLOAT32);
        NDArray y = manager.create(predict(teacher, x), new Shape(256, 4));

        Block base = TestModels.mlp(manager, 1, DataType.FLOAT32);
        PeftModel peft = PeftModel.builder()
                .setBaseModel(base)
                .setConfig(LoraConfig.builder()
                        .setTargetModules("all-linear")
                        .optRank(4)
                        .optAlpha(8)
                        .build())
                .build();
        // base 484 = (8·16+16) + (16·16+16) + (16·4+4); LoRA r=4: (4·8+16·4) + (4·16+16·4) + (4·16+4·4) = 304
        assertEquals(
                "trainable params: 304 || all params: 788 || trainable%: 38.5787", peft.printTrainableParameters());
        float before = mse(peft, x, y);

        try (Model model = Model.newInstance("quickstart")) {
            model.setBlock(peft);
            ArrayDataset dataset = new ArrayDataset.Builder()
                    .setData(x)
                    .optLabels(y)
                    .setSampling(32, true)
                    .build();
            DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.l2Loss())
                    .optOptimizer(Optimizer.adam()
                            .optLearningRateTracker(Tracker.fixed(1e-2f))
                            .build());
            try (Trainer trainer = model.newTrainer(config)) {
                trainer.initialize(new Shape(32, 8));
                EasyTrain.fit(trainer, 10, dataset, null);
            }
        }
        float after = mse(peft, x, y);
        assertTrue(after < before * 0.8, "training must reduce the error: " + before + " -> " + after);

        peft.saveAdapters(dir);
        assertTrue(Files.isRegularFile(dir.resolve(AdapterFiles.WEIGHTS)));
        float[] trained = predict(peft, x);

        PeftModel reloaded = PeftModel.builder()
                .setBaseModel(TestModels.mlp(manager, 1, DataType.FLOAT32))
                .build();
        reloaded.loadAdapter(dir, PeftModel.DEFAULT_ADAPTER);
        assertArrayEquals(trained, predict(reloaded, x), 0f);

        Block merged = reloaded.mergeAndUnload();
        assertArrayEquals(trained, predict(merged, x), 1e-5f);
    }

    @Test
    void severalNamedAdapters(@TempDir Path dir) throws IOException {
        Block base = TestModels.tinyEncoder(manager, 2, DataType.FLOAT32);
        NDArray x = data(new Shape(3, 16), 9);
        float[] baseOut = predict(base, x);
        PeftModel peft = PeftModel.builder()
                .setBaseModel(base)
                .setConfig(LoraConfig.builder()
                        .setTargetModules("query", "value")
                        .optInit(LoraInit.RANDOM)
                        .build())
                .build();
        peft.addAdapter(
                "other",
                LoraConfig.builder()
                        .setTargetModules("dense")
                        .optRank(2)
                        .optInit(LoraInit.RANDOM)
                        .optModulesToSave("classifier")
                        .build());
        assertEquals(List.of("default", "other"), peft.getAdapterNames());
        assertEquals("default", peft.getActiveAdapter());
        float[] outDefault = predict(peft, x);
        // only the active adapter trains: 4 layers × (8·16 + 16·8)
        assertEquals(4 * 256, peft.getTrainableParameters().trainable());

        peft.setActiveAdapter("other");
        float[] outOther = predict(peft, x);
        assertTrue(maxDiff(outDefault, outOther) > 1e-3);
        // 2 layers × (2·16 + 16·2) + classifier copy (16·3 + 3)
        assertEquals(2 * 64 + 51, peft.getTrainableParameters().trainable());

        peft.merge();
        assertThrows(IllegalStateException.class, () -> peft.setActiveAdapter("default"));
        assertThrows(IllegalStateException.class, peft::disableAdapters);
        peft.unmerge();

        peft.saveAdapters(dir);
        assertTrue(Files.isRegularFile(dir.resolve("adapter_config.json")), "default adapter at the root");
        assertTrue(Files.isRegularFile(dir.resolve("other/adapter_config.json")), "others in sub-folders");

        PeftModel fresh = PeftModel.builder()
                .setBaseModel(TestModels.tinyEncoder(manager, 2, DataType.FLOAT32))
                .build();
        fresh.loadAdapter(dir, "default");
        fresh.loadAdapter(dir.resolve("other"), "other");
        assertArrayEquals(outDefault, predict(fresh, x), 0f);
        fresh.setActiveAdapter("other");
        assertArrayEquals(outOther, predict(fresh, x), 0f);

        // merge + unmerge restores W to float rounding, not bit for bit
        peft.deleteAdapter("other");
        assertEquals(List.of("default"), peft.getAdapterNames());
        assertEquals("default", peft.getActiveAdapter());
        assertArrayEquals(outDefault, predict(peft, x), 1e-6f);
        peft.deleteAdapter("default");
        assertArrayEquals(baseOut, predict(peft, x), 1e-6f, "no adapter left: the base model");
        assertThrows(IllegalArgumentException.class, () -> peft.setActiveAdapter("default"));
    }

    private static double maxDiff(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d;
    }
}
