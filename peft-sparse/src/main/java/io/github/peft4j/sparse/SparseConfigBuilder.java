package io.github.peft4j.sparse;

import io.github.peft4j.core.ModuleSelector;

import java.util.List;

/**
 * What the builders of SaRA's and SpIEL's configs share: the modules to adapt, exclude and save whole, the gradient
 * mode and the bookkeeping fields.
 *
 * @param <B> the concrete builder
 */
public abstract class SparseConfigBuilder<B extends SparseConfigBuilder<B>> {

    /** {@code target_modules}. */
    protected ModuleSelector targets;
    /** {@code exclude_modules}. */
    protected ModuleSelector exclude;
    /** {@code modules_to_save}. */
    protected List<String> modulesToSave = List.of();
    /** {@code task_type}. */
    protected String taskType;
    /** {@code base_model_name_or_path}. */
    protected String base;
    /** {@code sparse_gradient}. */
    protected GradientMode gradient = GradientMode.AUTO;

    /** Creates the builder. */
    protected SparseConfigBuilder() {}

    /**
     * Returns this builder as its concrete type.
     *
     * @return this
     */
    protected abstract B self();

    /**
     * Sets the target modules by name (exact path or suffix), or {@code all-linear}.
     *
     * @param names the names
     * @return this
     */
    public B setTargetModules(String... names) {
        this.targets = names.length == 1 && names[0].equals(ModuleSelector.ALL_LINEAR) ? ModuleSelector.allLinear()
                : ModuleSelector.names(names);
        return self();
    }

    /**
     * Sets the target modules.
     *
     * @param selector the selector
     * @return this
     */
    public B setTargetModules(ModuleSelector selector) {
        this.targets = selector;
        return self();
    }

    /**
     * Sets modules never adapted.
     *
     * @param selector the selector
     * @return this
     */
    public B optExcludeModules(ModuleSelector selector) {
        this.exclude = selector;
        return self();
    }

    /**
     * Sets modules trained fully and saved whole (e.g. a classifier head).
     *
     * @param modules names
     * @return this
     */
    public B optModulesToSave(String... modules) {
        this.modulesToSave = List.of(modules);
        return self();
    }

    /**
     * Sets the task type.
     *
     * @param t e.g. {@code SEQ_CLS}
     * @return this
     */
    public B optTaskType(String t) {
        this.taskType = t;
        return self();
    }

    /**
     * Sets the base model name or path recorded in the file.
     *
     * @param b the name
     * @return this
     */
    public B optBaseModelNameOrPath(String b) {
        this.base = b;
        return self();
    }

    /**
     * Sets how the values' gradient is computed.
     *
     * @param mode the mode
     * @return this
     */
    public B optGradient(GradientMode mode) {
        this.gradient = mode;
        return self();
    }

    /**
     * Fails when no target was set.
     *
     * @param config the config's name for the message
     */
    protected void requireTargets(String config) {
        if (targets == null) {
            throw new IllegalArgumentException(config + ".target_modules is required (module names, \"all-linear\""
                    + " or a regex)");
        }
    }
}
