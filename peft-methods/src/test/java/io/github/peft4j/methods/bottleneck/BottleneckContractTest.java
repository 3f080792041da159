package io.github.peft4j.methods.bottleneck;

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

    private static AdapterProfile profile(String name, double k, NonLinearity f) {
        AdapterConfig c = builder(k, f).build();
        return AdapterProfile.onMlp(name, c, builder(k, f).optInitWeights(false).build(), c, false);
    }

    @Override
    protected Stream<AdapterProfile> profiles() {
        return Stream.of(
                profile("bottleneck k=4 relu on all linear layers of an MLP", 4, NonLinearity.RELU),
                profile("bottleneck k=2 gelu", 2, NonLinearity.GELU));
    }
}
