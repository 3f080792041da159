package io.github.peft4j.sparse.sara;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.Targets;
import io.github.peft4j.core.io.ConfigJson;
import io.github.peft4j.sparse.GradientMode;
import io.github.peft4j.sparse.SparseConfigBuilder;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SaRA, sparse low-rank adaptation of ineffective parameters (Hu et al., 2024, https://arxiv.org/abs/2409.06633): the
 * smallest-magnitude entries of each pretrained weight barely matter, so exactly those are re-trained. Per target
 * tensor the trainable entries are the smallest {@code fraction} of |W| (or every |W| &lt; {@code threshold}); they
 * are stored as flat indices plus values, optimizer state exists only for the values, and a nuclear-norm term
 * (λ, one random eligible matrix per step) keeps the update low-rank.
 *
 * <p>When to use: a budget like LoRA's that leaves the model's architecture unchanged (the update merges into W
 * entry by entry) and keeps the general ability of the pretrained model. Python PEFT has no SaRA: the file format is
 * peft4j's own (docs/adapter-format.md).
 *
 * @param targets {@code target_modules} (linear layers), {@code exclude_modules}, {@code modules_to_save},
 *     {@code task_type}, {@code base_model_name_or_path}
 * @param fraction {@code sara_fraction}: the share of each tensor selected, in (0, 1); null when a threshold is used
 * @param threshold {@code sara_threshold}: select |W| &lt; τ in every tensor; null when a fraction is used
 * @param lowRankLambda {@code sara_lowrank_lambda}: λ of the nuclear-norm term (0 = off; reference 5e-4)
 * @param reselectStep {@code sara_reselect_step}: after this many optimizer steps entries whose value grew to
 *     |p| above the selection threshold freeze (0 = never; the reference re-selects halfway)
 * @param gradient {@code sparse_gradient}: how the values' gradient is computed
 */
public record SaraConfig(
        Targets targets,
        Double fraction,
        Double threshold,
        double lowRankLambda,
        long reselectStep,
        GradientMode gradient)
        implements AdapterConfig {

    /** The {@code peft_type} of SaRA (peft4j's own). */
    public static final String PEFT_TYPE = "SARA";

    private static final Logger LOG = LoggerFactory.getLogger(SaraConfig.class);
    private static final List<String> READ =
            List.of("sara_fraction", "sara_threshold", "sara_lowrank_lambda", "sara_reselect_step", "sparse_gradient");

    /** Validates and copies. */
    public SaraConfig {
        Objects.requireNonNull(targets, "SaraConfig.target_modules");
        if ((fraction == null) == (threshold == null)) {
            throw new IllegalArgumentException("SaraConfig needs exactly one of sara_fraction and sara_threshold;"
                    + " got " + (fraction == null ? "neither" : "both"));
        }
        if (fraction != null && !(fraction > 0 && fraction < 1)) {
            throw new IllegalArgumentException("SaraConfig.sara_fraction must be in (0, 1), e.g. 0.1 for the"
                    + " smallest 10% of each weight; got " + fraction);
        }
        if (threshold != null && !(threshold > 0 && Double.isFinite(threshold))) {
            throw new IllegalArgumentException(
                    "SaraConfig.sara_threshold must be a finite value > 0; got " + threshold);
        }
        if (!(lowRankLambda >= 0)) {
            throw new IllegalArgumentException("SaraConfig.sara_lowrank_lambda must be >= 0; got " + lowRankLambda);
        }
        if (reselectStep < 0) {
            throw new IllegalArgumentException("SaraConfig.sara_reselect_step must be >= 0; got " + reselectStep);
        }
        gradient = gradient == null ? GradientMode.AUTO : gradient;
    }

    /**
     * Returns a builder (fraction 0.1, λ 5e-4, no re-selection, AUTO gradient).
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
        if (fraction != null) {
            o.put("sara_fraction", fraction);
        } else {
            o.putNull("sara_fraction");
        }
        if (threshold != null) {
            o.put("sara_threshold", threshold);
        } else {
            o.putNull("sara_threshold");
        }
        o.put("sara_lowrank_lambda", lowRankLambda);
        o.put("sara_reselect_step", reselectStep);
        o.put("sparse_gradient", gradient.name().toLowerCase(Locale.ROOT));
        o.put("inference_mode", false);
        return o;
    }

    /**
     * Reads the config; unknown keys are ignored with a warning.
     *
     * @param json the object
     * @return the config
     */
    public static SaraConfig fromJson(ObjectNode json) {
        return new SaraConfig(
                Targets.fromJson(json, PEFT_TYPE, "SaraConfig", READ, LOG),
                ConfigJson.number(json, "sara_fraction", "SaraConfig", null),
                ConfigJson.number(json, "sara_threshold", "SaraConfig", null),
                ConfigJson.number(json, "sara_lowrank_lambda", "SaraConfig", 5e-4),
                ConfigJson.integer(json, "sara_reselect_step", "SaraConfig", 0),
                GradientMode.fromJson(json, "SaraConfig"));
    }

    /** Builder of {@link SaraConfig}. */
    public static final class Builder extends SparseConfigBuilder<Builder> {
        private Double fraction = 0.1;
        private Double threshold;
        private double lambda = 5e-4;
        private long reselect;

        private Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        /**
         * Selects the smallest fraction of |W| in every tensor (clears a threshold).
         *
         * @param f in (0, 1)
         * @return this
         */
        public Builder optFraction(double f) {
            this.fraction = f;
            this.threshold = null;
            return this;
        }

        /**
         * Selects |W| &lt; τ in every tensor (clears the fraction).
         *
         * @param tau &gt; 0
         * @return this
         */
        public Builder optThreshold(double tau) {
            this.threshold = tau;
            this.fraction = null;
            return this;
        }

        /**
         * Sets λ of the nuclear-norm term (0 turns it off).
         *
         * @param l λ
         * @return this
         */
        public Builder optLowRankLambda(double l) {
            this.lambda = l;
            return this;
        }

        /**
         * Re-selects after this many optimizer steps (0 = never).
         *
         * @param step the step
         * @return this
         */
        public Builder optReselectStep(long step) {
            this.reselect = step;
            return this;
        }

        /**
         * Builds the config.
         *
         * @return the config
         * @throws IllegalArgumentException on an invalid value
         */
        public SaraConfig build() {
            return new SaraConfig(buildTargets("SaraConfig"), fraction, threshold, lambda, reselect, gradient);
        }
    }
}
