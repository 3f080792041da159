package io.github.peft4j.sparse.spiel;

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
 * Sparse fine-tuning with regrowth, after SpIEL (Ansell et al., 2024, https://arxiv.org/abs/2401.16405): a budget of
 * {@code density} × the targeted weights, shared out in proportion to tensor size, holds additive deltas Δ
 * ({@code W_eff = W + scatter(Δ)}) that start at 0 on random positions. Every {@code regrowInterval} steps the
 * fraction ρ_t of each tensor's entries with the smallest |Δ| is dropped (ρ₀ = {@code dropFraction}, decaying linearly
 * to 0 at {@code decaySteps}) and as many positions with the largest |gradient|, accumulated over the
 * {@code gradientWindow} steps before, are grown with Δ = 0. The count per tensor, and so the budget, never changes.
 *
 * @param targets {@code target_modules} (linear layers), {@code exclude_modules}, {@code modules_to_save},
 *     {@code task_type}, {@code base_model_name_or_path}
 * @param density {@code spiel_density}: share of each targeted tensor's entries trained, in (0, 1)
 * @param regrowInterval {@code spiel_regrow_interval}: steps between drop-and-regrow (≥ 1)
 * @param dropFraction {@code spiel_drop_fraction}: ρ₀, in [0, 1]
 * @param decaySteps {@code spiel_decay_steps}: step at which ρ reaches 0 (≥ 1)
 * @param gradientWindow {@code spiel_gradient_window}: steps of dense gradient accumulated before a regrowth (≥ 1,
 *     ≤ regrowInterval)
 * @param gradient {@code sparse_gradient}: how the deltas' gradient is computed
 */
public record SpielConfig(
        Targets targets,
        double density,
        int regrowInterval,
        double dropFraction,
        long decaySteps,
        int gradientWindow,
        GradientMode gradient)
        implements AdapterConfig {

    /** The {@code peft_type} (peft4j's own). */
    public static final String PEFT_TYPE = "SPIEL";

    private static final Logger LOG = LoggerFactory.getLogger(SpielConfig.class);
    private static final List<String> READ = List.of(
            "spiel_density",
            "spiel_regrow_interval",
            "spiel_drop_fraction",
            "spiel_decay_steps",
            "spiel_gradient_window",
            "sparse_gradient");

    /** Validates and copies. */
    public SpielConfig {
        Objects.requireNonNull(targets, "SpielConfig.target_modules");
        if (!(density > 0 && density < 1)) {
            throw new IllegalArgumentException(
                    "SpielConfig.spiel_density must be in (0, 1), e.g. 0.01; got " + density);
        }
        if (regrowInterval < 1) {
            throw new IllegalArgumentException("SpielConfig.spiel_regrow_interval must be >= 1; got " + regrowInterval);
        }
        if (!(dropFraction >= 0 && dropFraction <= 1)) {
            throw new IllegalArgumentException(
                    "SpielConfig.spiel_drop_fraction must be in [0, 1]; got " + dropFraction);
        }
        if (decaySteps < 1) {
            throw new IllegalArgumentException("SpielConfig.spiel_decay_steps must be >= 1; got " + decaySteps);
        }
        if (gradientWindow < 1 || gradientWindow > regrowInterval) {
            throw new IllegalArgumentException("SpielConfig.spiel_gradient_window must be in [1, regrow interval "
                    + regrowInterval + "]; got " + gradientWindow);
        }
        gradient = gradient == null ? GradientMode.AUTO : gradient;
    }

    /**
     * Returns a builder: density 0.01, regrowth every 50 steps, ρ₀ 0.2 decaying over 1000 steps, gradient window 5.
     *
     * @return the builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The drop fraction at a step: ρ₀ · max(0, 1 − step / decaySteps).
     *
     * @param step the step
     * @return ρ_t
     */
    public double dropFractionAt(long step) {
        return dropFraction * Math.max(0, 1 - (double) step / decaySteps);
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode o = targets.toJson(PEFT_TYPE);
        o.put("spiel_density", density);
        o.put("spiel_regrow_interval", regrowInterval);
        o.put("spiel_drop_fraction", dropFraction);
        o.put("spiel_decay_steps", decaySteps);
        o.put("spiel_gradient_window", gradientWindow);
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
    public static SpielConfig fromJson(ObjectNode json) {
        String c = "SpielConfig";
        return new SpielConfig(
                Targets.fromJson(json, PEFT_TYPE, c, READ, LOG),
                ConfigJson.number(json, "spiel_density", c, 0.01),
                ConfigJson.intValue(json, "spiel_regrow_interval", c, 50),
                ConfigJson.number(json, "spiel_drop_fraction", c, 0.2),
                ConfigJson.integer(json, "spiel_decay_steps", c, 1000),
                ConfigJson.intValue(json, "spiel_gradient_window", c, 5),
                GradientMode.fromJson(json, c));
    }

    /** Builder of {@link SpielConfig}. */
    public static final class Builder extends SparseConfigBuilder<Builder> {
        private double density = 0.01;
        private int interval = 50;
        private double drop = 0.2;
        private long decay = 1000;
        private int window = 5;

        private Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        /**
         * Sets the density d.
         *
         * @param d in (0, 1)
         * @return this
         */
        public Builder optDensity(double d) {
            this.density = d;
            return this;
        }

        /**
         * Sets the steps between regrowths and the gradient window before each.
         *
         * @param every R
         * @param gradientWindow steps of gradient accumulated, ≤ R
         * @return this
         */
        public Builder optRegrowth(int every, int gradientWindow) {
            this.interval = every;
            this.window = gradientWindow;
            return this;
        }

        /**
         * Sets ρ₀ and the step where ρ reaches 0.
         *
         * @param rho0 ρ₀
         * @param decaySteps the step
         * @return this
         */
        public Builder optDrop(double rho0, long decaySteps) {
            this.drop = rho0;
            this.decay = decaySteps;
            return this;
        }

        /**
         * Builds the config.
         *
         * @return the config
         */
        public SpielConfig build() {
            return new SpielConfig(buildTargets("SpielConfig"), density, interval, drop, decay, window, gradient);
        }
    }
}
