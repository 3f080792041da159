package io.github.peft4j.lora;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.InjectionMode;
import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.core.testing.TestModels;
import io.github.peft4j.testing.AdapterContract;
import io.github.peft4j.testing.AdapterProfile;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;

/** LoRA's profiles in the shared adapter contract suite. */
class LoraContractTest extends AdapterContract {

    record Profile(
            String name,
            Function<NDManager, Block> model,
            Shape inputShape,
            LoraConfig config,
            InjectionMode injectionMode)
            implements AdapterProfile {
        @Override
        public Block newBaseModel(NDManager manager) {
            return model.apply(manager);
        }

        @Override
        public AdapterConfig nonIdentityConfig() {
            return config.toBuilder().optInit(LoraInit.RANDOM).build();
        }

        @Override
        public double identityTolerance() {
            // DoRA's m/n is 1 only up to float rounding: m and n are the same norm reduced in different buffers
            return config.useDora() ? 1e-6 : 0;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<AdapterProfile> loraProfiles() {
        Function<NDManager, Block> mlp = m -> TestModels.mlp(m, 1, ai.djl.ndarray.types.DataType.FLOAT32);
        Function<NDManager, Block> enc = m -> TestModels.tinyEncoder(m, 2, ai.djl.ndarray.types.DataType.FLOAT32);
        return Stream.of(
                new Profile(
                        "lora all-linear, activation path (SequentialBlock)",
                        mlp,
                        new Shape(5, 8),
                        LoraConfig.builder()
                                .setTargetModules("all-linear")
                                .optRank(4)
                                .optAlpha(8)
                                .build(),
                        InjectionMode.AUTO),
                new Profile(
                        "lora all-linear, forced weight path",
                        mlp,
                        new Shape(5, 8),
                        LoraConfig.builder()
                                .setTargetModules("all-linear")
                                .optRank(4)
                                .optAlpha(8)
                                .build(),
                        InjectionMode.WEIGHT),
                new Profile(
                        "lora query/value + modules_to_save classifier, weight path",
                        enc,
                        new Shape(6, 16),
                        LoraConfig.builder()
                                .setTargetModules("value", "query")
                                .optRank(8)
                                .optAlpha(16)
                                .optModulesToSave("classifier", "classifier", "score")
                                .optTaskType("SEQ_CLS")
                                .build(),
                        InjectionMode.AUTO),
                new Profile(
                        "rslora regex + rank/alpha patterns + dropout",
                        enc,
                        new Shape(6, 16),
                        LoraConfig.builder()
                                .setTargetModules(ModuleSelector.regex(".*\\.(query|key|value)"))
                                .optRank(4)
                                .optAlpha(8)
                                .optUseRslora(true)
                                .optDropout(0.1)
                                .optRankPattern(Map.of("value", 2))
                                .optAlphaPattern(Map.of("value", 4.0))
                                .optInit(LoraInit.GAUSSIAN)
                                .build(),
                        InjectionMode.AUTO),
                new Profile(
                        "dora all-linear, activation path",
                        mlp,
                        new Shape(5, 8),
                        LoraConfig.builder()
                                .setTargetModules("all-linear")
                                .optRank(4)
                                .optAlpha(8)
                                .optUseDora(true)
                                .build(),
                        InjectionMode.AUTO),
                new Profile(
                        "dora query/value + dropout, weight path",
                        enc,
                        new Shape(6, 16),
                        LoraConfig.builder()
                                .setTargetModules("query", "value")
                                .optRank(4)
                                .optAlpha(8)
                                .optUseDora(true)
                                .optDropout(0.1)
                                .build(),
                        InjectionMode.AUTO));
    }

    @Override
    protected Stream<AdapterProfile> profiles() {
        return loraProfiles();
    }
}
