package io.github.peft4j.sparse.sara;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.InjectionMode;
import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.testing.TestModels;
import io.github.peft4j.sparse.GradientMode;
import io.github.peft4j.testing.AdapterContract;
import io.github.peft4j.testing.AdapterProfile;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/** SaRA's profiles in the shared adapter contract suite: SDDMM on the activation path, dense on the weight path. */
class SaraContractTest extends AdapterContract {

    /** SaRA starts from W's own values: perturb them so merge and reload checks cannot pass trivially. */
    static void perturbValues(PeftModel model, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        for (String path : model.getTargetPaths(PeftModel.DEFAULT_ADAPTER)) {
            SaraLayer l = model.getLayerAdapters(PeftModel.DEFAULT_ADAPTER, SaraLayer.class)
                    .get(path);
            float[] v = l.getValues().getArray().toFloatArray();
            for (int i = 0; i < v.length; i++) {
                v[i] += (float) (r.nextDouble() - 0.5) * 0.5f;
            }
            l.setValues(v);
        }
    }

    record Profile(String name, boolean weightPath, GradientMode mode, double fraction) implements AdapterProfile {
        @Override
        public Block newBaseModel(NDManager manager) {
            return weightPath
                    ? TestModels.tinyEncoder(manager, 1, DataType.FLOAT32)
                    : TestModels.mlp(manager, 1, DataType.FLOAT32);
        }

        @Override
        public Shape inputShape() {
            return weightPath ? new Shape(5, 16) : new Shape(5, 8);
        }

        @Override
        public AdapterConfig config() {
            return SaraConfig.builder()
                    .setTargetModules(
                            weightPath ? ModuleSelector.regex(".*(query|value|dense)") : ModuleSelector.allLinear())
                    .optFraction(fraction)
                    .optGradient(mode)
                    .build();
        }

        @Override
        public AdapterConfig nonIdentityConfig() {
            return config();
        }

        /** Re-selection after step 3, where the run is interrupted: the frozen entries must come back. */
        @Override
        public AdapterConfig trainingConfig() {
            return SaraConfig.builder()
                    .setTargetModules(
                            weightPath ? ModuleSelector.regex(".*(query|value|dense)") : ModuleSelector.allLinear())
                    .optFraction(fraction)
                    .optGradient(mode)
                    .optReselectStep(3)
                    .build();
        }

        @Override
        public void perturb(PeftModel model, long seed) {
            perturbValues(model, seed);
        }

        @Override
        public InjectionMode injectionMode() {
            return weightPath ? InjectionMode.WEIGHT : InjectionMode.AUTO;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    @Override
    protected Stream<AdapterProfile> profiles() {
        return Stream.of(
                new Profile("sara 20% SDDMM, activation path", false, GradientMode.SDDMM, 0.2),
                new Profile("sara 10% dense, activation path", false, GradientMode.DENSE, 0.1),
                new Profile("sara 30% weight path", true, GradientMode.AUTO, 0.3));
    }
}
