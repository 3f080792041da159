package io.github.peft4j.core;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import java.util.Objects;

/** Builds a {@link PeftModel}: {@code setBaseModel} is required, the first adapter's config optional. */
public final class PeftModelBuilder {
    private Block base;
    private AdapterConfig config;
    private String adapterName = PeftModel.DEFAULT_ADAPTER;
    private long seed = 42;
    private InjectionMode injectionMode = InjectionMode.AUTO;
    private NDManager manager;

    PeftModelBuilder() {}

    /**
     * Sets the base model, its weights initialized or loaded.
     *
     * @param base the block to adapt
     * @return this builder
     */
    public PeftModelBuilder setBaseModel(Block base) {
        this.base = base;
        return this;
    }

    /**
     * Sets the config of the first adapter (optional: without it the model starts with no adapter, e.g. to
     * {@link PeftModel#loadAdapter} one).
     *
     * @param config the config
     * @return this builder
     */
    public PeftModelBuilder setConfig(AdapterConfig config) {
        this.config = config;
        return this;
    }

    /**
     * Names the first adapter.
     *
     * @param name the name (default {@value PeftModel#DEFAULT_ADAPTER})
     * @return this builder
     */
    public PeftModelBuilder optAdapterName(String name) {
        this.adapterName = name;
        return this;
    }

    /**
     * Sets the seed of adapter initialization (default 42). Each layer draws from its own stream derived from
     * the seed, the adapter name and the layer path.
     *
     * @param seed the seed
     * @return this builder
     */
    public PeftModelBuilder optSeed(long seed) {
        this.seed = seed;
        return this;
    }

    /**
     * Chooses how adapters reach layers (default {@link InjectionMode#AUTO}).
     *
     * @param mode the mode
     * @return this builder
     */
    public PeftModelBuilder optInjectionMode(InjectionMode mode) {
        this.injectionMode = Objects.requireNonNull(mode, "mode");
        return this;
    }

    /**
     * Sets the manager that owns adapter arrays (default: a sub-manager of the base weights' manager).
     *
     * @param manager the manager
     * @return this builder
     */
    public PeftModelBuilder optManager(NDManager manager) {
        this.manager = manager;
        return this;
    }

    Block base() {
        return base;
    }

    long seed() {
        return seed;
    }

    InjectionMode injectionMode() {
        return injectionMode;
    }

    NDManager manager() {
        return manager;
    }

    /**
     * Wraps the base model and injects the first adapter.
     *
     * @return the model
     * @throws IllegalArgumentException if the config does not fit the model
     */
    public PeftModel build() {
        Objects.requireNonNull(base, "PeftModelBuilder.setBaseModel is required");
        PeftModel m = new PeftModel(this);
        if (config != null) {
            try {
                m.addAdapter(adapterName, config);
            } catch (RuntimeException e) {
                m.unloadAll(); // give the base model its trainability back
                throw e;
            }
        }
        return m;
    }
}
