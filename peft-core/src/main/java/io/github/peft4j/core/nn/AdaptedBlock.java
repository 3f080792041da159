package io.github.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.peft4j.core.LayerAdapter;
import java.util.function.Supplier;

/**
 * The activation-path wrapper: runs the base layer, then lets the active adapter (if any) adapt its output from the
 * layer input. Inserted by {@link io.github.peft4j.core.PeftModel} in place of a target layer and removed again by
 * unload; module paths look through it.
 */
public final class AdaptedBlock extends AbstractBlock implements AdapterWrapper {

    private final Block base;
    private final Supplier<LayerAdapter> active;

    /**
     * Creates the wrapper.
     *
     * @param base the base layer
     * @param active returns the adapter to apply on this pass, or {@code null} for none (disabled, merged, or the
     *     active adapter does not target this layer)
     */
    public AdaptedBlock(Block base, Supplier<LayerAdapter> active) {
        this.base = addChildBlock("base", base);
        this.active = active;
    }

    @Override
    public Block base() {
        return base;
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore, NDList inputs, boolean training, PairList<String, Object> params) {
        LayerAdapter adapter = active.get();
        if (adapter == null) {
            return base.forward(parameterStore, inputs, training, params);
        }
        NDArray x = inputs.singletonOrThrow();
        if (adapter.computesOutput()) {
            return new NDList(adapter.forward(parameterStore, x, null, training));
        }
        NDList out = base.forward(parameterStore, inputs, training, params);
        return new NDList(adapter.forward(parameterStore, x, out.singletonOrThrow(), training));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return base.getOutputShapes(inputShapes);
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        base.initialize(manager, dataType, inputShapes);
    }

    @Override
    public String toString() {
        return "Adapted(" + base + ")";
    }
}
