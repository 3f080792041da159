package io.github.peft4j.sparse.dsee;

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

/** DSEE's profiles in the shared adapter contract suite: the activation path and the weight path. */
class DseeContractTest extends AdapterContract {

    private static DseeConfig.Builder builder() {
        return DseeConfig.builder()
                .setTargetModules(ModuleSelector.allLinear())
                .optLowRank(2, 4)
                .optSparseCount(10)
                .optDecompositionRank(2);
    }

    private record WeightPath() implements AdapterProfile {
        @Override
        public String name() {
            return "dsee r=2 + 10 sparse entries on the weight path";
        }

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
            return builder().build();
        }

        @Override
        public AdapterConfig nonIdentityConfig() {
            return builder().optInitWeights(false).build();
        }

        @Override
        public InjectionMode injectionMode() {
            return InjectionMode.WEIGHT;
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
                        "dsee r=2 + 10 sparse entries on all linear layers of an MLP",
                        builder().build(),
                        builder().optInitWeights(false).build()),
                new WeightPath());
    }
}
