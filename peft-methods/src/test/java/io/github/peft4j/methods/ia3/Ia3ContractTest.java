package io.github.peft4j.methods.ia3;

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

/** IA³'s profiles in the shared adapter contract suite: output scales, and an input scale on a feed-forward layer. */
class Ia3ContractTest extends AdapterContract {

    private static AdapterProfile profile(String name, boolean feedforward) {
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

            private Ia3Config.Builder builder() {
                Ia3Config.Builder b = Ia3Config.builder().setTargetModules(ModuleSelector.allLinear());
                return feedforward ? b.optFeedforwardModules("2") : b;
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
                profile("ia3 output scales on all linear layers of an MLP", false),
                profile("ia3 with a feed-forward (input-scaled) middle layer", true));
    }
}
