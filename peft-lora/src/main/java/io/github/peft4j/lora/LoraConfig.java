package io.github.peft4j.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.core.io.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

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
 * @param rank {@code r}, the default rank (≥ 1)
 * @param alpha {@code lora_alpha}
 * @param dropout {@code lora_dropout}, in [0, 1)
 * @param targetModules {@code target_modules}
 * @param excludeModules {@code exclude_modules}
 * @param useRslora {@code use_rslora}
 * @param useDora {@code use_dora}: DoRA (Liu et al., 2024, https://arxiv.org/abs/2402.09353), a variant of LoRA that
 *     learns a per-output magnitude m and applies the update in direction: W' = (m / ‖W + s·BA‖_row) ⊙ (W + s·BA),
 *     the norm detached from the gradient
 * @param init {@code init_lora_weights}
 * @param rankPattern {@code rank_pattern}: per-module rank overrides, key matched as a regex against the end of the
 *     module path
 * @param alphaPattern {@code alpha_pattern}: per-module alpha overrides, matched the same way
 * @param modulesToSave {@code modules_to_save}
 * @param taskType {@code task_type}, or null
 * @param baseModelNameOrPath {@code base_model_name_or_path}, or null
 */
public record LoraConfig(int rank, double alpha, double dropout, ModuleSelector targetModules,
        ModuleSelector excludeModules, boolean useRslora, boolean useDora, LoraInit init,
        Map<String, Integer> rankPattern,
        Map<String, Double> alphaPattern, List<String> modulesToSave, String taskType, String baseModelNameOrPath)
        implements AdapterConfig {

    /** The {@code peft_type} of LoRA. */
    public static final String PEFT_TYPE = "LORA";

    private static final Logger LOG = LoggerFactory.getLogger(LoraConfig.class);

    /** Keys this class reads. */
    private static final Set<String> READ = Set.of("peft_type", "r", "lora_alpha", "lora_dropout", "target_modules",
            "exclude_modules", "use_rslora", "use_dora", "init_lora_weights", "rank_pattern", "alpha_pattern",
            "modules_to_save", "task_type", "base_model_name_or_path");

    /** Python PEFT keys that change the computation: accepted only at their default value. */
    private static final Map<String, String> MUST_BE_DEFAULT = Map.ofEntries(
            Map.entry("bias", "\"none\""), Map.entry("fan_in_fan_out", "false"),
            Map.entry("lora_bias", "false"), Map.entry("layers_to_transform", "null"),
            Map.entry("layers_pattern", "null"), Map.entry("layer_replication", "null"),
            Map.entry("target_parameters", "null"), Map.entry("trainable_token_indices", "null"),
            Map.entry("use_qalora", "false"), Map.entry("alora_invocation_tokens", "null"));

    /** Python PEFT keys that carry bookkeeping or settings of methods not in use: ignored silently when unset. */
    private static final Set<String> PEFT_BOOKKEEPING = Set.of("inference_mode", "peft_version", "revision",
            "auto_mapping", "megatron_config", "megatron_core", "qalora_group_size", "loftq_config", "eva_config",
            "corda_config", "lora_ga_config", "arrow_config", "kasa_config", "monteclora_config", "velora_config",
            "use_bdlora", "ensure_weight_tying");

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
        Objects.requireNonNull(targetModules, "LoraConfig.target_modules");
        excludeModules = excludeModules == null ? ModuleSelector.none() : excludeModules;
        init = init == null ? LoraInit.DEFAULT : init;
        rankPattern = Map.copyOf(rankPattern == null ? Map.of() : new TreeMap<>(rankPattern));
        alphaPattern = Map.copyOf(alphaPattern == null ? Map.of() : new TreeMap<>(alphaPattern));
        for (Map.Entry<String, Integer> e : rankPattern.entrySet()) {
            if (e.getValue() < 1) {
                throw new IllegalArgumentException("LoraConfig.rank_pattern['" + e.getKey() + "'] must be ≥ 1; got "
                        + e.getValue());
            }
            Pattern.compile(e.getKey());
        }
        alphaPattern.keySet().forEach(Pattern::compile);
        modulesToSave = AdapterConfig.distinct(modulesToSave);
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
            if (path.equals(k) || Pattern.compile("(.*\\.)?(" + k + ")").matcher(path).matches()) {
                return k;
            }
        }
        return null;
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode o = commonJson();
        o.put("r", rank);
        putNumber(o, "lora_alpha", alpha);
        o.put("lora_dropout", dropout);
        ObjectNode rp = o.putObject("rank_pattern");
        rankPattern.forEach(rp::put);
        ObjectNode ap = o.putObject("alpha_pattern");
        alphaPattern.forEach((k, v) -> putNumber(ap, k, v));
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

    private static void putNumber(ObjectNode o, String key, double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            o.put(key, (long) v);
        } else {
            o.put(key, v);
        }
    }

    /**
     * Reads {@code adapter_config.json} as Python PEFT writes it. Unknown keys are ignored with a warning; keys that
     * would change the computation and that peft4j does not support (e.g. {@code use_dora: true},
     * {@code bias: "all"}) fail with a message naming the key.
     *
     * @param json the object
     * @return the config
     * @throws IllegalArgumentException if a value is invalid or unsupported
     */
    public static LoraConfig fromJson(ObjectNode json) {
        String type = json.path("peft_type").asText(null);
        if (!PEFT_TYPE.equals(type)) {
            throw new IllegalArgumentException("peft_type must be \"" + PEFT_TYPE + "\" for a LoRA config; got "
                    + json.get("peft_type"));
        }
        List<String> ignored = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = json.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String k = e.getKey();
            JsonNode v = e.getValue();
            if (READ.contains(k)) {
                continue;
            }
            String def = MUST_BE_DEFAULT.get(k);
            if (def != null) {
                if (!isUnset(v) && !v.toString().equals(def)) {
                    throw new IllegalArgumentException("LoraConfig." + k + " = " + v + " is not supported by peft4j"
                            + " (expected " + def + ")");
                }
                continue;
            }
            if (PEFT_BOOKKEEPING.contains(k) && (isUnset(v) || "inference_mode".equals(k)
                    || "peft_version".equals(k) || "revision".equals(k) || "megatron_core".equals(k)
                    || "qalora_group_size".equals(k))) {
                continue;
            }
            ignored.add(k);
        }
        if (!ignored.isEmpty()) {
            LOG.warn("adapter_config.json: ignoring keys peft4j does not know: {}", ignored);
        }
        Builder b = builder().setTargetModules(ModuleSelector.fromJson(json.get("target_modules"),
                "target_modules"));
        b.optExcludeModules(ModuleSelector.fromJson(json.get("exclude_modules"), "exclude_modules"));
        if (json.hasNonNull("r")) {
            b.optRank(intValue(json.get("r"), "r"));
        }
        if (json.hasNonNull("lora_alpha")) {
            b.optAlpha(number(json.get("lora_alpha"), "lora_alpha"));
        }
        if (json.hasNonNull("lora_dropout")) {
            b.optDropout(number(json.get("lora_dropout"), "lora_dropout"));
        }
        if (json.hasNonNull("use_rslora")) {
            b.optUseRslora(bool(json.get("use_rslora"), "use_rslora"));
        }
        if (json.hasNonNull("use_dora")) {
            b.optUseDora(bool(json.get("use_dora"), "use_dora"));
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
        json.path("rank_pattern").fields().forEachRemaining(e -> rp.put(e.getKey(),
                intValue(e.getValue(), "rank_pattern['" + e.getKey() + "']")));
        Map<String, Double> ap = new LinkedHashMap<>();
        json.path("alpha_pattern").fields().forEachRemaining(e -> ap.put(e.getKey(),
                number(e.getValue(), "alpha_pattern['" + e.getKey() + "']")));
        b.optRankPattern(rp).optAlphaPattern(ap);
        JsonNode mts = json.get("modules_to_save");
        if (mts != null && !mts.isNull()) {
            if (!mts.isArray()) {
                throw new IllegalArgumentException("LoraConfig.modules_to_save must be a list of module names; got "
                        + mts);
            }
            List<String> l = new ArrayList<>();
            mts.forEach(m -> l.add(m.asText()));
            b.optModulesToSave(l);
        }
        b.optTaskType(json.path("task_type").isTextual() ? json.get("task_type").asText() : null);
        b.optBaseModelNameOrPath(json.path("base_model_name_or_path").isTextual()
                ? json.get("base_model_name_or_path").asText() : null);
        return b.build();
    }

    private static boolean isUnset(JsonNode v) {
        return v == null || v.isNull() || (v.isContainerNode() && v.isEmpty()) || (v.isBoolean() && !v.asBoolean());
    }

    private static int intValue(JsonNode v, String field) {
        if (!v.isIntegralNumber() && !(v.isNumber() && v.asDouble() == Math.rint(v.asDouble()))) {
            throw new IllegalArgumentException("LoraConfig." + field + " must be an integer; got " + v);
        }
        return v.asInt();
    }

    private static double number(JsonNode v, String field) {
        if (!v.isNumber()) {
            throw new IllegalArgumentException("LoraConfig." + field + " must be a number; got " + v);
        }
        return v.asDouble();
    }

    private static boolean bool(JsonNode v, String field) {
        if (!v.isBoolean()) {
            throw new IllegalArgumentException("LoraConfig." + field + " must be true or false; got " + v);
        }
        return v.asBoolean();
    }

    /**
     * Returns a builder initialised from this config.
     *
     * @return a builder
     */
    public Builder toBuilder() {
        return builder().setTargetModules(targetModules).optExcludeModules(excludeModules).optRank(rank)
                .optAlpha(alpha).optDropout(dropout).optUseRslora(useRslora).optUseDora(useDora).optInit(init)
                .optRankPattern(rankPattern).optAlphaPattern(alphaPattern).optModulesToSave(modulesToSave)
                .optTaskType(taskType).optBaseModelNameOrPath(baseModelNameOrPath);
    }

    /** Builds a {@link LoraConfig}. Defaults are Python PEFT's: r 8, alpha 8, dropout 0. */
    public static final class Builder {
        private int rank = 8;
        private double alpha = 8;
        private double dropout;
        private ModuleSelector targetModules;
        private ModuleSelector excludeModules = ModuleSelector.none();
        private boolean useRslora;
        private boolean useDora;
        private LoraInit init = LoraInit.DEFAULT;
        private Map<String, Integer> rankPattern = Map.of();
        private Map<String, Double> alphaPattern = Map.of();
        private List<String> modulesToSave = List.of();
        private String taskType;
        private String baseModelNameOrPath;

        private Builder() {}

        /**
         * Sets the layers to adapt by name (exact path or suffix after a dot).
         *
         * @param names e.g. {@code "query", "value"}
         * @return this builder
         */
        public Builder setTargetModules(String... names) {
            return setTargetModules(names.length == 1 && ModuleSelector.ALL_LINEAR.equals(names[0])
                    ? ModuleSelector.allLinear() : ModuleSelector.names(names));
        }

        /**
         * Sets the layers to adapt.
         *
         * @param selector names, a regex or all-linear
         * @return this builder
         */
        public Builder setTargetModules(ModuleSelector selector) {
            this.targetModules = selector;
            return this;
        }

        /**
         * Sets modules never adapted.
         *
         * @param selector the modules
         * @return this builder
         */
        public Builder optExcludeModules(ModuleSelector selector) {
            this.excludeModules = selector;
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
         * Sets modules trained fully and saved whole (e.g. {@code classifier}).
         *
         * @param modules module names
         * @return this builder
         */
        public Builder optModulesToSave(List<String> modules) {
            this.modulesToSave = modules;
            return this;
        }

        /**
         * Sets modules trained fully and saved whole.
         *
         * @param modules module names
         * @return this builder
         */
        public Builder optModulesToSave(String... modules) {
            return optModulesToSave(List.of(modules));
        }

        /**
         * Sets the task type written to the config ({@code SEQ_CLS}, {@code FEATURE_EXTRACTION}, ...).
         *
         * @param taskType the task type or null
         * @return this builder
         */
        public Builder optTaskType(String taskType) {
            this.taskType = taskType;
            return this;
        }

        /**
         * Records the base model's name or path in the config.
         *
         * @param base the name or path, or null
         * @return this builder
         */
        public Builder optBaseModelNameOrPath(String base) {
            this.baseModelNameOrPath = base;
            return this;
        }

        /**
         * Builds the config.
         *
         * @return the config
         * @throws IllegalArgumentException naming the field and bound that a value breaks
         */
        public LoraConfig build() {
            if (targetModules == null) {
                throw new IllegalArgumentException("LoraConfig.target_modules is required: e.g. setTargetModules("
                        + "\"query\", \"value\") or \"all-linear\"");
            }
            return new LoraConfig(rank, alpha, dropout, targetModules, excludeModules, useRslora, useDora, init,
                    rankPattern, alphaPattern, modulesToSave, taskType, baseModelNameOrPath);
        }
    }
}
