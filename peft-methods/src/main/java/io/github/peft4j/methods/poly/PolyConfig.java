package io.github.peft4j.methods.poly;

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
 * Poly / MHR, as Python PEFT's {@code PolyConfig}: each target linear layer holds {@code n_skills} LoRA pairs of rank
 * r (each split into {@code n_splits} heads along the input and output features; more than one split is Multi-Head
 * Routing), and a router of logits [n_tasks, n_splits · n_skills]. A row of task t mixes the skills of each split with
 * the weights σ(logits[t]) normalised to sum 1 (a relaxed-Bernoulli sample of them while training), and the layer adds
 * x A_t B_t / r. The task of each row is the forward parameter {@value io.github.peft4j.core.PeftModel#TASK_IDS}.
 * Not mergeable: the update differs per task. Build with {@link #builder()}.
 *
 * @param targets {@code target_modules}, {@code exclude_modules}, {@code modules_to_save}, {@code task_type},
 *     {@code base_model_name_or_path}
 * @param rank {@code r} of each skill
 * @param nTasks {@code n_tasks}: the router's rows
 * @param nSkills {@code n_skills}: the LoRA pairs of each layer
 * @param nSplits {@code n_splits}: heads per skill (1 = Poly, more = MHR); must divide both feature counts
 * @param initWeights {@code init_weights}: B = 0 (identity at init); false draws B as A, for tests
 */
public record PolyConfig(Targets targets, int rank, int nTasks, int nSkills, int nSplits, boolean initWeights)
        implements AdapterConfig {

    /** The {@code peft_type} of Poly in Python PEFT. */
    public static final String PEFT_TYPE = "POLY";

    private static final Logger LOG = LoggerFactory.getLogger(PolyConfig.class);
    private static final List<String> READ =
            List.of("r", "n_tasks", "n_skills", "n_splits", "poly_type", "init_weights");

    /** Validates. */
    public PolyConfig {
        Objects.requireNonNull(targets, "PolyConfig.target_modules");
        if (rank < 1) {
            throw new IllegalArgumentException("PolyConfig.r must be ≥ 1; got " + rank);
        }
        if (nTasks < 1) {
            throw new IllegalArgumentException("PolyConfig.n_tasks must be ≥ 1; got " + nTasks);
        }
        if (nSkills < 1) {
            throw new IllegalArgumentException("PolyConfig.n_skills must be ≥ 1; got " + nSkills);
        }
        if (nSplits < 1) {
            throw new IllegalArgumentException("PolyConfig.n_splits must be ≥ 1; got " + nSplits);
        }
    }

    /**
     * Returns a builder: r = 8, 1 task, 4 skills, 1 split (Python's defaults).
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
        o.put("n_tasks", nTasks);
        o.put("n_skills", nSkills);
        o.put("n_splits", nSplits);
        o.put("poly_type", "poly");
        o.put("init_weights", initWeights);
        o.put("inference_mode", false);
        return o;
    }

    /**
     * Reads Python PEFT's {@code adapter_config.json}; unknown keys are ignored with a warning.
     *
     * @param json the object
     * @return the config
     * @throws IllegalArgumentException if {@code poly_type} is not {@code poly} or a value is invalid
     */
    public static PolyConfig fromJson(ObjectNode json) {
        Targets targets = Targets.fromJson(json, PEFT_TYPE, "PolyConfig", READ, LOG);
        String type = json.path("poly_type").asText("poly");
        if (!type.equals("poly")) {
            throw new IllegalArgumentException("PolyConfig.poly_type '" + type
                    + "' is not supported; the only type is 'poly' (as in Python PEFT)");
        }
        return new PolyConfig(
                targets,
                ConfigJson.intValue(json, "r", "PolyConfig", 8),
                ConfigJson.intValue(json, "n_tasks", "PolyConfig", 1),
                ConfigJson.intValue(json, "n_skills", "PolyConfig", 4),
                ConfigJson.intValue(json, "n_splits", "PolyConfig", 1),
                json.path("init_weights").asBoolean(true));
    }

    /** Builds a {@link PolyConfig}. */
    public static final class Builder extends AdapterConfigBuilder<Builder> {
        private int rank = 8;
        private int nTasks = 1;
        private int nSkills = 4;
        private int nSplits = 1;
        private boolean initWeights = true;

        private Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        /**
         * Sets r of each skill.
         *
         * @param r ≥ 1 (default 8)
         * @return this builder
         */
        public Builder optRank(int r) {
            this.rank = r;
            return this;
        }

        /**
         * Sets the number of tasks.
         *
         * @param n ≥ 1 (default 1)
         * @return this builder
         */
        public Builder optTasks(int n) {
            this.nTasks = n;
            return this;
        }

        /**
         * Sets the number of skills per layer.
         *
         * @param n ≥ 1 (default 4)
         * @return this builder
         */
        public Builder optSkills(int n) {
            this.nSkills = n;
            return this;
        }

        /**
         * Sets the number of splits (heads) per skill; more than 1 is Multi-Head Routing.
         *
         * @param n ≥ 1, dividing the target layers' input and output features (default 1)
         * @return this builder
         */
        public Builder optSplits(int n) {
            this.nSplits = n;
            return this;
        }

        /**
         * Sets whether B starts at 0 (default) or at random.
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
        public PolyConfig build() {
            return new PolyConfig(buildTargets("PolyConfig"), rank, nTasks, nSkills, nSplits, initWeights);
        }
    }
}
