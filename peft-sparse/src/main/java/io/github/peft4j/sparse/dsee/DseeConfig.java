package io.github.peft4j.sparse.dsee;

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
 * DSEE, "dually sparsity-embedded efficient tuning": each target linear layer gets ΔW = s·B A + S, a LoRA update plus
 * a sparse update S with {@code sparse_count} trained entries. S's positions are the largest entries of the
 * pre-trained weight's sparse residual W − W_k, W_k its best rank-k approximation (k = {@code decomposition_rank}) —
 * the paper's decomposition W = low-rank + sparse, in one step. B and S start at 0. Python PEFT has no DSEE; the layout
 * is peft4j's ({@code peft_type} {@code DSEE}, tensors {@code lora_A.weight}, {@code lora_B.weight},
 * {@code dsee_indices} (int32 flat positions), {@code dsee_values}). Build with {@link #builder()}.
 *
 * @param targets {@code target_modules}, {@code exclude_modules}, {@code modules_to_save}, {@code task_type},
 *     {@code base_model_name_or_path}
 * @param rank {@code r} of the low-rank part
 * @param alpha {@code lora_alpha}: s = α / r
 * @param sparseCount {@code sparse_count}: trained entries of S per layer
 * @param decompositionRank {@code decomposition_rank} k of W's low-rank approximation
 * @param seed {@code seed} of the randomized decomposition
 * @param initWeights {@code init_weights}: B = 0, S = 0 (identity at init); false draws them, for tests
 */
public record DseeConfig(
        Targets targets, int rank, double alpha, int sparseCount, int decompositionRank, long seed, boolean initWeights)
        implements AdapterConfig {

    /** The {@code peft_type} peft4j writes for DSEE. */
    public static final String PEFT_TYPE = "DSEE";

    private static final Logger LOG = LoggerFactory.getLogger(DseeConfig.class);
    private static final List<String> READ =
            List.of("r", "lora_alpha", "sparse_count", "decomposition_rank", "seed", "init_weights");

    /** Validates. */
    public DseeConfig {
        Objects.requireNonNull(targets, "DseeConfig.target_modules");
        if (rank < 1 || sparseCount < 1 || decompositionRank < 1) {
            throw new IllegalArgumentException("DseeConfig: r, sparse_count and decomposition_rank must be ≥ 1; got "
                    + rank + ", " + sparseCount + ", " + decompositionRank);
        }
        if (!Double.isFinite(alpha)) {
            throw new IllegalArgumentException("DseeConfig.lora_alpha must be finite; got " + alpha);
        }
    }

    /**
     * Returns a builder: r = 8, α = 16, 64 sparse entries per layer (the paper's N for BERT), decomposition rank 8.
     *
     * @return the builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The scaling of the low-rank part.
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
        ConfigJson.putNumber(o, "lora_alpha", alpha);
        o.put("sparse_count", sparseCount);
        o.put("decomposition_rank", decompositionRank);
        o.put("seed", seed);
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
    public static DseeConfig fromJson(ObjectNode json) {
        Targets targets = Targets.fromJson(json, PEFT_TYPE, "DseeConfig", READ, LOG);
        return new DseeConfig(
                targets,
                ConfigJson.intValue(json, "r", "DseeConfig", 8),
                ConfigJson.number(json, "lora_alpha", "DseeConfig", 16.0),
                ConfigJson.intValue(json, "sparse_count", "DseeConfig", 64),
                ConfigJson.intValue(json, "decomposition_rank", "DseeConfig", 8),
                ConfigJson.integer(json, "seed", "DseeConfig", 0),
                json.path("init_weights").asBoolean(true));
    }

    /** Builds a {@link DseeConfig}. */
    public static final class Builder extends AdapterConfigBuilder<Builder> {
        private int rank = 8;
        private double alpha = 16;
        private int sparseCount = 64;
        private int decompositionRank = 8;
        private long seed;
        private boolean initWeights = true;

        private Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        /**
         * Sets r and α of the low-rank part.
         *
         * @param r ≥ 1 (default 8)
         * @param a α (default 16)
         * @return this builder
         */
        public Builder optLowRank(int r, double a) {
            this.rank = r;
            this.alpha = a;
            return this;
        }

        /**
         * Sets the trained entries of the sparse part per layer.
         *
         * @param n ≥ 1 (default 64)
         * @return this builder
         */
        public Builder optSparseCount(int n) {
            this.sparseCount = n;
            return this;
        }

        /**
         * Sets the rank of the weight's low-rank approximation whose residual chooses the sparse positions.
         *
         * @param k ≥ 1 (default 8)
         * @return this builder
         */
        public Builder optDecompositionRank(int k) {
            this.decompositionRank = k;
            return this;
        }

        /**
         * Sets the seed of the randomized decomposition.
         *
         * @param s the seed (default 0)
         * @return this builder
         */
        public Builder optSeed(long s) {
            this.seed = s;
            return this;
        }

        /**
         * Sets whether B and S start at 0 (default) or at random.
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
        public DseeConfig build() {
            return new DseeConfig(
                    buildTargets("DseeConfig"), rank, alpha, sparseCount, decompositionRank, seed, initWeights);
        }
    }
}
