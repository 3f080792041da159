package io.github.peft4j.methods.lntuning;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.testing.TestModels;
import io.github.peft4j.models.HfLayerNorm;
import io.github.peft4j.models.decoder.RmsNorm;
import io.github.peft4j.testing.AdapterContract;
import io.github.peft4j.testing.AdapterProfile;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * LayerNorm tuning in the shared adapter contract suite, on an MLP with a LayerNorm (module {@code 1}, weight and bias)
 * and an RMSNorm (module {@code 4}, weight only). Its copies start equal to the layers, so the merge and round-trip
 * checks perturb them first.
 */
class LnTuningContractTest extends AdapterContract {

    private record Profile(String name, String... targets) implements AdapterProfile {
        @Override
        public Block newBaseModel(NDManager manager) {
            SequentialBlock b = new SequentialBlock()
                    .add(Linear.builder().setUnits(16).build())
                    .add(new HfLayerNorm(16, 1e-5f))
                    .add(Activation::tanh)
                    .add(Linear.builder().setUnits(16).build())
                    .add(new RmsNorm(16, 1e-6))
                    .add(Linear.builder().setUnits(4).build());
            b.initialize(manager, DataType.FLOAT32, new Shape(1, 8));
            TestModels.fill(b, 1);
            return b;
        }

        @Override
        public Shape inputShape() {
            return new Shape(5, 8);
        }

        @Override
        public AdapterConfig config() {
            return LnTuningConfig.builder().setTargetModules(targets).build();
        }

        @Override
        public AdapterConfig nonIdentityConfig() {
            return config();
        }

        @Override
        public void perturb(PeftModel model, long seed) {
            SplittableRandom r = new SplittableRandom(seed);
            for (NDArray a : model.getAdapterTensors(PeftModel.DEFAULT_ADAPTER).values()) {
                float[] v = a.toFloatArray();
                for (int i = 0; i < v.length; i++) {
                    v[i] += (float) (r.nextDouble() - 0.5) * 0.5f;
                }
                try (NDArray t = a.stopGradient();
                        NDArray nv = t.getManager().create(v, t.getShape())) {
                    t.set(new NDIndex("..."), nv);
                }
            }
        }

        @Override
        public String toString() {
            return name;
        }
    }

    @Override
    protected Stream<AdapterProfile> profiles() {
        return Stream.of(
                new Profile("ln_tuning on a LayerNorm and an RMSNorm", "1", "4"),
                new Profile("ln_tuning on the norms and a linear layer", "1", "3", "4"));
    }
}
