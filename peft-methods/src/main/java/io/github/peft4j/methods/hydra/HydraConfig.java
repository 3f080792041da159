package io.github.peft4j.methods.hydra;

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
 * Hydra: each target linear layer gets a parallel branch, ΔW_p = s·B_p A_p (LoRA: new features), and a sequential
 * branch that recombines the pre-trained features, ΔW_s = s·W B_s A_s (the input transformed by I + s·B_s A_s before
 * W): y = W x + s·B_p A_p x + s·W B_s A_s x. Both start with B = 0. Mergeable: W ← W (I + s B_s A_s) + s B_p A_p.
 * Python PEFT has no Hydra; the file layout is peft4j's ({@code peft_type} {@code HYDRA}, tensors
 * {@code hydra_p_A}, {@code hydra_p_B}, {@code hydra_s_A}, {@code hydra_s_B}). Build with {@link #builder()}.
 *
 * @param targets {@code target_modules}, {@code exclude_modules}, {@code modules_to_save}, {@code task_type},
 *     {@code base_model_name_or_path}
 * @param rank {@code r} of each branch
 * @param alpha {@code hydra_alpha}: s = α / r
 * @param initWeights {@code init_weights}: B_p = B_s = 0 (identity at init); false draws them, for tests
 */
public record HydraConfig(Targets targets, int rank, double alpha, boolean initWeights) implements AdapterConfig {

    /** The {@code peft_type} peft4j writes for Hydra. */
    public static final String PEFT_TYPE = "HYDRA";

    private static final Logger LOG = LoggerFactory.getLogger(HydraConfig.class);
    private static final List<String> READ = List.of("r", "hydra_alpha", "init_weights");

    /** Validates. */
    public HydraConfig {
        Objects.requireNonNull(targets, "HydraConfig.target_modules");
        if (rank < 1) {
            throw new IllegalArgumentException("HydraConfig.r must be ≥ 1; got " + rank);
        }
        if (!Double.isFinite(alpha)) {
            throw new IllegalArgumentException("HydraConfig.hydra_alpha must be finite; got " + alpha);
        }
    }

    /**
     * Returns a builder: r = 8, α = 16.
     *
     * @return the builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The scaling of both branches.
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
        ConfigJson.putNumber(o, "hydra_alpha", alpha);
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
    public static HydraConfig fromJson(ObjectNode json) {
        Targets targets = Targets.fromJson(json, PEFT_TYPE, "HydraConfig", READ, LOG);
        return new HydraConfig(
                targets,
                ConfigJson.intValue(json, "r", "HydraConfig", 8),
                ConfigJson.number(json, "hydra_alpha", "HydraConfig", 16.0),
                json.path("init_weights").asBoolean(true));
    }

    /** Builds a {@link HydraConfig}. */
    public static final class Builder extends AdapterConfigBuilder<Builder> {
        private int rank = 8;
        private double alpha = 16;
        private boolean initWeights = true;

        private Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        /**
         * Sets r of each branch.
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
         * @param a the alpha (default 16)
         * @return this builder
         */
        public Builder optAlpha(double a) {
            this.alpha = a;
            return this;
        }

        /**
         * Sets whether both B start at 0 (default) or at random.
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
        public HydraConfig build() {
            return new HydraConfig(buildTargets("HydraConfig"), rank, alpha, initWeights);
        }
    }
}
