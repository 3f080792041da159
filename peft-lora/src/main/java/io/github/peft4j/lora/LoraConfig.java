package io.github.peft4j.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.AdapterConfigBuilder;
import io.github.peft4j.core.Targets;
import io.github.peft4j.core.io.ConfigJson;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LoRA (Hu et al., 2021, https://arxiv.org/abs/2106.09685) and rsLoRA (Kalajdzievski, 2023,
 * https://arxiv.org/abs/2312.03732): the weight update of a linear layer is learned as a rank-r product,
 * {@code y = W x + b + s · B A dropout(x)} with A [r, in], B [out, r] and s = alpha / r (rsLoRA: alpha / √r).
 *
 * <p>When to use: the default PEFT method. Rank 8–16 on the attention projections ({@code query}, {@code value})
 * trains well under 1% of a transformer's weights; {@code all-linear} adds capacity at little cost.
 *
 * <p>Immutable; build with {@link #builder()}, read and write with {@link #fromJson} / {@link #toJson()} in Python
 * PEFT's {@code adapter_config.json} form. Field names in messages are the JSON keys.
 *
 * @param targets {@code target_modules}, {@code exclude_modules}, {@code modules_to_save}, {@code task_type},
 *     {@code base_model_name_or_path}
 * @param rank {@code r}, the default rank (≥ 1)
 * @param alpha {@code lora_alpha}
 * @param dropout {@code lora_dropout}, in [0, 1)
 * @param useRslora {@code use_rslora}
 * @param useDora {@code use_dora}: DoRA (Liu et al., 2024, https://arxiv.org/abs/2402.09353), a variant of LoRA that
 *     learns a per-output magnitude m and applies the update in direction: W' = (m / ‖W + s·BA‖_row) ⊙ (W + s·BA),
 *     the norm detached from the gradient
 * @param init {@code init_lora_weights}
 * @param rankPattern {@code rank_pattern}: per-module rank overrides, key matched as a regex against the end of the
 *     module path
 * @param alphaPattern {@code alpha_pattern}: per-module alpha overrides, matched the same way
 */
public record LoraConfig(
        Targets targets,
        int rank,
        double alpha,
        double dropout,
        boolean useRslora,
        boolean useDora,
        LoraInit init,
        Map<String, Integer> rankPattern,
        Map<String, Double> alphaPattern)
        implements AdapterConfig {

    /** The {@code peft_type} of LoRA. */
    public static final String PEFT_TYPE = "LORA";

    private static final Logger LOG = LoggerFactory.getLogger(LoraConfig.class);

    /** Keys this class reads besides {@link Targets#KEYS}. */
    private static final Set<String> READ = Set.of(
            "r",
            "lora_alpha",
            "lora_dropout",
            "use_rslora",
            "use_dora",
            "init_lora_weights",
            "rank_pattern",
            "alpha_pattern",
            // set per layer by the layer's kind, as Python PEFT does: true for GPT-2's Conv1D, false for Linear
            "fan_in_fan_out");

    /** Bookkeeping keys ignored whatever their value. */
    private static final Set<String> ALWAYS_IGNORED =
            Set.of("inference_mode", "peft_version", "revision", "megatron_core", "qalora_group_size");

    /** Python PEFT keys that change the computation: accepted only at their default value. */
    private static final Map<String, String> MUST_BE_DEFAULT = Map.ofEntries(
            Map.entry("bias", "\"none\""),
            Map.entry("lora_bias", "false"),
            Map.entry("layers_to_transform", "null"),
            Map.entry("layers_pattern", "null"),
            Map.entry("layer_replication", "null"),
            Map.entry("target_parameters", "null"),
            Map.entry("trainable_token_indices", "null"),
            Map.entry("use_qalora", "false"),
            Map.entry("alora_invocation_tokens", "null"));

    /** Python PEFT keys that carry bookkeeping or settings of methods not in use: ignored silently when unset. */
    private static final Set<String> PEFT_BOOKKEEPING = Set.of(
            "inference_mode",
            "peft_version",
            "revision",
            "auto_mapping",
            "megatron_config",
            "megatron_core",
            "qalora_group_size",
            "loftq_config",
            "eva_config",
            "corda_config",
            "lora_ga_config",
            "arrow_config",
            "kasa_config",
            "monteclora_config",
            "velora_config",
            "use_bdlora",
            "ensure_weight_tying");

    /** Validates and copies. */
    public LoraConfig {
        if (rank < 1) {
            throw new IllegalArgumentException("LoraConfig.r must be ≥ 1; got " + rank);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("LoraConfig.lora_dropout must be in [0, 1); got " + dropout);
        }
        if (!Double.isFinite(alpha) || alpha == 0) {
            throw new IllegalArgumentException("LoraConfig.lora_alpha must be a finite non-zero number; got " + alpha);
        }
        Objects.requireNonNull(targets, "LoraConfig.target_modules");
        init = init == null ? LoraInit.DEFAULT : init;
        rankPattern = Map.copyOf(rankPattern == null ? Map.of() : new TreeMap<>(rankPattern));
        alphaPattern = Map.copyOf(alphaPattern == null ? Map.of() : new TreeMap<>(alphaPattern));
        for (Map.Entry<String, Integer> e : rankPattern.entrySet()) {
            if (e.getValue() < 1) {
                throw new IllegalArgumentException(
                        "LoraConfig.rank_pattern['" + e.getKey() + "'] must be ≥ 1; got " + e.getValue());
            }
            Pattern.compile(e.getKey());
        }
        alphaPattern.keySet().forEach(Pattern::compile);
    }

    /**
     * Returns a builder.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    /**
     * Returns the rank of a layer: the first {@code rank_pattern} key that matches the end of the path, else
     * {@code r}.
     *
     * @param path the module path
     * @return the rank
     */
    public int rankFor(String path) {
        String key = patternKey(rankPattern.keySet(), path);
        return key == null ? rank : rankPattern.get(key);
    }

    /**
     * Returns the alpha of a layer: the first {@code alpha_pattern} key that matches the end of the path, else
     * {@code lora_alpha}.
     *
     * @param path the module path
     * @return alpha
     */
    public double alphaFor(String path) {
        String key = patternKey(alphaPattern.keySet(), path);
        return key == null ? alpha : alphaPattern.get(key);
    }

    /**
     * Returns the scaling s of a layer: alpha / r, or alpha / √r with rsLoRA.
     *
     * @param path the module path
     * @return s
     */
    public double scalingFor(String path) {
        int r = rankFor(path);
        return useRslora ? alphaFor(path) / Math.sqrt(r) : alphaFor(path) / r;
    }

    private static String patternKey(Set<String> keys, String path) {
        for (String k : new java.util.TreeSet<>(keys)) {
            if (path.equals(k)
                    || Pattern.compile("(.*\\.)?(" + k + ")").matcher(path).matches()) {
                return k;
            }
        }
        return null;
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode o = targets.toJson(PEFT_TYPE);
        o.put("r", rank);
        ConfigJson.putNumber(o, "lora_alpha", alpha);
        o.put("lora_dropout", dropout);
        ObjectNode rp = o.putObject("rank_pattern");
        rankPattern.forEach(rp::put);
        ObjectNode ap = o.putObject("alpha_pattern");
        alphaPattern.forEach((k, v) -> ConfigJson.putNumber(ap, k, v));
        o.put("use_rslora", useRslora);
        switch (init) {
            case DEFAULT -> o.put("init_lora_weights", true);
            case RANDOM -> o.put("init_lora_weights", false);
            case GAUSSIAN -> o.put("init_lora_weights", "gaussian");
            default -> throw new IllegalStateException(init.toString());
        }
        o.put("use_dora", useDora);
        o.put("bias", "none");
        o.put("fan_in_fan_out", false);
        o.putNull("layers_to_transform");
        o.putNull("layers_pattern");
        o.put("inference_mode", false);
        return o;
    }

    /**
     * Reads {@code adapter_config.json} as Python PEFT writes it. Unknown keys are ignored with a warning; keys that
     * would change the computation and that peft4j does not support (e.g. {@code bias: "all"}) fail with a message
     * naming the key. {@code fan_in_fan_out} is taken from each target layer's kind, as Python PEFT does.
     *
     * @param json the object
     * @return the config
     * @throws IllegalArgumentException if a value is invalid or unsupported
     */
    public static LoraConfig fromJson(ObjectNode json) {
        ConfigJson.requirePeftType(json, PEFT_TYPE, "LoRA config");
        List<String> ignored = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = json.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String k = e.getKey();
            JsonNode v = e.getValue();
            if (READ.contains(k) || Targets.KEYS.contains(k)) {
                continue;
            }
            String def = MUST_BE_DEFAULT.get(k);
            if (def != null) {
                if (!ConfigJson.isUnset(v) && !v.toString().equals(def)) {
                    throw new IllegalArgumentException(
                            "LoraConfig." + k + " = " + v + " is not supported by peft4j" + " (expected " + def + ")");
                }
                continue;
            }
            if (PEFT_BOOKKEEPING.contains(k) && (ConfigJson.isUnset(v) || ALWAYS_IGNORED.contains(k))) {
                continue;
            }
            ignored.add(k);
        }
        if (!ignored.isEmpty()) {
            LOG.warn("adapter_config.json: ignoring keys peft4j does not know: {}", ignored);
        }
        Builder b = builder().optTargets(Targets.fromJson(json, "LoraConfig"));
        b.optRank(ConfigJson.intValue(json, "r", "LoraConfig", 8));
        b.optAlpha(ConfigJson.number(json, "lora_alpha", "LoraConfig", 8.0));
        b.optDropout(ConfigJson.number(json, "lora_dropout", "LoraConfig", 0.0));
        if (json.hasNonNull("use_rslora")) {
            b.optUseRslora(ConfigJson.bool(json.get("use_rslora"), "LoraConfig.use_rslora"));
        }
        if (json.hasNonNull("use_dora")) {
            b.optUseDora(ConfigJson.bool(json.get("use_dora"), "LoraConfig.use_dora"));
        }
        JsonNode init = json.get("init_lora_weights");
        if (init != null && !init.isNull()) {
            if (init.isBoolean()) {
                b.optInit(init.asBoolean() ? LoraInit.DEFAULT : LoraInit.RANDOM);
            } else if ("gaussian".equals(init.asText())) {
                b.optInit(LoraInit.GAUSSIAN);
            } else {
                throw new IllegalArgumentException("LoraConfig.init_lora_weights = " + init + " is not supported;"
                        + " expected true, false or \"gaussian\"");
            }
        }
        Map<String, Integer> rp = new LinkedHashMap<>();
        json.path("rank_pattern")
                .fields()
                .forEachRemaining(e -> rp.put(
                        e.getKey(),
                        ConfigJson.intValue(e.getValue(), "LoraConfig.rank_pattern['" + e.getKey() + "']")));
        Map<String, Double> ap = new LinkedHashMap<>();
        json.path("alpha_pattern")
                .fields()
                .forEachRemaining(e -> ap.put(
                        e.getKey(), ConfigJson.number(e.getValue(), "LoraConfig.alpha_pattern['" + e.getKey() + "']")));
        return b.optRankPattern(rp).optAlphaPattern(ap).build();
    }

    /**
     * Returns a builder initialised from this config.
     *
     * @return a builder
     */
    public Builder toBuilder() {
        return builder()
                .optTargets(targets)
                .optRank(rank)
                .optAlpha(alpha)
                .optDropout(dropout)
                .optUseRslora(useRslora)
                .optUseDora(useDora)
                .optInit(init)
                .optRankPattern(rankPattern)
                .optAlphaPattern(alphaPattern);
    }

    /** Builds a {@link LoraConfig}. Defaults are Python PEFT's: r 8, alpha 8, dropout 0. */
    public static final class Builder extends AdapterConfigBuilder<Builder> {
        private int rank = 8;
        private double alpha = 8;
        private double dropout;
        private boolean useRslora;
        private boolean useDora;
        private LoraInit init = LoraInit.DEFAULT;
        private Map<String, Integer> rankPattern = Map.of();
        private Map<String, Double> alphaPattern = Map.of();

        private Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        /**
         * Sets the rank r (default 8).
         *
         * @param rank ≥ 1
         * @return this builder
         */
        public Builder optRank(int rank) {
            this.rank = rank;
            return this;
        }

        /**
         * Sets lora_alpha (default 8).
         *
         * @param alpha the numerator of the scaling
         * @return this builder
         */
        public Builder optAlpha(double alpha) {
            this.alpha = alpha;
            return this;
        }

        /**
         * Sets the dropout on the adapter input (default 0; activation path only).
         *
         * @param dropout in [0, 1)
         * @return this builder
         */
        public Builder optDropout(double dropout) {
            this.dropout = dropout;
            return this;
        }

        /**
         * Uses rsLoRA scaling alpha / √r.
         *
         * @param useRslora whether to
         * @return this builder
         */
        public Builder optUseRslora(boolean useRslora) {
            this.useRslora = useRslora;
            return this;
        }

        /**
         * Uses DoRA: a learned magnitude per output row on top of the LoRA direction update.
         *
         * @param useDora whether to
         * @return this builder
         */
        public Builder optUseDora(boolean useDora) {
            this.useDora = useDora;
            return this;
        }

        /**
         * Sets the initialization (default {@link LoraInit#DEFAULT}).
         *
         * @param init the init
         * @return this builder
         */
        public Builder optInit(LoraInit init) {
            this.init = init;
            return this;
        }

        /**
         * Sets per-module ranks.
         *
         * @param rankPattern regex (matched against the end of the path) to rank
         * @return this builder
         */
        public Builder optRankPattern(Map<String, Integer> rankPattern) {
            this.rankPattern = rankPattern;
            return this;
        }

        /**
         * Sets per-module alphas.
         *
         * @param alphaPattern regex (matched against the end of the path) to alpha
         * @return this builder
         */
        public Builder optAlphaPattern(Map<String, Double> alphaPattern) {
            this.alphaPattern = alphaPattern;
            return this;
        }

        /**
         * Builds the config.
         *
         * @return the config
         * @throws IllegalArgumentException naming the field and bound that a value breaks
         */
        public LoraConfig build() {
            return new LoraConfig(
                    buildTargets("LoraConfig"),
                    rank,
                    alpha,
                    dropout,
                    useRslora,
                    useDora,
                    init,
                    rankPattern,
                    alphaPattern);
        }
    }
}
