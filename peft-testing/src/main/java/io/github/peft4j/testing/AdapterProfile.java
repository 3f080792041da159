package io.github.peft4j.testing;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.InjectionMode;

/**
 * One case of the adapter contract suite: a model, a method config and the method's quirks. A new method joins the
 * suite by adding profiles; the checks themselves live in {@link AdapterContract}.
 */
public interface AdapterProfile {

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
