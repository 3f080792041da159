package io.github.peft4j.methods.lokr;

import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.testing.AdapterContract;
import io.github.peft4j.testing.AdapterProfile;
import java.util.stream.Stream;

/** LoKr's profiles in the shared adapter contract suite: full factors, and both factors decomposed. */
class LokrContractTest extends AdapterContract {

    private static LokrConfig.Builder builder(int rank, boolean both) {
        return LokrConfig.builder()
                .setTargetModules(ModuleSelector.allLinear())
                .optRank(rank)
                .optAlpha(2 * rank)
                .optDecomposeBoth(both);
    }

    private static AdapterProfile profile(String name, int rank, boolean both) {
        return AdapterProfile.onMlp(
                name,
                builder(rank, both).build(),
                builder(rank, both).optInit(LokrInit.RANDOM).build());
    }

    @Override
    protected Stream<AdapterProfile> profiles() {
        return Stream.of(
                profile("lokr r=8 (full factors) on all linear layers of an MLP", 8, false),
                profile("lokr r=1, both factors decomposed", 1, true));
    }
}
