package io.github.peft4j.merge;

import java.util.Locale;

/** How TIES elects each entry's sign: Python PEFT's {@code majority_sign_method}. */
public enum MajoritySign {
    /** The sign of the sum of the (pruned) values. */
    TOTAL,
    /** The sign held by more of the (pruned) values. */
    FREQUENCY;

    /**
     * Parses {@code total} or {@code frequency} (any case).
     *
     * @param name the name
     * @return the method
     * @throws IllegalArgumentException naming the accepted values
     */
    public static MajoritySign parse(String name) {
        for (MajoritySign m : values()) {
            if (m.name().equalsIgnoreCase(name)) {
                return m;
            }
        }
        throw new IllegalArgumentException("majority sign method must be total or frequency; got '" + name + "'");
    }

    /**
     * Returns Python PEFT's name.
     *
     * @return {@code total} or {@code frequency}
     */
    public String pythonName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
