package io.github.peft4j.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Which modules a config names, with Python PEFT's matching rules ({@code target_modules}, {@code exclude_modules},
 * {@code modules_to_save}).
 *
 * <ul>
 *   <li>a list of names: a module matches when its dotted path equals an entry or ends with {@code "." + entry}, so
 *       {@code query} matches {@code encoder.layer.0.attention.self.query};
 *   <li>a string: a regular expression that must match the whole path;
 *   <li>{@code all-linear}: every linear layer except the model's output layer and the modules to save.
 * </ul>
 *
 * <p>Instances are immutable.
 */
public final class ModuleSelector {

    /** The {@code all-linear} shorthand of {@code target_modules}. */
    public static final String ALL_LINEAR = "all-linear";

    private static final ModuleSelector NONE = new ModuleSelector(List.of(), null, false);

    private final List<String> names;
    private final Pattern regex;
    private final boolean allLinear;

    private ModuleSelector(List<String> names, Pattern regex, boolean allLinear) {
        this.names = names;
        this.regex = regex;
        this.allLinear = allLinear;
    }

    /**
     * Selects modules by name: exact path or suffix after a dot. Duplicates are dropped and the names sorted.
     *
     * @param names module names such as {@code query} or {@code attention.self.value}
     * @return the selector
     */
    public static ModuleSelector names(List<String> names) {
        List<String> out = new ArrayList<>();
        for (String n : names) {
            Objects.requireNonNull(n, "module name");
            if (n.isBlank()) {
                throw new IllegalArgumentException("module names must not be blank; got " + names);
            }
            if (!out.contains(n)) {
                out.add(n);
            }
        }
        out.sort(null);
        return new ModuleSelector(List.copyOf(out), null, false);
    }

    /**
     * Selects modules by name.
     *
     * @param names module names
     * @return the selector
     */
    public static ModuleSelector names(String... names) {
        return names(List.of(names));
    }

    /**
     * Selects modules whose whole path matches a regular expression.
     *
     * @param regex a {@link Pattern} expression, e.g. {@code .*\.(query|value)}
     * @return the selector
     * @throws IllegalArgumentException if the expression does not compile
     */
    public static ModuleSelector regex(String regex) {
        try {
            return new ModuleSelector(List.of(), Pattern.compile(regex), false);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException(
                    "not a valid regular expression for target modules: '" + regex + "': " + e.getDescription(), e);
        }
    }

    /**
     * Selects every linear layer except the output layer.
     *
     * @return the {@code all-linear} selector
     */
    public static ModuleSelector allLinear() {
        return new ModuleSelector(List.of(), null, true);
    }

    /**
     * Selects nothing.
     *
     * @return the empty selector
     */
    public static ModuleSelector none() {
        return NONE;
    }

    /**
     * Reads a selector the way Python PEFT writes it: {@code null}, a list of names, {@code "all-linear"} or a regex
     * string.
     *
     * @param node the JSON value
     * @param field the config field, for error messages
     * @return the selector
     */
    public static ModuleSelector fromJson(JsonNode node, String field) {
        if (node == null || node.isNull()) {
            return NONE;
        }
        if (node.isTextual()) {
            return ALL_LINEAR.equals(node.asText()) ? allLinear() : regex(node.asText());
        }
        if (node.isArray()) {
            List<String> list = new ArrayList<>();
            for (JsonNode e : node) {
                if (!e.isTextual()) {
                    throw new IllegalArgumentException(field + " must be a list of strings or a string; got " + node);
                }
                list.add(e.asText());
            }
            return names(list);
        }
        throw new IllegalArgumentException(field + " must be a list of strings or a string; got " + node);
    }

    /**
     * Writes the selector as Python PEFT does.
     *
     * @return {@code null}, a string or a list
     */
    public JsonNode toJson() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        if (allLinear) {
            return f.textNode(ALL_LINEAR);
        }
        if (regex != null) {
            return f.textNode(regex.pattern());
        }
        if (names.isEmpty()) {
            return f.nullNode();
        }
        ArrayNode a = f.arrayNode();
        names.forEach(a::add);
        return a;
    }

    /**
     * Whether the path is selected. For {@code all-linear} this is true for every path: the caller restricts it to
     * linear layers.
     *
     * @param path a dotted module path
     * @return whether it matches
     */
    public boolean matches(String path) {
        if (allLinear) {
            return true;
        }
        if (regex != null) {
            return regex.matcher(new BudgetedChars(path, regex.pattern())).matches();
        }
        for (String n : names) {
            if (path.equals(n) || path.endsWith("." + n)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether this is the {@code all-linear} shorthand.
     *
     * @return true for {@code all-linear}
     */
    public boolean isAllLinear() {
        return allLinear;
    }

    /**
     * Whether this selects nothing.
     *
     * @return true when no names and no pattern are given
     */
    public boolean isEmpty() {
        return !allLinear && regex == null && names.isEmpty();
    }

    /**
     * Returns the names of a list selector.
     *
     * @return the names (empty for regex and all-linear)
     */
    public List<String> getNames() {
        return names;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModuleSelector s
                && allLinear == s.allLinear
                && names.equals(s.names)
                && Objects.equals(regex == null ? null : regex.pattern(), s.regex == null ? null : s.regex.pattern());
    }

    @Override
    public int hashCode() {
        return Objects.hash(names, regex == null ? null : regex.pattern(), allLinear);
    }

    @Override
    public String toString() {
        return toJson().toString();
    }

    /**
     * A path the regex engine may read at most {@value #MATCH_BUDGET} characters of: java.util.regex backtracks
     * without bound, and a {@code target_modules} expression comes from a file (a pathological one such as
     * {@code (.*)*x} would otherwise take exponential time on a module path). Real expressions read a path a few
     * times.
     */
    static final class BudgetedChars implements CharSequence {
        static final long MATCH_BUDGET = 1_000_000;
        private final String s;
        private final String pattern;
        private final long[] reads;

        BudgetedChars(String s, String pattern) {
            this(s, pattern, new long[1]);
        }

        private BudgetedChars(String s, String pattern, long[] reads) {
            this.s = s;
            this.pattern = pattern;
            this.reads = reads;
        }

        @Override
        public char charAt(int index) {
            if (++reads[0] > MATCH_BUDGET) {
                throw new IllegalArgumentException("target_modules expression '" + pattern + "' backtracks"
                        + " without end on module '" + s + "' (over " + MATCH_BUDGET + " steps); simplify it or list"
                        + " the module names");
            }
            return s.charAt(index);
        }

        @Override
        public int length() {
            return s.length();
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return new BudgetedChars(s.substring(start, end), pattern, reads);
        }

        @Override
        public String toString() {
            return s;
        }
    }
}
