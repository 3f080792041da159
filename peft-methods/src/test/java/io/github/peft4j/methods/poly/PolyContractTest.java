package io.github.peft4j.methods.poly;

import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.testing.AdapterContract;
import io.github.peft4j.testing.AdapterProfile;
import java.util.stream.Stream;

/**
 * Poly and MHR in the shared adapter contract suite (one task, so rows need no task ids; the routing by task is
 * {@link PolyGoldenTest}'s); merging must be refused, leaving the weights as they are.
 */
class PolyContractTest extends AdapterContract {

    private static PolyConfig.Builder builder(int skills, int splits) {
        return PolyConfig.builder()
                .setTargetModules(ModuleSelector.allLinear())
                .optRank(4)
                .optSkills(skills)
                .optSplits(splits);
    }

    private static AdapterProfile profile(String name, int skills, int splits) {
        AdapterConfig c = builder(skills, splits).build();
        return AdapterProfile.onMlp(
                name, c, builder(skills, splits).optInitWeights(false).build(), c, false);
    }

    @Override
    protected Stream<AdapterProfile> profiles() {
        return Stream.of(
                profile("Poly r=4, 3 skills on all linear layers of an MLP", 3, 1),
                profile("MHR r=4, 4 skills × 2 splits", 4, 2));
    }
}
