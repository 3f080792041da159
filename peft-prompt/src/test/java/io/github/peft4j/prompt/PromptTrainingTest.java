package io.github.peft4j.prompt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import io.github.peft4j.models.decoder.CausalLanguageModel;
import io.github.peft4j.models.decoder.Decoders;
import io.github.peft4j.testing.TinyDecoders;
import io.github.peft4j.train.CausalLmData;
import io.github.peft4j.train.CausalLmLoss;
import io.github.peft4j.train.FineTuneConfig;
import io.github.peft4j.train.FineTuner;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Prompt and prefix tuning train with the loop like any adapter: the loss falls, only {@code prompt_embeddings}
 * changes, and a run stopped at step 3 and resumed from its checkpoint ends bit for bit where the uninterrupted run
 * ends.
 */
class PromptTrainingTest {

    @TempDir
    Path tmp;

    private static CausalLmData data() {
        // a learnable pattern: each sequence counts up from a random start
        SplittableRandom r = new SplittableRandom(3);
        List<long[]> ids = new ArrayList<>();
        List<boolean[]> counted = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            long start = 10 + r.nextInt(200);
            long[] s = new long[10];
            for (int t = 0; t < s.length; t++) {
                s[t] = start + t;
            }
            boolean[] c = new boolean[s.length];
            Arrays.fill(c, true);
            ids.add(s);
            counted.add(c);
        }
        return new CausalLmData(ids, counted, 0);
    }

    private PromptLearningModel model(String method, NDManager m, Path dir) throws IOException {
        CausalLanguageModel base = Decoders.load(dir.resolve("base"), m);
        PromptLearningConfig c = method.equals("prompt")
                ? PromptTuningConfig.forModel(base.getConfig(), 4, PromptTuningInit.SAMPLE_VOCAB)
                : PrefixTuningConfig.forModel(base.getConfig(), 4);
        return PromptLearningModel.create(base, c, 5, null);
    }

    private static FineTuner.Result fit(PromptLearningModel model, Path out, Path resume, long stopAfter)
            throws IOException {
        return FineTuner.builder()
                .setModel(model)
                .setConfig(FineTuneConfig.builder()
                        .optLearningRate(5e-2)
                        .optBatchSize(8)
                        .optMaxSteps(6)
                        .optCheckpointEvery(1)
                        .optSeed(2)
                        .build())
                .optLoss(new CausalLmLoss())
                .optStopAfterStep(stopAfter)
                .build()
                .fit(data(), out, resume);
    }

    /** The loss over all 32 sequences. */
    private static double loss(PromptLearningModel model, NDManager m) {
        CausalLmData d = data();
        int[] all = new int[d.size()];
        for (int i = 0; i < all.length; i++) {
            all[i] = i;
        }
        try (NDManager s = m.newSubManager()) {
            NDArray out = model.forward(new ParameterStore(s, false), d.inputs(all, s), false)
                    .singletonOrThrow();
            return new CausalLmLoss()
                    .evaluate(new NDList(d.labels(all, s)), new NDList(out))
                    .getFloat();
        }
    }

    private static Map<String, float[]> values(PromptLearningModel m) {
        Map<String, float[]> out = new LinkedHashMap<>();
        m.getParameters()
                .forEach(p -> out.put(p.getKey(), p.getValue().getArray().toFloatArray()));
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"prompt", "prefix"})
    void trainsOnlyTheVirtualTokensAndResumesExactly(String method) throws IOException {
        Path dir = TinyDecoders.copy("llama", tmp);
        try (NDManager m = NDManager.newBaseManager()) {
            PromptLearningModel whole = model(method, m, dir);
            Map<String, float[]> before = values(whole);
            double first = loss(whole, m);
            fit(whole, tmp.resolve("whole"), null, Long.MAX_VALUE);
            double last = loss(whole, m);
            assertTrue(last < first, method + ": loss on the whole data " + first + " → " + last);
            Map<String, float[]> after = values(whole);
            Parameter prompt = whole.getPromptEmbeddings();
            before.forEach((k, v) -> {
                boolean moved = !Arrays.equals(v, after.get(k));
                assertEquals(k.endsWith(PromptLearningModel.TENSOR), moved, k);
            });
            assertTrue(prompt.requiresGradient());

            Path out = tmp.resolve("split");
            fit(model(method, m, dir), out, null, 3);
            PromptLearningModel resumed = model(method, m, dir);
            fit(resumed, out, out.resolve(FineTuner.CHECKPOINT), Long.MAX_VALUE);
            assertArrayEquals(
                    prompt.getArray().toFloatArray(),
                    resumed.getPromptEmbeddings().getArray().toFloatArray(),
                    0f);
        }
    }
}
