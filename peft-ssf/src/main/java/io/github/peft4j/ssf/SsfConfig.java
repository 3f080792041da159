package io.github.peft4j.ssf;

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
 * SSF, scaling and shifting features (Lian et al., 2022, https://arxiv.org/abs/2210.08823): after each target layer
 * (linear layers and normalisations) the output is scaled and shifted per feature, {@code y ← γ ⊙ y + β}, with only γ
 * and β trained. The smallest budget of the methods here (2 × width per layer), and it merges away completely into
 * the preceding layer.
 *
 * <p>Python PEFT has no SSF, so its {@code adapter_config.json} is peft4j's own ({@code peft_type: "SSF"}); see
 * docs/adapter-format.md. Build with {@link #builder()}.
 *
 * @param targets {@code target_modules} (linear layers and normalisations such as {@code LayerNorm}),
 *     {@code exclude_modules}, {@code modules_to_save}, {@code task_type}, {@code base_model_name_or_path}
 * @param init {@code init_ssf_weights}: {@link SsfInit#NORMAL} (γ ~ N(1, σ²), β ~ N(0, σ²), the paper's) or
 *     {@link SsfInit#IDENTITY} (γ = 1, β = 0: the model is unchanged at init)
 * @param initStd {@code init_ssf_std}: σ of the normal init (the paper's 0.02)
 */
public record SsfConfig(Targets targets, SsfInit init, double initStd) implements AdapterConfig {

    /** The {@code peft_type} of SSF (peft4j's own). */
    public static final String PEFT_TYPE = "SSF";

    private static final Logger LOG = LoggerFactory.getLogger(SsfConfig.class);
    private static final List<String> READ = List.of("init_ssf_weights", "init_ssf_std");

    /** Validates. */
    public SsfConfig {
        Objects.requireNonNull(targets, "SsfConfig.target_modules");
        init = init == null ? SsfInit.NORMAL : init;
        if (!(initStd >= 0)) {
            throw new IllegalArgumentException("SsfConfig.init_ssf_std must be ≥ 0; got " + initStd);
        }
    }

    /**
     * Returns a builder: the paper's init, N(1, 0.02²) and N(0, 0.02²).
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
        o.put("init_ssf_weights", init.jsonName());
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
        Targets targets = Targets.fromJson(json, PEFT_TYPE, "SsfConfig", READ, LOG);
        String init = json.path("init_ssf_weights").asText(SsfInit.NORMAL.jsonName());
        return builder()
                .optTargets(targets)
                .optInit(SsfInit.fromJson(init))
                .optInitStd(ConfigJson.number(json, "init_ssf_std", "SsfConfig", 0.02))
                .build();
    }

    /** Builds an {@link SsfConfig}. */
    public static final class Builder extends AdapterConfigBuilder<Builder> {
        private SsfInit init = SsfInit.NORMAL;
        private double initStd = 0.02;

        private Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        /**
         * Sets the initialisation (default {@link SsfInit#NORMAL}).
         *
         * @param init the init
         * @return this builder
         */
        public Builder optInit(SsfInit init) {
            this.init = init;
            return this;
        }

        /**
         * Sets σ of the normal init (default 0.02).
         *
         * @param std ≥ 0
         * @return this builder
         */
        public Builder optInitStd(double std) {
            this.initStd = std;
            return this;
        }

        /**
         * Builds the config.
         *
         * @return the config
         */
        public SsfConfig build() {
            return new SsfConfig(buildTargets("SsfConfig"), init, initStd);
        }
    }
}
