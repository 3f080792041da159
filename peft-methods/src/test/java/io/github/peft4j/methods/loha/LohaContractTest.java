package io.github.peft4j.methods.loha;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.core.testing.TestModels;
import io.github.peft4j.testing.AdapterContract;
import io.github.peft4j.testing.AdapterProfile;
import java.util.stream.Stream;

/** LoHa's profile in the shared adapter contract suite. */
class LohaContractTest extends AdapterContract {

    private static AdapterProfile profile(String name, int rank) {
        return new AdapterProfile() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Block newBaseModel(NDManager manager) {
                return TestModels.mlp(manager, 1, DataType.FLOAT32);
            }

            @Override
            public Shape inputShape() {
                return new Shape(5, 8);
            }

            private LohaConfig.Builder builder() {
                return LohaConfig.builder()
                        .setTargetModules(ModuleSelector.allLinear())
                        .optRank(rank)
                        .optAlpha(2 * rank);
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
            public String toString() {
                return name;
            }
        };
    }

    @Override
    protected Stream<AdapterProfile> profiles() {
        return Stream.of(
                profile("loha r=2 on all linear layers of an MLP", 2), profile("loha r=4 on all linear layers", 4));
    }
}
