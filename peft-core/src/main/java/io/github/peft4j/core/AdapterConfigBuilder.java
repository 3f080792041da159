package io.github.peft4j.core;

import java.util.List;

/**
 * What every config builder shares: the {@link Targets} part ({@code setTargetModules} is required; exclusions,
 * modules saved whole, task type and base model are optional). A method's builder extends it and adds its own
 * settings.
 *
 * @param <B> the concrete builder
 */
public abstract class AdapterConfigBuilder<B extends AdapterConfigBuilder<B>> {

    private ModuleSelector targetModules;
    private ModuleSelector excludeModules = ModuleSelector.none();
    private List<String> modulesToSave = List.of();
    private String taskType;
    private String baseModelNameOrPath;

    /** Creates the builder. */
    protected AdapterConfigBuilder() {}

    /**
     * Returns this builder as its concrete type.
     *
     * @return this
     */
    protected abstract B self();

    /**
     * Sets the modules to adapt by name (exact path or suffix after a dot), or {@code "all-linear"}.
     *
     * @param names e.g. {@code "query", "value"}
     * @return this builder
     */
    public B setTargetModules(String... names) {
        return setTargetModules(
                names.length == 1 && ModuleSelector.ALL_LINEAR.equals(names[0])
                        ? ModuleSelector.allLinear()
                        : ModuleSelector.names(names));
    }

    /**
     * Sets the modules to adapt.
     *
     * @param selector names, a regex or all-linear
     * @return this builder
     */
    public B setTargetModules(ModuleSelector selector) {
        this.targetModules = selector;
        return self();
    }

    /**
     * Sets modules never adapted.
     *
     * @param selector the modules
     * @return this builder
     */
    public B optExcludeModules(ModuleSelector selector) {
        this.excludeModules = selector;
        return self();
    }

    /**
     * Sets modules trained fully and saved whole (e.g. {@code classifier}).
     *
     * @param modules module names
     * @return this builder
     */
    public B optModulesToSave(List<String> modules) {
        this.modulesToSave = List.copyOf(modules);
        return self();
    }

    /**
     * Sets modules trained fully and saved whole.
     *
     * @param modules module names
     * @return this builder
     */
    public B optModulesToSave(String... modules) {
        return optModulesToSave(List.of(modules));
    }

    /**
     * Sets the task type written to the config ({@code SEQ_CLS}, {@code FEATURE_EXTRACTION}, ...).
     *
     * @param taskType the task type or null
     * @return this builder
     */
    public B optTaskType(String taskType) {
        this.taskType = taskType;
        return self();
    }

    /**
     * Records the base model's name or path in the config.
     *
     * @param base the name or path, or null
     * @return this builder
     */
    public B optBaseModelNameOrPath(String base) {
        this.baseModelNameOrPath = base;
        return self();
    }

    /**
     * Copies every shared field from a {@link Targets} (e.g. of another config).
     *
     * @param targets the targets
     * @return this builder
     */
    public B optTargets(Targets targets) {
        this.targetModules = targets.targetModules();
        this.excludeModules = targets.excludeModules();
        this.modulesToSave = targets.modulesToSave();
        this.taskType = targets.taskType();
        this.baseModelNameOrPath = targets.baseModelNameOrPath();
        return self();
    }

    /**
     * Builds the shared part, for the concrete builder's {@code build()}.
     *
     * @param config the config's name for the message, e.g. {@code LoraConfig}
     * @return the targets
     * @throws IllegalArgumentException if no target modules were set
     */
    protected Targets buildTargets(String config) {
        if (targetModules == null) {
            throw new IllegalArgumentException(config + ".target_modules is required: e.g. setTargetModules("
                    + "\"query\", \"value\"), \"all-linear\" or a regex (ModuleSelector.regex)");
        }
        return new Targets(targetModules, excludeModules, modulesToSave, taskType, baseModelNameOrPath);
    }
}
