package io.github.peft4j.methods.bottleneck;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.AdapterConfigBuilder;
import io.github.peft4j.core.Targets;
import io.github.peft4j.core.io.ConfigJson;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bottleneck adapters: after each target layer (the output projection of a sublayer, before its residual connection),
 * h ← h + s·W_up f(W_down h + b_down) + s·b_up, with W_down [d/k, d] and W_up [d, d/k] for the reduction factor k.
 * Houlsby et al. place one after the attention output and one after the feed-forward output of every layer; Pfeiffer
 * et al. only after the feed-forward output: the placement is the choice of targets ({@code peft train --method
 * adapter --placement houlsby|pfeiffer} chooses them). W_up and b_up start at 0 (the model is unchanged). Nonlinear:
 * cannot be merged. Python PEFT has no bottleneck adapters: the layout is peft4j's ({@code peft_type}
 * {@code BOTTLENECK}, tensors {@code adapter_down.weight}, {@code adapter_down.bias}, {@code adapter_up.weight},
 * {@code adapter_up.bias}). Build with {@link #builder()}.
 *
 * @param targets {@code target_modules}, {@code exclude_modules}, {@code modules_to_save}, {@code task_type},
 *     {@code base_model_name_or_path}
 * @param reductionFactor {@code reduction_factor} k: the bottleneck is max(1, round(d / k)) wide
 * @param nonLinearity {@code non_linearity}
 * @param scaling {@code scaling} s of the adapter's output
 * @param initWeights {@code init_weights}: W_up, b_up = 0 (identity at init); false draws them, for tests
 */
public record BottleneckConfig(
        Targets targets, double reductionFactor, NonLinearity nonLinearity, double scaling, boolean initWeights)
        implements AdapterConfig {

    /** The {@code peft_type} peft4j writes for bottleneck adapters. */
    public static final String PEFT_TYPE = "BOTTLENECK";

    private static final Logger LOG = LoggerFactory.getLogger(BottleneckConfig.class);
    private static final List<String> READ = List.of("reduction_factor", "non_linearity", "scaling", "init_weights");

    /** Validates. */
    public BottleneckConfig {
        Objects.requireNonNull(targets, "BottleneckConfig.target_modules");
        Objects.requireNonNull(nonLinearity, "BottleneckConfig.non_linearity");
        if (!(reductionFactor > 0) || Double.isInfinite(reductionFactor)) {
            throw new IllegalArgumentException(
                    "BottleneckConfig.reduction_factor must be positive; got " + reductionFactor);
        }
        if (!Double.isFinite(scaling)) {
            throw new IllegalArgumentException("BottleneckConfig.scaling must be finite; got " + scaling);
        }
    }

    /**
     * Returns a builder: reduction factor 16, ReLU, scaling 1.
     *
     * @return the builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The bottleneck width for a layer of width d.
     *
     * @param d the layer's output width
     * @return max(1, round(d / k))
     */
    public int bottleneck(long d) {
        return (int) Math.max(1, Math.round(d / reductionFactor));
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode o = targets.toJson(PEFT_TYPE);
        ConfigJson.putNumber(o, "reduction_factor", reductionFactor);
        o.put("non_linearity", nonLinearity.jsonName());
        ConfigJson.putNumber(o, "scaling", scaling);
        o.put("init_weights", initWeights);
        o.put("inference_mode", false);
        return o;
    }

    /**
     * Reads the config peft4j writes; unknown keys are ignored with a warning.
     *
     * @param json the object
     * @return the config
     */
    public static BottleneckConfig fromJson(ObjectNode json) {
        Targets targets = Targets.fromJson(json, PEFT_TYPE, "BottleneckConfig", READ, LOG);
        return new BottleneckConfig(
                targets,
                ConfigJson.number(json, "reduction_factor", "BottleneckConfig", 16.0),
                NonLinearity.parse(json.path("non_linearity").asText("relu")),
                ConfigJson.number(json, "scaling", "BottleneckConfig", 1.0),
                json.path("init_weights").asBoolean(true));
    }

    /** Builds a {@link BottleneckConfig}. */
    public static final class Builder extends AdapterConfigBuilder<Builder> {
        private double reductionFactor = 16;
        private NonLinearity nonLinearity = NonLinearity.RELU;
        private double scaling = 1;
        private boolean initWeights = true;

        private Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        /**
         * Sets the reduction factor k (bottleneck = d / k).
         *
         * @param k positive (default 16)
         * @return this builder
         */
        public Builder optReductionFactor(double k) {
            this.reductionFactor = k;
            return this;
        }

        /**
         * Sets the nonlinearity.
         *
         * @param f the function (default ReLU)
         * @return this builder
         */
        public Builder optNonLinearity(NonLinearity f) {
            this.nonLinearity = f;
            return this;
        }

        /**
         * Sets the scaling of the adapter's output.
         *
         * @param s the factor (default 1)
         * @return this builder
         */
        public Builder optScaling(double s) {
            this.scaling = s;
            return this;
        }

        /**
         * Sets whether the up-projection starts at 0 (default) or at random.
         *
         * @param init true for the identity at init
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
        public BottleneckConfig build() {
            return new BottleneckConfig(
                    buildTargets("BottleneckConfig"), reductionFactor, nonLinearity, scaling, initWeights);
        }
    }
}
