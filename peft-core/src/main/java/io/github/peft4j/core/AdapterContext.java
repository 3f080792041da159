package io.github.peft4j.core;

import ai.djl.ndarray.NDManager;
import java.util.SplittableRandom;

/**
 * What a method needs to create an adapter on a layer.
 *
 * @param adapterName the adapter's name, e.g. {@code default}
 * @param seed the model's seed; {@link #random(String)} derives a per-layer stream from it
 * @param manager the manager that owns the adapter's parameter arrays
 * @param forwardParameters the parameters of the forward pass under way, for adapters that route per row
 */
public record AdapterContext(String adapterName, long seed, NDManager manager, ForwardParameters forwardParameters) {

    /**
     * A context without forward parameters (none is ever under way), for creating adapters outside a model.
     *
     * @param adapterName the adapter's name
     * @param seed the seed
     * @param manager the manager of the parameter arrays
     */
    public AdapterContext(String adapterName, long seed, NDManager manager) {
        this(adapterName, seed, manager, name -> null);
    }

    /**
     * Returns a random stream for one layer that depends only on the seed, the adapter name and the layer path, so
     * the same seed gives the same weights whatever the order of injection.
     *
     * @param path the layer path
     * @return a seeded generator
     */
    public SplittableRandom random(String path) {
        long h = seed;
        for (char c : (adapterName + "\u0000" + path).toCharArray()) {
            h = h * 0x100000001B3L ^ c;
        }
        return new SplittableRandom(h);
    }
}
