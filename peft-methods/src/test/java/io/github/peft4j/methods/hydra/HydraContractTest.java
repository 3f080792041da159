package io.github.peft4j.methods.hydra;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.InjectionMode;
import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.core.testing.TestModels;
import io.github.peft4j.testing.AdapterContract;
import io.github.peft4j.testing.AdapterProfile;
import java.util.stream.Stream;

/** Hydra's profiles in the shared adapter contract suite: the activation path, and the weight path. */
class HydraContractTest extends AdapterContract {

    private static HydraConfig.Builder builder(int rank) {
        return HydraConfig.builder()
                .setTargetModules(ModuleSelector.allLinear())
                .optRank(rank)
                .optAlpha(2 * rank);
    }

    private record WeightPath() implements AdapterProfile {
        @Override
        public Block newBaseModel(NDManager manager) {
            return TestModels.tinyEncoder(manager, 1, DataType.FLOAT32);
        }

        @Override
        public Shape inputShape() {
            return new Shape(5, 16);
        }

        @Override
        public AdapterConfig config() {
            return builder(2).build();
        }

        @Override
        public AdapterConfig nonIdentityConfig() {
            return builder(2).optInitWeights(false).build();
        }

        @Override
        public InjectionMode injectionMode() {
            return InjectionMode.WEIGHT;
        }

        @Override
        public String name() {
            return "hydra r=2 on the weight path";
        }

        @Override
        public String toString() {
            return name();
        }
    }

    @Override
    protected Stream<AdapterProfile> profiles() {
        return Stream.of(
                AdapterProfile.onMlp(
                        "hydra r=2 on all linear layers of an MLP",
                        builder(2).build(),
                        builder(2).optInitWeights(false).build()),
                new WeightPath());
    }
}
