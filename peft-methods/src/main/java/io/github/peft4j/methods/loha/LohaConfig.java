package io.github.peft4j.methods.loha;

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
 * LoHa: each target linear layer gets ΔW = (α / r) · (W1a W1b) ⊙ (W2a W2b), with W1a, W2a [out, r] and W1b, W2b [r, in]
 * (Python PEFT's {@code LoHaConfig} and its {@code hada_w*} tensors). Rank 2r in the factors yields an update of rank
 * up to r², for the parameters of a rank-2r LoRA. Build with {@link #builder()}.
 *
 * <p>Not yet supported, and refused by name when set: {@code rank_dropout} and {@code module_dropout} other than 0,
 * and {@code rank_pattern} / {@code alpha_pattern}.
 *
 * @param targets {@code target_modules}, {@code exclude_modules}, {@code modules_to_save}, {@code task_type},
 *     {@code base_model_name_or_path}
 * @param rank {@code r}
 * @param alpha {@code alpha}
 * @param initWeights {@code init_weights}: W2b = 0 so the model is unchanged at init (Python's default); false draws
 *     every factor
 */
public record LohaConfig(Targets targets, int rank, double alpha, boolean initWeights) implements AdapterConfig {

    /** The {@code peft_type} of LoHa, as in Python PEFT. */
    public static final String PEFT_TYPE = "LOHA";

    private static final Logger LOG = LoggerFactory.getLogger(LohaConfig.class);
    private static final List<String> READ = List.of(
            "r",
            "alpha",
            "rank_dropout",
            "module_dropout",
            "init_weights",
            "use_effective_conv2d",
            "rank_pattern",
            "alpha_pattern",
            "layers_to_transform",
            "layers_pattern");

    /** Validates. */
    public LohaConfig {
        Objects.requireNonNull(targets, "LohaConfig.target_modules");
        if (rank < 1) {
            throw new IllegalArgumentException("LohaConfig.r must be ≥ 1; got " + rank);
        }
        if (!Double.isFinite(alpha)) {
            throw new IllegalArgumentException("LohaConfig.alpha must be finite; got " + alpha);
        }
    }

    /**
     * Returns a builder: r = 8, alpha = 8, W2b = 0 at init.
     *
     * @return the builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The scaling of the update.
     *
     * @return α / r
     */
    public double scaling() {
        return alpha / rank;
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode o = targets.toJson(PEFT_TYPE);
        o.put("r", rank);
        ConfigJson.putNumber(o, "alpha", alpha);
        o.put("rank_dropout", 0.0);
        o.put("module_dropout", 0.0);
        o.put("init_weights", initWeights);
        o.put("use_effective_conv2d", false);
        o.putObject("rank_pattern");
        o.putObject("alpha_pattern");
        o.put("inference_mode", false);
        return o;
    }

    /**
     * Reads Python PEFT's {@code LoHaConfig}; unknown keys are ignored with a warning.
     *
     * @param json the object
     * @return the config
     * @throws IllegalArgumentException naming the key, for a setting peft4j does not support yet
     */
    public static LohaConfig fromJson(ObjectNode json) {
        Targets targets = Targets.fromJson(json, PEFT_TYPE, "LohaConfig", READ, LOG);
        for (String k : new String[] {"rank_dropout", "module_dropout"}) {
            if (json.path(k).asDouble(0) != 0) {
                throw new IllegalArgumentException("LohaConfig." + k + " = "
                        + json.path(k).asDouble() + " is not supported yet by peft4j (only 0)");
            }
        }
        for (String k : new String[] {"rank_pattern", "alpha_pattern"}) {
            if (json.path(k).isObject() && !json.path(k).isEmpty()) {
                throw new IllegalArgumentException("LohaConfig." + k + " is not supported yet by peft4j (only {})");
            }
        }
        for (String k : new String[] {"layers_to_transform", "layers_pattern"}) {
            if (!ConfigJson.isUnset(json.get(k))) {
                throw new IllegalArgumentException("LohaConfig." + k + " is not supported yet by peft4j (only null)");
            }
        }
        return new LohaConfig(
                targets,
                ConfigJson.intValue(json, "r", "LohaConfig", 8),
                ConfigJson.number(json, "alpha", "LohaConfig", 8.0),
                json.path("init_weights").asBoolean(true));
    }

    /** Builds a {@link LohaConfig}. */
    public static final class Builder extends AdapterConfigBuilder<Builder> {
        private int rank = 8;
        private double alpha = 8;
        private boolean initWeights = true;

        private Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        /**
         * Sets r.
         *
         * @param r ≥ 1 (default 8)
         * @return this builder
         */
        public Builder optRank(int r) {
            this.rank = r;
            return this;
        }

        /**
         * Sets α.
         *
         * @param a the alpha (default 8)
         * @return this builder
         */
        public Builder optAlpha(double a) {
            this.alpha = a;
            return this;
        }

        /**
         * Sets whether W2b starts at 0 (default) or at random.
         *
         * @param init true for Python's default
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
        public LohaConfig build() {
            return new LohaConfig(buildTargets("LohaConfig"), rank, alpha, initWeights);
        }
    }
}
