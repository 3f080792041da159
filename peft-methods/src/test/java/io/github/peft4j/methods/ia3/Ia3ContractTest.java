package io.github.peft4j.methods.ia3;

import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.testing.AdapterContract;
import io.github.peft4j.testing.AdapterProfile;
import java.util.stream.Stream;

/** IA³'s profiles in the shared adapter contract suite: output scales, and an input scale on a feed-forward layer. */
class Ia3ContractTest extends AdapterContract {

    private static Ia3Config.Builder builder(boolean feedforward) {
        Ia3Config.Builder b = Ia3Config.builder().setTargetModules(ModuleSelector.allLinear());
        return feedforward ? b.optFeedforwardModules("2") : b;
    }

    private static AdapterProfile profile(String name, boolean feedforward) {
        return AdapterProfile.onMlp(
                name,
                builder(feedforward).build(),
                builder(feedforward).optInitWeights(false).build());
    }

    @Override
    protected Stream<AdapterProfile> profiles() {
        return Stream.of(
                profile("ia3 output scales on all linear layers of an MLP", false),
                profile("ia3 with a feed-forward (input-scaled) middle layer", true));
    }
}
