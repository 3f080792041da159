package io.github.peft4j.core;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import io.github.peft4j.core.nn.OutputLayer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Picks the modules a config targets, with Python PEFT's rules, and explains a selection that matches nothing by
 * naming the closest module paths.
 */
final class TargetResolver {

    private TargetResolver() {}

    /**
     * Returns the modules to adapt: those {@code target_modules} matches, minus {@code exclude_modules}, minus
     * anything inside a module saved whole (as in Python PEFT: {@code "dense"} skips {@code pooler.dense} when
     * {@code "pooler"} is saved), restricted to what the method can adapt ({@code all-linear}: linear layers except
     * the model's {@link OutputLayer}, as Python PEFT leaves out {@code lm_head}).
     *
     * @param nodes the model's modules
     * @param targets the config's targets
     * @param method the method
     * @param peftType the method's name for messages
     * @return the modules, in model order
     * @throws IllegalArgumentException if nothing matches (naming the closest paths) or a matched leaf module is not
     *     adaptable by the method
     */
    static List<ModuleTree.Node> resolve(
            List<ModuleTree.Node> nodes, Targets targets, AdapterMethod<?, ?> method, String peftType) {
        ModuleSelector sel = targets.targetModules();
        if (sel.isEmpty()) {
            throw new IllegalArgumentException("target_modules is empty: name the layers to adapt, e.g. [\"query\","
                    + " \"value\"], a regex, or \"all-linear\"; linear layers of this model: " + linearNames(nodes));
        }
        List<String> saved = new ArrayList<>();
        if (!targets.modulesToSave().isEmpty()) {
            ModuleSelector save = ModuleSelector.names(targets.modulesToSave());
            for (ModuleTree.Node n : nodes) {
                if (!n.path().isEmpty() && save.matches(n.path())) {
                    saved.add(n.path());
                }
            }
        }
        List<ModuleTree.Node> out = new ArrayList<>();
        for (ModuleTree.Node n : nodes) {
            if (n.path().isEmpty()
                    || !sel.matches(n.path())
                    || targets.excludeModules().matches(n.path())
                    || saved.stream()
                            .anyMatch(m -> n.path().equals(m) || n.path().startsWith(m + "."))) {
                continue;
            }
            boolean adaptable = method.canAdapt(n.block());
            if (sel.isAllLinear()) {
                if (adaptable && isLinear(n.block()) && !(n.block() instanceof OutputLayer)) {
                    out.add(n);
                }
                continue;
            }
            if (!adaptable) {
                if (n.block().getChildren().isEmpty()) {
                    throw new IllegalArgumentException("target_modules " + sel + " matched '" + n.path() + "', a "
                            + n.block().getClass().getSimpleName() + "; " + peftType + " adapts "
                            + method.adaptableModules() + ". Linear layers of this model: " + linearNames(nodes));
                }
                continue; // a container whose name matches (e.g. "attention.output" for "output"): skip it
            }
            out.add(n);
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("target_modules " + sel + " matched no module of the model"
                    + (targets.excludeModules().isEmpty()
                            ? ""
                            : " (after exclude_modules " + targets.excludeModules() + ")")
                    + ". Closest module paths: " + closest(nodes, sel)
                    + "; linear layer names: " + linearNames(nodes));
        }
        return out;
    }

    /** Whether a block is a linear layer with a 2-D weight. */
    static boolean isLinear(Block b) {
        if (!(b instanceof Linear)) {
            return false;
        }
        Parameter w = b.getDirectParameters().get("weight");
        return w != null && w.getArray() != null && w.getArray().getShape().dimension() == 2;
    }

    /** The distinct names of the model's linear layers (their full path when the name is a number), at most 30. */
    static List<String> linearNames(List<ModuleTree.Node> nodes) {
        return nodes.stream()
                .filter(n -> isLinear(n.block()) && !n.path().isEmpty())
                .map(n -> n.name().matches("\\d+") ? n.path() : n.name())
                .distinct()
                .sorted()
                .limit(30)
                .collect(Collectors.toList());
    }

    /** The five module paths nearest (by edit distance of the path or its last name) to a selector's names. */
    static List<String> closest(List<ModuleTree.Node> nodes, ModuleSelector sel) {
        List<String> wanted = sel.getNames().isEmpty() ? List.of(sel.toString()) : sel.getNames();
        return nodes.stream()
                .map(ModuleTree.Node::path)
                .filter(p -> !p.isEmpty())
                .sorted(Comparator.comparingInt((String p) -> wanted.stream()
                                .mapToInt(
                                        w -> Math.min(distance(w, p), distance(w, p.substring(p.lastIndexOf('.') + 1))))
                                .min()
                                .orElse(0))
                        .thenComparing(p -> p))
                .limit(5)
                .collect(Collectors.toList());
    }

    /** Levenshtein distance. */
    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
