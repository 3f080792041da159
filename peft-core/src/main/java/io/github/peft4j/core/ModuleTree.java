package io.github.peft4j.core;

import ai.djl.nn.Block;
import ai.djl.nn.BlockList;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.util.Pair;
import io.github.peft4j.core.nn.AdapterWrapper;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Dotted module paths over a DJL block tree, in the Hugging Face style.
 *
 * <p>DJL stores a child under a key such as {@code 01query} (a running number and a name). peft4j names it the way
 * PyTorch would: the running number is dropped ({@code query}); children of a {@link SequentialBlock} or
 * {@link ParallelBlock} are numbered from 0 like an {@code nn.Sequential}. A path is the names from the root joined by
 * dots, e.g. {@code encoder.layer.0.attention.self.query}; the root's path is the empty string. Blocks inserted by
 * peft4j ({@link AdapterWrapper}) are transparent: the wrapped module keeps its path.
 */
public final class ModuleTree {

    private static final Pattern DJL_KEY_PREFIX = Pattern.compile("^\\d{2,}");

    private ModuleTree() {}

    /**
     * One module of the tree.
     *
     * @param path the dotted module path ({@code ""} for the root)
     * @param block the module (for a wrapped module: the base block, not the wrapper)
     * @param parent the parent block as it stands in the tree, or {@code null} for the root
     * @param name the module's own name (the last path component)
     * @param index the position of the module among its parent's children
     */
    public record Node(String path, Block block, Block parent, String name, int index) {}

    /**
     * Lists every module of a tree in pre-order.
     *
     * @param root the root block
     * @return the modules, the root first
     */
    public static List<Node> walk(Block root) {
        List<Node> out = new ArrayList<>();
        visit(root, "", null, "", 0, out);
        return Collections.unmodifiableList(out);
    }

    /**
     * Returns the modules of a tree keyed by path.
     *
     * @param root the root block
     * @return the modules in pre-order, keyed by path
     */
    public static Map<String, Node> byPath(Block root) {
        Map<String, Node> map = new LinkedHashMap<>();
        for (Node n : walk(root)) {
            map.put(n.path(), n);
        }
        return map;
    }

    /**
     * Returns the module paths of a tree (the root excluded) and the class of each module, for discovering target
     * names.
     *
     * @param root the root block
     * @return path to simple class name, in model order
     */
    public static Map<String, String> modulePaths(Block root) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Node n : walk(root)) {
            if (!n.path().isEmpty()) {
                out.put(n.path(), n.block().getClass().getSimpleName());
            }
        }
        return out;
    }

    /**
     * Returns every parameter under a block keyed by its dotted path relative to that block, e.g. {@code weight} or
     * {@code dense.bias}.
     *
     * @param module the block
     * @return the parameters in tree order
     */
    public static Map<String, Parameter> namedParameters(Block module) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (Node n : walk(module)) {
            String prefix = n.path().isEmpty() ? "" : n.path() + ".";
            for (Pair<String, Parameter> p : n.block().getDirectParameters()) {
                out.put(prefix + p.getValue().getName(), p.getValue());
            }
        }
        return out;
    }

    /**
     * Returns the module names of a block's direct children, in order.
     *
     * @param parent the block
     * @return child name to child block (wrappers included as they stand)
     */
    public static Map<String, Block> children(Block parent) {
        BlockList list = parent.getChildren();
        boolean indexed = parent instanceof SequentialBlock || parent instanceof ParallelBlock;
        Map<String, Integer> counts = new HashMap<>();
        List<String> stripped = new ArrayList<>();
        for (Pair<String, Block> p : list) {
            String s = DJL_KEY_PREFIX.matcher(p.getKey()).replaceFirst("");
            stripped.add(s);
            counts.merge(s, 1, Integer::sum);
        }
        Map<String, Block> out = new LinkedHashMap<>();
        for (int i = 0; i < list.size(); i++) {
            String name;
            if (indexed) {
                name = Integer.toString(i);
            } else {
                String s = stripped.get(i);
                // two children with the same name (e.g. two anonymous "Linear"s): keep DJL's unique key
                name = s.isEmpty() || counts.get(s) > 1 ? list.get(i).getKey() : s;
            }
            out.put(name, list.get(i).getValue());
        }
        return out;
    }

    private static void visit(Block block, String path, Block parent, String name, int index, List<Node> out) {
        Block base = block;
        while (base instanceof AdapterWrapper w) {
            base = w.base();
        }
        out.add(new Node(path, base, parent, name, index));
        int i = 0;
        for (Map.Entry<String, Block> child : children(base).entrySet()) {
            String childPath = path.isEmpty() ? child.getKey() : path + "." + child.getKey();
            visit(child.getValue(), childPath, base, child.getKey(), i++, out);
        }
    }
}
