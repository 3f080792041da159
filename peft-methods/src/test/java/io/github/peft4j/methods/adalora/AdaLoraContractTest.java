package io.github.peft4j.methods.adalora;

import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.testing.AdapterContract;
import io.github.peft4j.testing.AdapterProfile;
import java.util.stream.Stream;

/**
 * AdaLoRA in the shared adapter contract suite. The exact-resume case trains with a schedule that prunes at every step
 * from step 2 to the end (8 steps), so the run resumed at step 3 continues from a checkpoint holding the importance
 * scores and masks.
 */
class AdaLoraContractTest extends AdapterContract {

    private static AdaLoraConfig.Builder builder() {
        return AdaLoraConfig.builder()
                .setTargetModules(ModuleSelector.allLinear())
                .optRanks(4, 2)
                // A, B start at N(0, 0.02²) and E at 0: a large α lets the 30-step training check see the loss fall
                .optAlpha(400)
                .optSchedule(1, 2, 1)
                .setTotalStep(TRAIN_STEPS);
    }

    @Override
    protected Stream<AdapterProfile> profiles() {
        return Stream.of(AdapterProfile.onMlp(
                "adalora r 4 → 2 on all linear layers of an MLP",
                builder().build(),
                builder().optInitWeights(false).build(),
                builder().optInitWeights(false).build(),
                true));
    }
}
