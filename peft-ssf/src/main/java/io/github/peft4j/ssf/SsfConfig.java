package io.github.peft4j.ssf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.core.io.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * SSF, scaling and shifting features (Lian et al., 2022, https://arxiv.org/abs/2210.08823): after each target layer
 * (linear layers and LayerNorms) the output is scaled and shifted per feature, {@code y ← γ ⊙ y + β}, with only γ and β
 * trained. The smallest budget of the methods here (2 × width per layer), and it merges away completely into the
 * preceding layer.
 *
 * <p>Python PEFT has no SSF, so its {@code adapter_config.json} is peft4j's own ({@code peft_type: "SSF"}); see
 * docs/adapter-format.md.
 *
 * @param targetModules {@code target_modules}: linear layers and {@code LayerNorm}s
 * @param excludeModules {@code exclude_modules}
 * @param init {@code init_ssf_weights}: "normal" (γ ~ N(1, σ²), β ~ N(0, σ²), the paper's) or "identity" (γ = 1,
 *     β = 0: the model is unchanged at init)
 * @param initStd σ of the normal init (the paper's 0.02)
 * @param modulesToSave {@code modules_to_save}
 * @param taskType {@code task_type}, or null
 * @param baseModelNameOrPath {@code base_model_name_or_path}, or null
 */
public record SsfConfig(ModuleSelector targetModules, ModuleSelector excludeModules, String init, double initStd,
        List<String> modulesToSave, String taskType, String baseModelNameOrPath) implements AdapterConfig {

    /** The {@code peft_type} of SSF (peft4j's own). */
    public static final String PEFT_TYPE = "SSF";

    private static final Logger LOG = LoggerFactory.getLogger(SsfConfig.class);
    private static final Set<String> READ = Set.of("peft_type", "target_modules", "exclude_modules",
            "init_ssf_weights", "init_ssf_std", "modules_to_save", "task_type", "base_model_name_or_path",
            "inference_mode");

    /** Validates and copies. */
    public SsfConfig {
        Objects.requireNonNull(targetModules, "SsfConfig.target_modules");
        excludeModules = excludeModules == null ? ModuleSelector.none() : excludeModules;
        init = init == null ? "normal" : init;
        if (!init.equals("normal") && !init.equals("identity")) {
            throw new IllegalArgumentException("SsfConfig.init_ssf_weights must be \"normal\" or \"identity\"; got \""
                    + init + "\"");
        }
        if (!(initStd >= 0)) {
            throw new IllegalArgumentException("SsfConfig.init_ssf_std must be ≥ 0; got " + initStd);
        }
        modulesToSave = AdapterConfig.distinct(modulesToSave);
    }

    /**
     * Creates a config with the paper's init.
     *
     * @param targets target module names
     * @return the config
     */
    public static SsfConfig of(String... targets) {
        return new SsfConfig(ModuleSelector.names(targets), null, "normal", 0.02, List.of(), null, null);
    }

    /**
     * Returns a copy with another init.
     *
     * @param newInit "normal" or "identity"
     * @return the config
     */
    public SsfConfig withInit(String newInit) {
        return new SsfConfig(targetModules, excludeModules, newInit, initStd, modulesToSave, taskType,
                baseModelNameOrPath);
    }

    /**
     * Returns a copy with modules saved whole.
     *
     * @param modules module names
     * @return the config
     */
    public SsfConfig withModulesToSave(String... modules) {
        return new SsfConfig(targetModules, excludeModules, init, initStd, List.of(modules), taskType,
                baseModelNameOrPath);
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode o = commonJson();
        o.put("init_ssf_weights", init);
        o.put("init_ssf_std", initStd);
        o.put("inference_mode", false);
        return o;
    }

    /**
     * Reads the config; unknown keys are ignored with a warning.
     *
     * @param json the object
     * @return the config
     */
    public static SsfConfig fromJson(ObjectNode json) {
        if (!PEFT_TYPE.equals(json.path("peft_type").asText())) {
            throw new IllegalArgumentException("peft_type must be \"SSF\" for an SSF config; got "
                    + json.get("peft_type"));
        }
        AdapterConfig.warnUnknownKeys(json, READ, "SSF", LOG);
        List<String> mts = AdapterConfig.stringList(json, "modules_to_save");
        JsonNode std = json.get("init_ssf_std");
        if (std != null && !std.isNull() && !std.isNumber()) {
            throw new IllegalArgumentException("SsfConfig.init_ssf_std must be a number; got " + std);
        }
        return new SsfConfig(ModuleSelector.fromJson(json.get("target_modules"), "target_modules"),
                ModuleSelector.fromJson(json.get("exclude_modules"), "exclude_modules"),
                json.path("init_ssf_weights").asText("normal"), std == null || std.isNull() ? 0.02 : std.asDouble(),
                mts, AdapterConfig.textOrNull(json, "task_type"),
                AdapterConfig.textOrNull(json, "base_model_name_or_path"));
    }
}
