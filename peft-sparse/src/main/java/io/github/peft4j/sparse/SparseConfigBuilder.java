package io.github.peft4j.sparse;

import io.github.peft4j.core.AdapterConfigBuilder;

/**
 * What the builders of SaRA's and SpIEL's configs add to the shared targets: the gradient mode.
 *
 * @param <B> the concrete builder
 */
public abstract class SparseConfigBuilder<B extends SparseConfigBuilder<B>> extends AdapterConfigBuilder<B> {

    /** {@code sparse_gradient}. */
    protected GradientMode gradient = GradientMode.AUTO;

    /** Creates the builder. */
    protected SparseConfigBuilder() {}

    /**
     * Sets how the values' gradient is computed (default {@link GradientMode#AUTO}).
     *
     * @param mode the mode
     * @return this
     */
    public B optGradient(GradientMode mode) {
        this.gradient = mode;
        return self();
    }
}
