package io.github.peft4j.core;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/** The methods found on the class path through {@link ServiceLoader}. */
public final class AdapterMethods {

    private AdapterMethods() {}

    /**
     * Returns every registered method.
     *
     * @return the methods
     */
    public static List<AdapterMethod> all() {
        List<AdapterMethod> out = new ArrayList<>();
        ServiceLoader.load(AdapterMethod.class, AdapterMethods.class.getClassLoader()).forEach(out::add);
        return out;
    }

    /**
     * Finds the method of a {@code peft_type}.
     *
     * @param peftType e.g. {@code LORA}
     * @return the method
     * @throws IllegalArgumentException if no module on the class path provides it, naming those that exist
     */
    public static AdapterMethod forPeftType(String peftType) {
        List<String> known = new ArrayList<>();
        for (AdapterMethod m : all()) {
            if (m.peftType().equals(peftType)) {
                return m;
            }
            known.add(m.peftType());
        }
        throw new IllegalArgumentException("peft_type '" + peftType + "' is not supported by the peft4j modules on"
                + " the class path; supported: " + known + " (LORA needs io.github.peft4j:peft-lora)");
    }

    /**
     * Finds the method that accepts a config object.
     *
     * @param config the config
     * @return the method
     * @throws IllegalArgumentException if none does
     */
    public static AdapterMethod forConfig(AdapterConfig config) {
        for (AdapterMethod m : all()) {
            if (m.accepts(config)) {
                return m;
            }
        }
        throw new IllegalArgumentException("no registered AdapterMethod accepts " + config.getClass().getName()
                + " (peft_type " + config.peftType() + "); is its module on the class path?");
    }
}
