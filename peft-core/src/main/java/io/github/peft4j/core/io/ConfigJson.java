package io.github.peft4j.core.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.slf4j.Logger;

/**
 * Reading {@code adapter_config.json} values with messages that name the field: what every method's
 * {@code fromJson} uses.
 */
public final class ConfigJson {

    private ConfigJson() {}

    /**
     * Fails unless the file's {@code peft_type} is the method's.
     *
     * @param json the config
     * @param peftType the expected value
     * @param config the config's name for the message
     * @throws IllegalArgumentException otherwise
     */
    public static void requirePeftType(ObjectNode json, String peftType, String config) {
        if (!peftType.equals(json.path("peft_type").asText(null))) {
            throw new IllegalArgumentException(
                    "peft_type must be \"" + peftType + "\" for a " + config + "; got " + json.get("peft_type"));
        }
    }

    /**
     * Warns once about keys a method does not read (configs written by newer versions must still load).
     *
     * @param json the config
     * @param known the keys the method reads
     * @param method the method's name for the message
     * @param log the method's logger
     */
    public static void warnUnknownKeys(ObjectNode json, Collection<String> known, String method, Logger log) {
        List<String> ignored = new ArrayList<>();
        json.fieldNames().forEachRemaining(k -> {
            if (!known.contains(k)) {
                ignored.add(k);
            }
        });
        if (!ignored.isEmpty()) {
            log.warn("adapter_config.json: ignoring keys peft4j's {} does not know: {}", method, ignored);
        }
    }

    /**
     * Reads a list of strings; a missing or null key is an empty list.
     *
     * @param json the config
     * @param key the key
     * @param config the config's name for the message
     * @return the strings
     * @throws IllegalArgumentException if the value is not a list of strings
     */
    public static List<String> stringList(ObjectNode json, String key, String config) {
        JsonNode n = json.get(key);
        List<String> out = new ArrayList<>();
        if (n == null || n.isNull()) {
            return out;
        }
        if (!n.isArray()) {
            throw new IllegalArgumentException(config + "." + key + " must be a list of module names; got " + n);
        }
        for (JsonNode e : n) {
            if (!e.isTextual()) {
                throw new IllegalArgumentException(config + "." + key + " must be a list of strings; got " + n);
            }
            out.add(e.asText());
        }
        return out;
    }

    /**
     * Reads an optional string.
     *
     * @param json the config
     * @param key the key
     * @return the text, or null when missing, null or not a string
     */
    public static String textOrNull(ObjectNode json, String key) {
        return json.path(key).isTextual() ? json.get(key).asText() : null;
    }

    /**
     * Whether a value is absent or at its "off" value: null, an empty container or {@code false}.
     *
     * @param v the value, or null
     * @return true when unset
     */
    public static boolean isUnset(JsonNode v) {
        return v == null || v.isNull() || (v.isContainerNode() && v.isEmpty()) || (v.isBoolean() && !v.asBoolean());
    }

    /**
     * Reads an integer (an integral number, or a float with no fraction as Python may write it).
     *
     * @param v the value
     * @param field the field's name for the message, e.g. {@code LoraConfig.r}
     * @return the value
     * @throws IllegalArgumentException if it is not an integer
     */
    public static long integer(JsonNode v, String field) {
        if (!v.isIntegralNumber() && !(v.isNumber() && v.asDouble() == Math.rint(v.asDouble()))) {
            throw new IllegalArgumentException(field + " must be an integer; got " + v);
        }
        if (v.isIntegralNumber() ? !v.canConvertToLong() : Math.abs(v.asDouble()) >= 0x1p63) {
            throw new IllegalArgumentException(field + " = " + v + " is out of range");
        }
        return v.asLong();
    }

    /**
     * Reads an optional integer that must fit in an {@code int} (a rank, a count).
     *
     * @param json the config
     * @param key the key
     * @param config the config's name for the message
     * @param absent the value when the key is missing or null
     * @return the value
     * @throws IllegalArgumentException if it is not an integer or does not fit in an int
     */
    public static int intValue(ObjectNode json, String key, String config, int absent) {
        JsonNode v = json.get(key);
        return v == null || v.isNull() ? absent : intValue(v, config + "." + key);
    }

    /**
     * Reads an integer that must fit in an {@code int}.
     *
     * @param v the value
     * @param field the field's name for the message
     * @return the value
     * @throws IllegalArgumentException if it is not an integer or does not fit in an int
     */
    public static int intValue(JsonNode v, String field) {
        long l = integer(v, field);
        if (l != (int) l) {
            throw new IllegalArgumentException(
                    field + " = " + l + " is out of range (at most " + Integer.MAX_VALUE + ")");
        }
        return (int) l;
    }

    /**
     * Reads an optional integer.
     *
     * @param json the config
     * @param key the key
     * @param config the config's name for the message
     * @param absent the value when the key is missing or null
     * @return the value
     */
    public static long integer(ObjectNode json, String key, String config, long absent) {
        JsonNode v = json.get(key);
        return v == null || v.isNull() ? absent : integer(v, config + "." + key);
    }

    /**
     * Reads a number.
     *
     * @param v the value
     * @param field the field's name for the message
     * @return the value
     * @throws IllegalArgumentException if it is not a number
     */
    public static double number(JsonNode v, String field) {
        if (!v.isNumber()) {
            throw new IllegalArgumentException(field + " must be a number; got " + v);
        }
        return v.asDouble();
    }

    /**
     * Reads an optional number.
     *
     * @param json the config
     * @param key the key
     * @param config the config's name for the message
     * @param absent the value when the key is missing or null (may be null)
     * @return the value
     */
    public static Double number(ObjectNode json, String key, String config, Double absent) {
        JsonNode v = json.get(key);
        return v == null || v.isNull() ? absent : Double.valueOf(number(v, config + "." + key));
    }

    /**
     * Reads a boolean.
     *
     * @param v the value
     * @param field the field's name for the message
     * @return the value
     * @throws IllegalArgumentException if it is not true or false
     */
    public static boolean bool(JsonNode v, String field) {
        if (!v.isBoolean()) {
            throw new IllegalArgumentException(field + " must be true or false; got " + v);
        }
        return v.asBoolean();
    }

    /**
     * Writes a number as Python's json does: integral values without a fraction.
     *
     * @param o the object
     * @param key the key
     * @param v the value
     */
    public static void putNumber(ObjectNode o, String key, double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            o.put(key, (long) v);
        } else {
            o.put(key, v);
        }
    }
}
