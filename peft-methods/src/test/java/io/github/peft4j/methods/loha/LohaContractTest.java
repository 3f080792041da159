package io.github.peft4j.methods.loha;

import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.testing.AdapterContract;
import io.github.peft4j.testing.AdapterProfile;
import java.util.stream.Stream;

/** LoHa's profiles in the shared adapter contract suite. */
class LohaContractTest extends AdapterContract {

    private static LohaConfig.Builder builder(int rank) {
        return LohaConfig.builder()
                .setTargetModules(ModuleSelector.allLinear())
                .optRank(rank)
                .optAlpha(2 * rank);
    }

    private static AdapterProfile profile(String name, int rank) {
        return AdapterProfile.onMlp(
                name, builder(rank).build(), builder(rank).optInitWeights(false).build());
    }

    @Override
    protected Stream<AdapterProfile> profiles() {
        return Stream.of(
                profile("loha r=2 on all linear layers of an MLP", 2), profile("loha r=4 on all linear layers", 4));
    }
}
