package io.github.peft4j.testing;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.InjectionMode;
import io.github.peft4j.core.testing.TestModels;

/**
 * One case of the adapter contract suite: a model, a method config and the method's quirks. A new method joins the
 * suite by adding profiles; the checks themselves live in {@link AdapterContract}.
 */
public interface AdapterProfile {

    /**
     * A profile on the test MLP ({@code TestModels.mlp}: layers {@code 0} 8→16, {@code 2} 16→16, {@code 4} 16→4;
     * input [5, 8]) with the method's defaults otherwise.
     *
     * @param name the case name
     * @param config the config with the identity initialization
     * @param nonIdentity a config whose adapter changes the outputs at init
     * @return the profile
     */
    static AdapterProfile onMlp(String name, AdapterConfig config, AdapterConfig nonIdentity) {
        return onMlp(name, config, nonIdentity, config, true);
    }

    /**
     * A profile on the test MLP with the method's training config and whether it merges.
     *
     * @param name the case name
     * @param config the config with the identity initialization
     * @param nonIdentity a config whose adapter changes the outputs at init
     * @param training the config the exact-resume check trains with
     * @param mergeable whether the method merges into the weights ({@link #mergeable()})
     * @return the profile
     */
    static AdapterProfile onMlp(
            String name, AdapterConfig config, AdapterConfig nonIdentity, AdapterConfig training, boolean mergeable) {
        return new AdapterProfile() {
            @Override
            public String name() {
                return name;
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
                return config;
            }

            @Override
            public AdapterConfig nonIdentityConfig() {
                return nonIdentity;
            }

            @Override
            public AdapterConfig trainingConfig() {
                return training;
            }

            @Override
            public boolean mergeable() {
                return mergeable;
            }

            @Override
            public String toString() {
                return name;
            }
        };
    }

    /**
     * Returns the case name shown in test reports.
     *
     * @return the name
     */
    String name();

    /**
     * Builds the base model with deterministic weights.
     *
     * @param manager owns the weights
     * @return an initialized block
     */
    Block newBaseModel(NDManager manager);

    /**
     * Returns the input shape (batch first).
     *
     * @return the shape
     */
    Shape inputShape();

    /**
     * Returns the config with the method's default (identity) initialization.
     *
     * @return the config
     */
    AdapterConfig config();

    /**
     * Returns a config whose adapter is not the identity at init, so merge and round-trip checks cannot pass
     * trivially.
     *
     * @return the config
     */
    AdapterConfig nonIdentityConfig();

    /**
     * Whether the method merges into the base weights; for one that does not (a nonlinear adapter), the merge checks
     * expect {@code merge()} and {@code mergeAndUnload()} to refuse, leaving the weights unchanged.
     *
     * @return true by default
     */
    default boolean mergeable() {
        return true;
    }

    /**
     * Makes a freshly wrapped adapter non-identity, for methods whose every init is the identity (SaRA starts from
     * W's own values), so the merge and round-trip checks cannot pass trivially. Does nothing by default (the
     * {@link #nonIdentityConfig()} suffices).
     *
     * @param model the model holding the adapter named {@code default}
     * @param seed a seed for the perturbation
     */
    default void perturb(io.github.peft4j.core.PeftModel model, long seed) {}

    /**
     * Returns the config the exact-resume check trains with: by default {@link #config()}; methods whose state
     * changes during training (SaRA's re-selection, SpIEL's regrowth) schedule that change inside the check's steps
     * ({@link AdapterContract#RESUME_AT} and {@link AdapterContract#TRAIN_STEPS}).
     *
     * @return the config
     */
    default AdapterConfig trainingConfig() {
        return config();
    }

    /**
     * Prepares a freshly wrapped adapter for training, e.g. a data-free initializer (PiSSA). The exact-resume check
     * runs it on the models it trains from the start, never on the resumed one: what it did must come back from the
     * checkpoint. Nothing by default.
     *
     * @param model the model holding the adapter named {@code default}
     */
    default void prepareTraining(io.github.peft4j.core.PeftModel model) {}

    /**
     * Returns the injection mode to wrap with.
     *
     * @return the mode
     */
    default InjectionMode injectionMode() {
        return InjectionMode.AUTO;
    }

    /**
     * Returns the absolute tolerance of the adapted model's outputs at init against the base model's: 0 (bit for
     * bit) unless the method recomputes a normalisation that equals 1 only up to rounding (DoRA's m/n).
     *
     * @return the tolerance
     */
    default double identityTolerance() {
        return 0;
    }

    /**
     * Returns the relative tolerance of merged versus unmerged outputs.
     *
     * @return the tolerance
     */
    default double mergeTolerance() {
        return 1e-5;
    }

    /**
     * Returns the data type of the base model.
     *
     * @return the type
     */
    default DataType dataType() {
        return DataType.FLOAT32;
    }
}
