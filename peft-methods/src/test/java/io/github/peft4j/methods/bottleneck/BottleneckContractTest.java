package io.github.peft4j.methods.bottleneck;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.testing.AdapterContract;
import io.github.peft4j.testing.AdapterProfile;
import java.util.stream.Stream;

/** Bottleneck adapters in the shared adapter contract suite; merging must be refused, leaving the weights as they are. */
class BottleneckContractTest extends AdapterContract {

    private static BottleneckConfig.Builder builder(double k, NonLinearity f) {
        return BottleneckConfig.builder()
                .setTargetModules(ModuleSelector.allLinear())
                .optReductionFactor(k)
                .optNonLinearity(f);
    }

    private record Profile(String name, double k, NonLinearity f) implements AdapterProfile {
        private AdapterProfile mlp() {
            return AdapterProfile.onMlp(
                    name,
                    builder(k, f).build(),
                    builder(k, f).optInitWeights(false).build());
        }

        @Override
        public Block newBaseModel(NDManager manager) {
            return mlp().newBaseModel(manager);
        }

        @Override
        public Shape inputShape() {
            return mlp().inputShape();
        }

        @Override
        public AdapterConfig config() {
            return mlp().config();
        }

        @Override
        public AdapterConfig nonIdentityConfig() {
            return mlp().nonIdentityConfig();
        }

        @Override
        public boolean mergeable() {
            return false;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    @Override
    protected Stream<AdapterProfile> profiles() {
        return Stream.of(
                new Profile("bottleneck k=4 relu on all linear layers of an MLP", 4, NonLinearity.RELU),
                new Profile("bottleneck k=2 gelu", 2, NonLinearity.GELU));
    }
}
