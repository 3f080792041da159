package io.github.peft4j.core;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Checks that tensors read from a file are exactly the ones a set of parameters expects (same keys, same shapes)
 * before any value is copied, naming what does not fit.
 */
public final class TensorFit {

    private static final int SHOWN = 6;

    private TensorFit() {}

    /**
     * Checks keys, then shapes; copies nothing.
     *
     * @param expected key to the parameter the tensor of that key is copied into
     * @param tensors key to tensor, as read
     * @param source what the tensors were read from, for messages (usually the file)
     * @param hint what the user should do about a key mismatch, appended to its message (may be empty)
     * @throws IllegalArgumentException naming the missing and unexpected keys, or the first tensor of another shape
     */
    public static void requireExact(
            Map<String, Parameter> expected, Map<String, NDArray> tensors, Object source, String hint) {
        if (!expected.keySet().equals(tensors.keySet())) {
            List<String> missing = new ArrayList<>(expected.keySet());
            missing.removeAll(tensors.keySet());
            List<String> unexpected = new ArrayList<>(tensors.keySet());
            unexpected.removeAll(expected.keySet());
            throw new IllegalArgumentException(source + " does not hold the tensors this model expects ("
                    + tensors.size() + " vs " + expected.size() + "):"
                    + (missing.isEmpty() ? "" : " missing tensors " + abbreviate(missing))
                    + (unexpected.isEmpty() ? "" : " unexpected tensors " + abbreviate(unexpected))
                    + (hint.isEmpty() ? "" : ". " + hint));
        }
        for (Map.Entry<String, Parameter> e : expected.entrySet()) {
            NDArray src = tensors.get(e.getKey());
            NDArray dst = e.getValue().getArray();
            if (!src.getShape().equals(dst.getShape())) {
                throw new IllegalArgumentException("tensor '" + e.getKey() + "' in " + source + " has shape "
                        + src.getShape() + " but the model expects " + dst.getShape());
            }
        }
    }

    /**
     * Lists keys for a message: sorted, the first six and how many more.
     *
     * @param keys the keys
     * @return the list as text
     */
    public static String abbreviate(Collection<String> keys) {
        List<String> sorted = new ArrayList<>(keys);
        Collections.sort(sorted);
        return sorted.size() <= SHOWN
                ? sorted.toString()
                : sorted.subList(0, SHOWN) + " and " + (sorted.size() - SHOWN) + " more";
    }
}
