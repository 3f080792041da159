package io.github.peft4j.methods.ia3;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.AdapterConfigBuilder;
import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.core.Targets;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * IA³: each target layer's output is multiplied by a learned vector l (one value per output feature); a layer that is
 * also a feed-forward module has its input multiplied instead (one value per input feature), as in Python PEFT's
 * {@code IA3Config}. Build with {@link #builder()}.
 *
 * @param targets {@code target_modules}, {@code exclude_modules}, {@code modules_to_save}, {@code task_type},
 *     {@code base_model_name_or_path}
 * @param feedforwardModules {@code feedforward_modules}: the targets whose input, not output, is scaled (each must
 *     also be a target)
 * @param initWeights {@code init_ia3_weights}: l = 1 (the model is unchanged at init); false draws l at random, as
 *     Python does, for tests
 */
public record Ia3Config(Targets targets, ModuleSelector feedforwardModules, boolean initWeights)
        implements AdapterConfig {

    /** The {@code peft_type} of IA³, as in Python PEFT. */
    public static final String PEFT_TYPE = "IA3";

    private static final Logger LOG = LoggerFactory.getLogger(Ia3Config.class);
    private static final List<String> READ = List.of("feedforward_modules", "init_ia3_weights", "fan_in_fan_out");

    /** Validates. */
    public Ia3Config {
        Objects.requireNonNull(targets, "Ia3Config.target_modules");
        feedforwardModules = feedforwardModules == null ? ModuleSelector.none() : feedforwardModules;
    }

    /**
     * Returns a builder (no feed-forward modules, l = 1 at init).
     *
     * @return the builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Whether a target layer scales its input (a feed-forward module) rather than its output.
     *
     * @param path the layer's module path
     * @return true for a feed-forward module
     */
    public boolean isFeedforward(String path) {
        return feedforwardModules.matches(path);
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode o = targets.toJson(PEFT_TYPE);
        o.set("feedforward_modules", feedforwardModules.toJson());
        o.put("init_ia3_weights", initWeights);
        o.put("fan_in_fan_out", false);
        o.put("inference_mode", false);
        return o;
    }

    /**
     * Reads Python PEFT's {@code IA3Config}; unknown keys are ignored with a warning.
     *
     * @param json the object
     * @return the config
     */
    public static Ia3Config fromJson(ObjectNode json) {
        Targets targets = Targets.fromJson(json, PEFT_TYPE, "Ia3Config", READ, LOG);
        return new Ia3Config(
                targets,
                ModuleSelector.fromJson(json.get("feedforward_modules"), "Ia3Config.feedforward_modules"),
                json.path("init_ia3_weights").asBoolean(true));
    }

    /** Builds an {@link Ia3Config}. */
    public static final class Builder extends AdapterConfigBuilder<Builder> {
        private ModuleSelector feedforward = ModuleSelector.none();
        private boolean initWeights = true;

        private Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        /**
         * Sets the feed-forward modules (their input is scaled).
         *
         * @param names module names, matched as target names are
         * @return this builder
         */
        public Builder optFeedforwardModules(String... names) {
            this.feedforward = ModuleSelector.names(names);
            return this;
        }

        /**
         * Sets whether l starts at 1 (default) or at random.
         *
         * @param init true for ones
         * @return this builder
         */
        public Builder optInitWeights(boolean init) {
            this.initWeights = init;
            return this;
        }

        /**
         * Builds the config.
         *
         * @return the config
         */
        public Ia3Config build() {
            return new Ia3Config(buildTargets("Ia3Config"), feedforward, initWeights);
        }
    }
}
