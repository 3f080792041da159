package io.github.peft4j.lora;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.AdapterMethod;
import io.github.peft4j.core.TargetLayer;
import io.github.peft4j.core.nn.FanInFanOut;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;

/** The LoRA method (with its DoRA and residual variants), registered through {@code META-INF/services}. */
public final class LoraMethod implements AdapterMethod<LoraConfig, LoraLayer> {

    /** Creates the method (used by {@link java.util.ServiceLoader}). */
    public LoraMethod() {}

    @Override
    public String peftType() {
        return LoraConfig.PEFT_TYPE;
    }

    @Override
    public Class<LoraConfig> configType() {
        return LoraConfig.class;
    }

    @Override
    public LoraConfig parseConfig(ObjectNode json) {
        return LoraConfig.fromJson(json);
    }

    @Override
    public LoraLayer createAdapter(TargetLayer layer, LoraConfig config, AdapterContext context) {
        return new LoraLayer(layer, config, context);
    }

    /**
     * Writes {@code fan_in_fan_out: true} when the adapter targets {@link FanInFanOut} layers (GPT-2's
     * {@code Conv1D}).
     *
     * <p>After a residual initialisation (PiSSA, LoRA-GA) the layers save rank 2r: {@code r}, {@code rank_pattern} and
     * the alphas are doubled so the scaling stays s (alpha × √2 with rsLoRA), as Python PEFT's own conversion writes
     * them, and {@code init_lora_weights} is {@code true} so Python does not re-run the initialisation on load.
     */
    @Override
    public ObjectNode exportConfig(LoraConfig config, Map<String, LoraLayer> layers) {
        ObjectNode json = config.toJson();
        // GPT-2's Conv1D layers: Python PEFT merges their update transposed (and warns when the flag is missing)
        json.put(
                "fan_in_fan_out",
                layers.values().stream().anyMatch(l -> l.getTarget().block() instanceof FanInFanOut));
        if (residualInits(layers).isEmpty()) {
            return json;
        }
        double alphaFactor = config.useRslora() ? Math.sqrt(2) : 2;
        json.put("r", config.rank() * 2);
        json.put("lora_alpha", config.alpha() * alphaFactor);
        json.put("init_lora_weights", true);
        ObjectNode ranks = json.putObject("rank_pattern");
        config.rankPattern().forEach((k, v) -> ranks.put(k, v * 2));
        ObjectNode alphas = json.putObject("alpha_pattern");
        config.alphaPattern().forEach((k, v) -> alphas.put(k, v * alphaFactor));
        return json;
    }

    @Override
    public List<String> modelCardNotes(LoraConfig config, Map<String, LoraLayer> layers) {
        SortedSet<String> inits = residualInits(layers);
        if (inits.isEmpty()) {
            return List.of();
        }
        return List.of(
                "initialisation: " + String.join(", ", inits) + " (residual: trained on W − s·B₀A₀ with"
                        + " the stored base weights untouched)",
                "saved at rank 2r relative to the ORIGINAL base weights: lora_A = [A; A₀], lora_B = [B, −B₀]; r,"
                        + " rank_pattern and lora_alpha in adapter_config.json are doubled (alpha × √2 with"
                        + " rsLoRA) so the scaling is unchanged. Load it onto the unmodified base model.");
    }

    private static SortedSet<String> residualInits(Map<String, LoraLayer> layers) {
        TreeSet<String> inits = new TreeSet<>();
        String plain = null;
        for (Map.Entry<String, LoraLayer> e : layers.entrySet()) {
            String init = e.getValue().getResidualInit();
            if (init != null) {
                inits.add(init);
            } else {
                plain = e.getKey();
            }
        }
        if (!inits.isEmpty() && plain != null) {
            throw new IllegalStateException("cannot save: some layers carry a residual initialisation (" + inits
                    + ") and '" + plain + "' does not; initialise every layer of the adapter the same way");
        }
        return inits;
    }
}
