package io.github.peft4j.ssf;

import java.util.Locale;

/** How SSF's scale γ and shift β start ({@code init_ssf_weights}). */
public enum SsfInit {
    /** γ ~ N(1, σ²), β ~ N(0, σ²): the paper's. */
    NORMAL,
    /** γ = 1, β = 0: the adapted model equals the base model at init. */
    IDENTITY;

    /**
     * Returns the name written to {@code adapter_config.json}.
     *
     * @return {@code normal} or {@code identity}
     */
    public String jsonName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Reads {@code init_ssf_weights}.
     *
     * @param value {@code normal} or {@code identity}
     * @return the init
     * @throws IllegalArgumentException on another value
     */
    public static SsfInit fromJson(String value) {
        for (SsfInit i : values()) {
            if (i.jsonName().equals(value)) {
                return i;
            }
        }
        throw new IllegalArgumentException(
                "SsfConfig.init_ssf_weights must be \"normal\" or \"identity\"; got \"" + value + "\"");
    }
}
