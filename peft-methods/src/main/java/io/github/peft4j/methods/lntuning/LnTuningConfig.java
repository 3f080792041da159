package io.github.peft4j.methods.lntuning;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.AdapterConfigBuilder;
import io.github.peft4j.core.Targets;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LayerNorm tuning: each target layer (a normalisation such as LayerNorm or RMSNorm, or a linear layer) gets a
 * trainable copy of its parameters that replaces them while the adapter is active, as Python PEFT's
 * {@code LNTuningConfig} (tensors {@code ln_tuning_layers.weight} and {@code .bias}). Build with {@link #builder()}.
 *
 * @param targets {@code target_modules}, {@code exclude_modules}, {@code modules_to_save}, {@code task_type},
 *     {@code base_model_name_or_path}
 */
public record LnTuningConfig(Targets targets) implements AdapterConfig {

    /** The {@code peft_type} of LayerNorm tuning, as in Python PEFT. */
    public static final String PEFT_TYPE = "LN_TUNING";

    private static final Logger LOG = LoggerFactory.getLogger(LnTuningConfig.class);

    /** Validates. */
    public LnTuningConfig {
        Objects.requireNonNull(targets, "LnTuningConfig.target_modules");
    }

    /**
     * Returns a builder.
     *
     * @return the builder
     */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode o = targets.toJson(PEFT_TYPE);
        o.put("inference_mode", false);
        return o;
    }

    /**
     * Reads Python PEFT's {@code LNTuningConfig}; unknown keys are ignored with a warning.
     *
     * @param json the object
     * @return the config
     */
    public static LnTuningConfig fromJson(ObjectNode json) {
        return new LnTuningConfig(Targets.fromJson(json, PEFT_TYPE, "LnTuningConfig", List.of(), LOG));
    }

    /** Builds an {@link LnTuningConfig}. */
    public static final class Builder extends AdapterConfigBuilder<Builder> {

        private Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        /**
         * Builds the config.
         *
         * @return the config
         */
        public LnTuningConfig build() {
            return new LnTuningConfig(buildTargets("LnTuningConfig"));
        }
    }
}
