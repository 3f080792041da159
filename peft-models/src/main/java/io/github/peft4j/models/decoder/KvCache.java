package io.github.peft4j.models.decoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

/**
 * The keys and values of earlier positions, per layer, so that generation computes each new token's attention without
 * recomputing the prefix. Pass it to a {@link CausalLanguageModel}'s forward pass under {@link #PARAM}; the model
 * appends the new positions' keys and values. The arrays belong to the cache's own manager: close the cache when the
 * generation ends.
 */
public final class KvCache implements AutoCloseable {

    /** The forward-pass parameter name under which a model finds the cache. */
    public static final String PARAM = "past_key_values";

    private final NDManager manager;
    private final NDArray[] keys;
    private final NDArray[] values;
    private long length;

    /**
     * Creates an empty cache.
     *
     * @param layers the model's number of layers
     * @param parent the manager under which the cache opens its own
     */
    public KvCache(int layers, NDManager parent) {
        this.manager = parent.newSubManager();
        this.keys = new NDArray[layers];
        this.values = new NDArray[layers];
    }

    /**
     * The number of cached positions.
     *
     * @return the past length
     */
    public long length() {
        return length;
    }

    /**
     * Appends a layer's new keys and values and returns all of them.
     *
     * @param layer the layer index
     * @param k the new keys, [batch, kv heads, seq, head dim]
     * @param v the new values, same shape
     * @return keys and values of every position so far
     */
    NDList update(int layer, NDArray k, NDArray v) {
        NDArray newK = keys[layer] == null ? k : NDArrays.concat(new NDList(keys[layer], k), 2);
        NDArray newV = values[layer] == null ? v : NDArrays.concat(new NDList(values[layer], v), 2);
        if (keys[layer] != null) {
            keys[layer].close();
            values[layer].close();
        }
        newK.attach(manager);
        newV.attach(manager);
        keys[layer] = newK;
        values[layer] = newV;
        if (layer == keys.length - 1) {
            length = newK.getShape().get(2);
        }
        return new NDList(newK, newV);
    }

    /**
     * Puts a layer's first keys and values into an empty cache: a prefix every later position attends to (prefix
     * tuning's learned keys and values, with their gradients).
     *
     * @param layer the layer index
     * @param k the keys, [batch, kv heads, prefix, head dim]
     * @param v the values, same shape
     * @throws IllegalStateException if the layer already holds positions
     */
    public void prefill(int layer, NDArray k, NDArray v) {
        if (keys[layer] != null) {
            throw new IllegalStateException("layer " + layer + " of the KV cache already holds positions");
        }
        update(layer, k, v);
    }

    /**
     * Keeps only some rows of the batch (finished sequences dropped by a generator).
     *
     * @param rows the rows to keep, int64 [n]
     */
    public void select(NDArray rows) {
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] != null) {
                NDArray k = keys[i].get(rows);
                NDArray v = values[i].get(rows);
                keys[i].close();
                values[i].close();
                k.attach(manager);
                v.attach(manager);
                keys[i] = k;
                values[i] = v;
            }
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
