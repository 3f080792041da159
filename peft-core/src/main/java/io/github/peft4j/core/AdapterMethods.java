package io.github.peft4j.core;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * The registry of methods found on the class path through {@link ServiceLoader}, loaded once on first use.
 */
public final class AdapterMethods {

    /** Where each known {@code peft_type} comes from, for the message when its module is missing. */
    private static final Map<String, String> MODULES = Map.of(
            "LORA",
            "io.github.peft4j:peft-lora",
            "SSF",
            "io.github.peft4j:peft-ssf",
            "SARA",
            "io.github.peft4j:peft-sparse",
            "SPIEL",
            "io.github.peft4j:peft-sparse");

    private AdapterMethods() {}

    /** Lazily loaded, immutable: the class-path scan runs once per class loader. */
    private static final class Holder {
        static final Map<String, AdapterMethod<?, ?>> BY_TYPE = load();

        private static Map<String, AdapterMethod<?, ?>> load() {
            Map<String, AdapterMethod<?, ?>> out = new LinkedHashMap<>();
            for (AdapterMethod<?, ?> m :
                    ServiceLoader.load(AdapterMethod.class, AdapterMethods.class.getClassLoader())) {
                AdapterMethod<?, ?> before = out.putIfAbsent(m.peftType(), m);
                if (before != null && before.getClass() != m.getClass()) {
                    throw new IllegalStateException("two AdapterMethods register peft_type '" + m.peftType() + "': "
                            + before.getClass().getName() + " and "
                            + m.getClass().getName());
                }
            }
            return Map.copyOf(out);
        }
    }

    /**
     * Returns every registered method.
     *
     * @return the methods, in no particular order
     */
    public static List<AdapterMethod<?, ?>> all() {
        return List.copyOf(Holder.BY_TYPE.values());
    }

    /**
     * Finds the method of a {@code peft_type}.
     *
     * @param peftType e.g. {@code LORA}
     * @return the method
     * @throws IllegalArgumentException if no module on the class path provides it, naming those that do and the
     *     module that would
     */
    public static AdapterMethod<?, ?> forPeftType(String peftType) {
        AdapterMethod<?, ?> m = Holder.BY_TYPE.get(peftType);
        if (m == null && ("PROMPT_TUNING".equals(peftType) || "PREFIX_TUNING".equals(peftType))) {
            throw new IllegalArgumentException("peft_type '" + peftType + "' is a prompt-learning adapter, not a layer"
                    + " adapter of a PeftModel: load it with io.github.peft4j.prompt.PromptLearningModel.load"
                    + " (module peft-prompt); peft generate and peft eval do not serve prompt-learning adapters yet");
        }
        if (m == null) {
            String module = MODULES.get(peftType);
            throw new IllegalArgumentException("peft_type '" + peftType + "' is not supported by the peft4j modules on"
                    + " the class path; supported: " + new ArrayList<>(new java.util.TreeSet<>(Holder.BY_TYPE.keySet()))
                    + (module == null ? "" : " (" + peftType + " needs " + module + ")"));
        }
        return m;
    }

    /**
     * Finds the method of a config object.
     *
     * @param config the config
     * @param <C> the config's type
     * @return the method, typed by the config
     * @throws IllegalArgumentException if no registered method handles the config's class
     */
    @SuppressWarnings("unchecked") // checked: the method's configType() is the config's class
    public static <C extends AdapterConfig> AdapterMethod<C, ?> forConfig(C config) {
        AdapterMethod<?, ?> m = Holder.BY_TYPE.get(config.peftType());
        if (m == null || !m.configType().isInstance(config)) {
            throw new IllegalArgumentException(
                    "no registered AdapterMethod handles " + config.getClass().getName() + " (peft_type "
                            + config.peftType() + "); is its module on the class path?");
        }
        return (AdapterMethod<C, ?>) m;
    }
}
