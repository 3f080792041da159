package io.github.peft4j.methods.adalora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.AdapterConfigBuilder;
import io.github.peft4j.core.Targets;
import io.github.peft4j.core.io.ConfigJson;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * AdaLoRA: each target layer gets ΔW = B (A ⊙ E) · α / r₀ (P Λ Q in SVD form: A [r₀, in], E [r₀, 1], B [out, r₀],
 * r₀ = {@code init_r}), and while training a rank allocator prunes the least important singular triplets across all
 * layers (importance = smoothed sensitivity × uncertainty of |p · ∂L/∂p|) on a cubic budget schedule from r₀ to
 * {@code target_r} per layer on average; an orthogonality regulariser keeps A and B near-orthogonal. As Python PEFT's
 * {@code AdaLoraConfig}: the same keys, and the {@code rank_pattern} of a trained adapter (which triplets survive)
 * written into the config while the saved tensors hold only the surviving triplets. Build with {@link #builder()}.
 *
 * @param targets {@code target_modules}, {@code exclude_modules}, {@code modules_to_save}, {@code task_type},
 *     {@code base_model_name_or_path}
 * @param initR {@code init_r}, the starting rank of every layer
 * @param targetR {@code target_r}, the average final rank
 * @param tinit {@code tinit}: steps before pruning starts
 * @param tfinal {@code tfinal}: last steps that train at the final pattern
 * @param deltaT {@code deltaT}: steps between re-allocations
 * @param beta1 {@code beta1}: smoothing of the sensitivity
 * @param beta2 {@code beta2}: smoothing of the uncertainty
 * @param orthRegWeight {@code orth_reg_weight}: the weight of the orthogonality regulariser
 * @param totalStep {@code total_step}: the planned optimizer steps (the schedule's length)
 * @param loraAlpha {@code lora_alpha}: the update is scaled by α / r₀ (r₀ if α is 0)
 * @param dropout {@code lora_dropout}
 * @param rankPattern {@code rank_pattern}: module path to the surviving triplets (empty until pruning)
 * @param initWeights {@code init_lora_weights}: E = 0 and A, B ~ N(0, 0.02²) (identity at init); false draws E too
 */
public record AdaLoraConfig(
        Targets targets,
        int initR,
        int targetR,
        int tinit,
        int tfinal,
        int deltaT,
        double beta1,
        double beta2,
        double orthRegWeight,
        long totalStep,
        double loraAlpha,
        double dropout,
        Map<String, boolean[]> rankPattern,
        boolean initWeights)
        implements AdapterConfig {

    /** The {@code peft_type} of AdaLoRA, as in Python PEFT. */
    public static final String PEFT_TYPE = "ADALORA";

    private static final Logger LOG = LoggerFactory.getLogger(AdaLoraConfig.class);
    private static final String E_SUFFIX = ".lora_E";
    private static final List<String> READ = List.of(
            "init_r",
            "target_r",
            "tinit",
            "tfinal",
            "deltaT",
            "beta1",
            "beta2",
            "orth_reg_weight",
            "total_step",
            "lora_alpha",
            "lora_dropout",
            "rank_pattern",
            "init_lora_weights",
            "r",
            "alpha_pattern",
            "bias",
            "fan_in_fan_out",
            "use_dora",
            "use_rslora",
            "layers_to_transform",
            "layers_pattern",
            "loftq_config",
            "lora_bias",
            "layer_replication");

    /** Validates as Python's {@code AdaLoraConfig.__post_init__}. */
    public AdaLoraConfig {
        Objects.requireNonNull(targets, "AdaLoraConfig.target_modules");
        rankPattern = rankPattern == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(rankPattern));
        if (initR < 1 || targetR < 1 || targetR > initR) {
            throw new IllegalArgumentException(
                    "AdaLoraConfig: need 1 ≤ target_r ≤ init_r; got target_r " + targetR + ", init_r " + initR);
        }
        if (totalStep <= 0) {
            throw new IllegalArgumentException(
                    "AdaLoraConfig.total_step must be > 0 (the planned optimizer steps);" + " got " + totalStep);
        }
        if (tinit < 0 || tfinal < 0 || tinit >= totalStep - tfinal) {
            throw new IllegalArgumentException("AdaLoraConfig: the schedule leaves no budgeting phase (tinit " + tinit
                    + " ≥ total_step " + totalStep + " − tfinal " + tfinal + "); decrease tinit/tfinal or increase"
                    + " total_step");
        }
        if (deltaT < 1) {
            throw new IllegalArgumentException("AdaLoraConfig.deltaT must be ≥ 1; got " + deltaT);
        }
        if (!(beta1 > 0 && beta1 < 1 && beta2 > 0 && beta2 < 1)) {
            throw new IllegalArgumentException(
                    "AdaLoraConfig.beta1/beta2 must be in (0, 1); got " + beta1 + ", " + beta2);
        }
        if (!(orthRegWeight >= 0)) {
            throw new IllegalArgumentException("AdaLoraConfig.orth_reg_weight must be ≥ 0; got " + orthRegWeight);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("AdaLoraConfig.lora_dropout must be in [0, 1); got " + dropout);
        }
        for (Map.Entry<String, boolean[]> e : rankPattern.entrySet()) {
            if (e.getValue().length != initR) {
                throw new IllegalArgumentException("AdaLoraConfig.rank_pattern['" + e.getKey() + E_SUFFIX + "'] has "
                        + e.getValue().length + " entries, expected init_r = " + initR);
            }
        }
    }

    /**
     * Returns a builder with Python's defaults (init_r 12, target_r 8, β 0.85, orth_reg_weight 0.5); the total steps
     * are required.
     *
     * @return the builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The factor of the update: α (or r₀ when α is 0) over r₀ + 1e-5, as Python divides by {@code ranknum}.
     *
     * @return the scaling
     */
    public double scaling() {
        return (loraAlpha > 0 ? loraAlpha : initR) / (initR + 1e-5);
    }

    /**
     * Returns this config with another rank pattern (what a trained adapter saves).
     *
     * @param pattern module path to surviving triplets
     * @return the config
     */
    public AdaLoraConfig withRankPattern(Map<String, boolean[]> pattern) {
        return new AdaLoraConfig(
                targets,
                initR,
                targetR,
                tinit,
                tfinal,
                deltaT,
                beta1,
                beta2,
                orthRegWeight,
                totalStep,
                loraAlpha,
                dropout,
                pattern,
                initWeights);
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode o = targets.toJson(PEFT_TYPE);
        o.put("init_r", initR);
        o.put("target_r", targetR);
        o.put("tinit", tinit);
        o.put("tfinal", tfinal);
        o.put("deltaT", deltaT);
        ConfigJson.putNumber(o, "beta1", beta1);
        ConfigJson.putNumber(o, "beta2", beta2);
        ConfigJson.putNumber(o, "orth_reg_weight", orthRegWeight);
        o.put("total_step", totalStep);
        ConfigJson.putNumber(o, "lora_alpha", loraAlpha);
        ConfigJson.putNumber(o, "lora_dropout", dropout);
        o.put("r", 8);
        o.put("bias", "none");
        o.put("fan_in_fan_out", false);
        o.put("use_dora", false);
        o.put("use_rslora", false);
        o.put("init_lora_weights", initWeights);
        if (rankPattern.isEmpty()) {
            o.putNull("rank_pattern");
        } else {
            ObjectNode rp = o.putObject("rank_pattern");
            rankPattern.forEach((path, keep) -> {
                ArrayNode a = rp.putArray(path + E_SUFFIX);
                for (boolean b : keep) {
                    a.add(b);
                }
            });
        }
        o.putObject("alpha_pattern");
        o.put("inference_mode", false);
        return o;
    }

    /**
     * Reads Python PEFT's {@code AdaLoraConfig}; unknown keys are ignored with a warning.
     *
     * @param json the object
     * @return the config
     * @throws IllegalArgumentException naming the key, for a setting peft4j does not support
     */
    public static AdaLoraConfig fromJson(ObjectNode json) {
        Targets targets = Targets.fromJson(json, PEFT_TYPE, "AdaLoraConfig", READ, LOG);
        for (String k : new String[] {"use_dora", "use_rslora", "fan_in_fan_out", "lora_bias"}) {
            if (json.path(k).asBoolean(false)) {
                throw new IllegalArgumentException("AdaLoraConfig." + k + " = true is not supported by peft4j");
            }
        }
        if (!"none".equals(json.path("bias").asText("none"))) {
            throw new IllegalArgumentException("AdaLoraConfig.bias must be 'none' in peft4j");
        }
        for (String k : new String[] {"layers_to_transform", "layers_pattern", "layer_replication"}) {
            if (!ConfigJson.isUnset(json.get(k))) {
                throw new IllegalArgumentException("AdaLoraConfig." + k + " is not supported yet by peft4j");
            }
        }
        Map<String, boolean[]> pattern = new LinkedHashMap<>();
        JsonNode rp = json.get("rank_pattern");
        if (rp != null && rp.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = rp.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getKey().endsWith(E_SUFFIX) || !e.getValue().isArray()) {
                    throw new IllegalArgumentException("AdaLoraConfig.rank_pattern: expected '<module>" + E_SUFFIX
                            + "': [true, false, ...]; got '" + e.getKey() + "'");
                }
                boolean[] keep = new boolean[e.getValue().size()];
                for (int i = 0; i < keep.length; i++) {
                    keep[i] = e.getValue().get(i).asBoolean();
                }
                pattern.put(e.getKey().substring(0, e.getKey().length() - E_SUFFIX.length()), keep);
            }
        }
        return new AdaLoraConfig(
                targets,
                ConfigJson.intValue(json, "init_r", "AdaLoraConfig", 12),
                ConfigJson.intValue(json, "target_r", "AdaLoraConfig", 8),
                ConfigJson.intValue(json, "tinit", "AdaLoraConfig", 0),
                ConfigJson.intValue(json, "tfinal", "AdaLoraConfig", 0),
                ConfigJson.intValue(json, "deltaT", "AdaLoraConfig", 1),
                ConfigJson.number(json, "beta1", "AdaLoraConfig", 0.85),
                ConfigJson.number(json, "beta2", "AdaLoraConfig", 0.85),
                ConfigJson.number(json, "orth_reg_weight", "AdaLoraConfig", 0.5),
                ConfigJson.integer(json, "total_step", "AdaLoraConfig", 0),
                ConfigJson.number(json, "lora_alpha", "AdaLoraConfig", 8.0),
                ConfigJson.number(json, "lora_dropout", "AdaLoraConfig", 0.0),
                pattern,
                json.path("init_lora_weights").asBoolean(true));
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof AdaLoraConfig c)) {
            return false;
        }
        if (!c.rankPattern.keySet().equals(rankPattern.keySet())) {
            return false;
        }
        for (Map.Entry<String, boolean[]> e : rankPattern.entrySet()) {
            if (!Arrays.equals(e.getValue(), c.rankPattern.get(e.getKey()))) {
                return false;
            }
        }
        return targets.equals(c.targets)
                && initR == c.initR
                && targetR == c.targetR
                && tinit == c.tinit
                && tfinal == c.tfinal
                && deltaT == c.deltaT
                && beta1 == c.beta1
                && beta2 == c.beta2
                && orthRegWeight == c.orthRegWeight
                && totalStep == c.totalStep
                && loraAlpha == c.loraAlpha
                && dropout == c.dropout
                && initWeights == c.initWeights;
    }

    @Override
    public int hashCode() {
        return Objects.hash(targets, initR, targetR, totalStep, loraAlpha);
    }

    /** Builds an {@link AdaLoraConfig}. */
    public static final class Builder extends AdapterConfigBuilder<Builder> {
        private int initR = 12;
        private int targetR = 8;
        private int tinit;
        private int tfinal;
        private int deltaT = 1;
        private double beta1 = 0.85;
        private double beta2 = 0.85;
        private double orthRegWeight = 0.5;
        private long totalStep;
        private double loraAlpha = 8;
        private double dropout;
        private boolean initWeights = true;

        private Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        /**
         * Sets the planned optimizer steps (required).
         *
         * @param steps &gt; 0
         * @return this builder
         */
        public Builder setTotalStep(long steps) {
            this.totalStep = steps;
            return this;
        }

        /**
         * Sets the starting and the average final rank.
         *
         * @param init r₀ (default 12)
         * @param target the final average (default 8)
         * @return this builder
         */
        public Builder optRanks(int init, int target) {
            this.initR = init;
            this.targetR = target;
            return this;
        }

        /**
         * Sets the schedule's phases.
         *
         * @param warmup {@code tinit} (default 0)
         * @param last {@code tfinal} (default 0)
         * @param every {@code deltaT} (default 1)
         * @return this builder
         */
        public Builder optSchedule(int warmup, int last, int every) {
            this.tinit = warmup;
            this.tfinal = last;
            this.deltaT = every;
            return this;
        }

        /**
         * Sets the smoothing of the importance scores.
         *
         * @param b1 sensitivity (default 0.85)
         * @param b2 uncertainty (default 0.85)
         * @return this builder
         */
        public Builder optBetas(double b1, double b2) {
            this.beta1 = b1;
            this.beta2 = b2;
            return this;
        }

        /**
         * Sets the weight of the orthogonality regulariser.
         *
         * @param w ≥ 0 (default 0.5)
         * @return this builder
         */
        public Builder optOrthRegWeight(double w) {
            this.orthRegWeight = w;
            return this;
        }

        /**
         * Sets α.
         *
         * @param alpha {@code lora_alpha} (default 8)
         * @return this builder
         */
        public Builder optAlpha(double alpha) {
            this.loraAlpha = alpha;
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
         * Sets whether E starts at 0 (default) or at random.
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
        public AdaLoraConfig build() {
            return new AdaLoraConfig(
                    buildTargets("AdaLoraConfig"),
                    initR,
                    targetR,
                    tinit,
                    tfinal,
                    deltaT,
                    beta1,
                    beta2,
                    orthRegWeight,
                    totalStep,
                    loraAlpha,
                    dropout,
                    Map.of(),
                    initWeights);
        }
    }
}
