package io.github.peft4j.methods.vera;

import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.testing.AdapterContract;
import io.github.peft4j.testing.AdapterProfile;
import java.util.stream.Stream;

/** VeRA's profiles in the shared adapter contract suite. */
class VeraContractTest extends AdapterContract {

    private static VeraConfig.Builder builder(int rank, boolean save) {
        return VeraConfig.builder()
                .setTargetModules(ModuleSelector.allLinear())
                .optRank(rank)
                .optProjectionPrngKey(7)
                .optSaveProjection(save);
    }

    private static AdapterProfile profile(String name, int rank, boolean save) {
        return AdapterProfile.onMlp(
                name,
                builder(rank, save).build(),
                builder(rank, save).optInitWeights(false).build());
    }

    @Override
    protected Stream<AdapterProfile> profiles() {
        return Stream.of(
                profile("vera r=4 on all linear layers of an MLP, projections saved", 4, true),
                profile("vera r=16, projections regenerated from the key", 16, false));
    }
}
