package io.github.peft4j.methods.lokr;

import com.fasterxml.jackson.databind.JsonNode;
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
 * LoKr: each target linear layer gets ΔW = (α / r) · (w1 ⊗ w2), a Kronecker product of two small factors whose shapes
 * split the layer's (out = a·b, in = c·d, as close to square roots as {@code decompose_factor} allows); a factor is a
 * rank-r product when r is small against it (always for w2, for w1 with {@code decompose_both}), as Python PEFT's
 * {@code LoKrConfig} decides. Build with {@link #builder()}.
 *
 * <p>Not yet supported, and refused by name when set: {@code rank_dropout} and {@code module_dropout} other than 0,
 * {@code rank_pattern} / {@code alpha_pattern}, {@code layers_to_transform}.
 *
 * @param targets {@code target_modules}, {@code exclude_modules}, {@code modules_to_save}, {@code task_type},
 *     {@code base_model_name_or_path}
 * @param rank {@code r}
 * @param alpha {@code alpha}
 * @param decomposeBoth {@code decompose_both}: w1 may be a rank-r product too
 * @param decomposeFactor {@code decompose_factor}: the requested smaller part of each split, -1 for near square roots
 * @param init {@code init_weights}: true, "lycoris" or false
 */
public record LokrConfig(
        Targets targets, int rank, double alpha, boolean decomposeBoth, int decomposeFactor, LokrInit init)
        implements AdapterConfig {

    /** The {@code peft_type} of LoKr, as in Python PEFT. */
    public static final String PEFT_TYPE = "LOKR";

    private static final Logger LOG = LoggerFactory.getLogger(LokrConfig.class);
    private static final List<String> READ = List.of(
            "r",
            "alpha",
            "rank_dropout",
            "module_dropout",
            "rank_dropout_scale",
            "init_weights",
            "use_effective_conv2d",
            "decompose_both",
            "decompose_factor",
            "rank_pattern",
            "alpha_pattern",
            "layers_to_transform",
            "layers_pattern");

    /** Validates. */
    public LokrConfig {
        Objects.requireNonNull(targets, "LokrConfig.target_modules");
        Objects.requireNonNull(init, "LokrConfig.init_weights");
        if (rank < 1) {
            throw new IllegalArgumentException("LokrConfig.r must be ≥ 1; got " + rank);
        }
        if (!Double.isFinite(alpha)) {
            throw new IllegalArgumentException("LokrConfig.alpha must be finite; got " + alpha);
        }
        if (decomposeFactor == 0 || decomposeFactor < -1) {
            throw new IllegalArgumentException(
                    "LokrConfig.decompose_factor must be -1 (near square roots) or ≥ 1; got " + decomposeFactor);
        }
    }

    /**
     * Returns a builder with Python's defaults: r = 8, alpha = 8, w1 full, factors near square roots, w1 zero at init.
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
        o.put("rank_dropout_scale", false);
        if (init == LokrInit.LYCORIS) {
            o.put("init_weights", "lycoris");
        } else {
            o.put("init_weights", init == LokrInit.DEFAULT);
        }
        o.put("use_effective_conv2d", false);
        o.put("decompose_both", decomposeBoth);
        o.put("decompose_factor", decomposeFactor);
        o.putObject("rank_pattern");
        o.putObject("alpha_pattern");
        o.put("inference_mode", false);
        return o;
    }

    /**
     * Reads Python PEFT's {@code LoKrConfig}; unknown keys are ignored with a warning.
     *
     * @param json the object
     * @return the config
     * @throws IllegalArgumentException naming the key, for a setting peft4j does not support yet
     */
    public static LokrConfig fromJson(ObjectNode json) {
        Targets targets = Targets.fromJson(json, PEFT_TYPE, "LokrConfig", READ, LOG);
        for (String k : new String[] {"rank_dropout", "module_dropout"}) {
            if (json.path(k).asDouble(0) != 0) {
                throw new IllegalArgumentException("LokrConfig." + k + " = "
                        + json.path(k).asDouble() + " is not supported yet by peft4j (only 0)");
            }
        }
        for (String k : new String[] {"rank_pattern", "alpha_pattern"}) {
            if (json.path(k).isObject() && !json.path(k).isEmpty()) {
                throw new IllegalArgumentException("LokrConfig." + k + " is not supported yet by peft4j (only {})");
            }
        }
        for (String k : new String[] {"layers_to_transform", "layers_pattern"}) {
            if (!ConfigJson.isUnset(json.get(k))) {
                throw new IllegalArgumentException("LokrConfig." + k + " is not supported yet by peft4j (only null)");
            }
        }
        return new LokrConfig(
                targets,
                ConfigJson.intValue(json, "r", "LokrConfig", 8),
                ConfigJson.number(json, "alpha", "LokrConfig", 8.0),
                json.path("decompose_both").asBoolean(false),
                ConfigJson.intValue(json, "decompose_factor", "LokrConfig", -1),
                init(json.get("init_weights")));
    }

    private static LokrInit init(JsonNode v) {
        if (v == null || v.isNull() || (v.isBoolean() && v.asBoolean())) {
            return LokrInit.DEFAULT;
        }
        if (v.isBoolean()) {
            return LokrInit.RANDOM;
        }
        if (v.isTextual() && v.asText().equals("lycoris")) {
            return LokrInit.LYCORIS;
        }
        throw new IllegalArgumentException("LokrConfig.init_weights must be true, false or \"lycoris\"; got " + v);
    }

    /** Builds a {@link LokrConfig}. */
    public static final class Builder extends AdapterConfigBuilder<Builder> {
        private int rank = 8;
        private double alpha = 8;
        private boolean decomposeBoth;
        private int decomposeFactor = -1;
        private LokrInit init = LokrInit.DEFAULT;

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
         * Lets w1 be a rank-r product too when r is small against it.
         *
         * @param both true to decompose both factors (default false)
         * @return this builder
         */
        public Builder optDecomposeBoth(boolean both) {
            this.decomposeBoth = both;
            return this;
        }

        /**
         * Sets the requested smaller part of each split.
         *
         * @param factor ≥ 1, or -1 for near square roots (default)
         * @return this builder
         */
        public Builder optDecomposeFactor(int factor) {
            this.decomposeFactor = factor;
            return this;
        }

        /**
         * Sets how the factors start.
         *
         * @param i the initialisation (default {@link LokrInit#DEFAULT})
         * @return this builder
         */
        public Builder optInit(LokrInit i) {
            this.init = i;
            return this;
        }

        /**
         * Builds the config.
         *
         * @return the config
         */
        public LokrConfig build() {
            return new LokrConfig(buildTargets("LokrConfig"), rank, alpha, decomposeBoth, decomposeFactor, init);
        }
    }
}
