package io.github.peft4j.ssf;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.core.testing.TestModels;
import io.github.peft4j.testing.AdapterContract;
import io.github.peft4j.testing.AdapterProfile;
import java.util.stream.Stream;

/** SSF's profile in the shared adapter contract suite. */
class SsfContractTest extends AdapterContract {

    @Override
    protected Stream<AdapterProfile> profiles() {
        AdapterProfile mlp = new AdapterProfile() {
            @Override
            public String name() {
                return "ssf all linear layers of an MLP";
            }

            @Override
            public Block newBaseModel(NDManager manager) {
                return TestModels.mlp(manager, 1, DataType.FLOAT32);
            }

            @Override
            public Shape inputShape() {
                return new Shape(5, 8);
            }

            @Override
            public AdapterConfig config() {
                // the paper's init is not the identity: the identity check uses the identity init
                return SsfConfig.builder()
                        .setTargetModules(ModuleSelector.allLinear())
                        .optInit(SsfInit.IDENTITY)
                        .build();
            }

            @Override
            public AdapterConfig nonIdentityConfig() {
                return SsfConfig.builder()
                        .setTargetModules(ModuleSelector.allLinear())
                        .optInitStd(0.2)
                        .build();
            }

            @Override
            public String toString() {
                return name();
            }
        };
        return Stream.of(mlp);
    }
}
