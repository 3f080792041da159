package io.github.peft4j.methods.vera;

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
 * VeRA: every target layer adds {@code λ_b ⊙ B_s (λ_d ⊙ A_s x)}, where A [r, largest in] and B [largest out, r] are one
 * frozen random pair shared by all layers, drawn from {@code projection_prng_key} exactly as Python PEFT's
 * {@code VeraConfig} draws them, and only the vectors λ_b [out] and λ_d [r] train. Build with {@link #builder()}.
 *
 * <p>Not supported, and refused by name: {@code bias} other than {@code none}, {@code layers_to_transform}.
 *
 * @param targets {@code target_modules}, {@code exclude_modules}, {@code modules_to_save}, {@code task_type},
 *     {@code base_model_name_or_path}
 * @param rank {@code r}, the width of the shared projections (Python's default 256)
 * @param projectionPrngKey {@code projection_prng_key}: the seed of the shared pair
 * @param saveProjection {@code save_projection}: whether {@code base_model.vera_A} / {@code vera_B} go into the file
 *     (without them, a reader regenerates them from the key)
 * @param dropout {@code vera_dropout} on the adapter's input while training
 * @param dInitial {@code d_initial}: λ_d's initial value (λ_b starts at 0, so the model is unchanged)
 * @param initWeights {@code init_weights}: false starts λ_b at 1 and λ_d at N(0, 1), as Python does, for tests
 */
public record VeraConfig(
        Targets targets,
        int rank,
        long projectionPrngKey,
        boolean saveProjection,
        double dropout,
        double dInitial,
        boolean initWeights)
        implements AdapterConfig {

    /** The {@code peft_type} of VeRA, as in Python PEFT. */
    public static final String PEFT_TYPE = "VERA";

    private static final Logger LOG = LoggerFactory.getLogger(VeraConfig.class);
    private static final List<String> READ = List.of(
            "r",
            "projection_prng_key",
            "save_projection",
            "vera_dropout",
            "d_initial",
            "fan_in_fan_out",
            "bias",
            "init_weights",
            "layers_to_transform",
            "layers_pattern");

    /** Validates. */
    public VeraConfig {
        Objects.requireNonNull(targets, "VeraConfig.target_modules");
        if (rank < 1) {
            throw new IllegalArgumentException("VeraConfig.r must be ≥ 1; got " + rank);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("VeraConfig.vera_dropout must be in [0, 1); got " + dropout);
        }
        if (!Double.isFinite(dInitial)) {
            throw new IllegalArgumentException("VeraConfig.d_initial must be finite; got " + dInitial);
        }
    }

    /**
     * Returns a builder with Python's defaults: r = 256, key 0, projections saved, no dropout, d_initial 0.1.
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
        o.put("r", rank);
        o.put("projection_prng_key", projectionPrngKey);
        o.put("save_projection", saveProjection);
        ConfigJson.putNumber(o, "vera_dropout", dropout);
        ConfigJson.putNumber(o, "d_initial", dInitial);
        o.put("fan_in_fan_out", false);
        o.put("bias", "none");
        o.put("init_weights", initWeights);
        o.putNull("layers_to_transform");
        o.putNull("layers_pattern");
        o.put("inference_mode", false);
        return o;
    }

    /**
     * Reads Python PEFT's {@code VeraConfig}; unknown keys are ignored with a warning.
     *
     * @param json the object
     * @return the config
     * @throws IllegalArgumentException naming the key, for a setting peft4j does not support
     */
    public static VeraConfig fromJson(ObjectNode json) {
        Targets targets = Targets.fromJson(json, PEFT_TYPE, "VeraConfig", READ, LOG);
        String bias = json.path("bias").asText("none");
        if (!"none".equals(bias)) {
            throw new IllegalArgumentException(
                    "VeraConfig.bias = '" + bias + "' is not supported by peft4j (only 'none')");
        }
        for (String k : new String[] {"layers_to_transform", "layers_pattern"}) {
            if (!ConfigJson.isUnset(json.get(k))) {
                throw new IllegalArgumentException("VeraConfig." + k + " is not supported yet by peft4j (only null)");
            }
        }
        return new VeraConfig(
                targets,
                ConfigJson.intValue(json, "r", "VeraConfig", 256),
                ConfigJson.integer(json, "projection_prng_key", "VeraConfig", 0),
                json.path("save_projection").asBoolean(true),
                ConfigJson.number(json, "vera_dropout", "VeraConfig", 0.0),
                ConfigJson.number(json, "d_initial", "VeraConfig", 0.1),
                json.path("init_weights").asBoolean(true));
    }

    /** Builds a {@link VeraConfig}. */
    public static final class Builder extends AdapterConfigBuilder<Builder> {
        private int rank = 256;
        private long key;
        private boolean saveProjection = true;
        private double dropout;
        private double dInitial = 0.1;
        private boolean initWeights = true;

        private Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        /**
         * Sets r, the width of the shared projections.
         *
         * @param r ≥ 1 (default 256)
         * @return this builder
         */
        public Builder optRank(int r) {
            this.rank = r;
            return this;
        }

        /**
         * Sets the seed of the shared projections.
         *
         * @param prngKey {@code projection_prng_key} (default 0)
         * @return this builder
         */
        public Builder optProjectionPrngKey(long prngKey) {
            this.key = prngKey;
            return this;
        }

        /**
         * Sets whether the shared projections are written into the adapter file (default true, Python's).
         *
         * @param save false for a smaller file that readers regenerate from the key
         * @return this builder
         */
        public Builder optSaveProjection(boolean save) {
            this.saveProjection = save;
            return this;
        }

        /**
         * Sets the dropout on the adapter's input.
         *
         * @param p in [0, 1) (default 0)
         * @return this builder
         */
        public Builder optDropout(double p) {
            this.dropout = p;
            return this;
        }

        /**
         * Sets λ_d's initial value.
         *
         * @param d the value (default 0.1)
         * @return this builder
         */
        public Builder optDInitial(double d) {
            this.dInitial = d;
            return this;
        }

        /**
         * Sets whether λ_b starts at 0 (default: the model is unchanged) or λ_b = 1 and λ_d random.
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
        public VeraConfig build() {
            return new VeraConfig(
                    buildTargets("VeraConfig"), rank, key, saveProjection, dropout, dInitial, initWeights);
        }
    }
}
