package io.github.peft4j.methods.bottleneck;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
import java.util.Locale;

/** The nonlinearity between a bottleneck adapter's projections ({@code non_linearity}, as AdapterHub names them). */
public enum NonLinearity {
    /** max(0, x): Pfeiffer et al.'s choice. */
    RELU,
    /** GELU. */
    GELU,
    /** x·sigmoid(x). */
    SWISH,
    /** tanh. */
    TANH;

    NDArray apply(NDArray x) {
        return switch (this) {
            case RELU -> Activation.relu(x);
            case GELU -> Activation.gelu(x);
            case SWISH -> Activation.swish(x, 1f);
            case TANH -> Activation.tanh(x);
        };
    }

    /**
     * The name in {@code adapter_config.json}.
     *
     * @return e.g. {@code relu}
     */
    public String jsonName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Reads a name.
     *
     * @param name {@code relu}, {@code gelu}, {@code swish} (or {@code silu}) or {@code tanh}
     * @return the nonlinearity
     * @throws IllegalArgumentException naming the choices
     */
    public static NonLinearity parse(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.equals("silu")) {
            return SWISH;
        }
        for (NonLinearity v : values()) {
            if (v.jsonName().equals(n)) {
                return v;
            }
        }
        throw new IllegalArgumentException(
                "BottleneckConfig.non_linearity must be relu, gelu, swish or tanh; got '" + name + "'");
    }
}
