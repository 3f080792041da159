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
import java.util.ArrayList;
import java.util.List;

/**
 * The activation-path wrapper: runs the base layer, then lets the active adapter (if any) adapt its output from the
 * layer input; in a mixed-adapter batch, each group of rows gets its own adapter (or none) on its rows only. Inserted
 * by {@link io.github.peft4j.core.PeftModel} in place of a target layer and removed again by unload; module paths look
 * through it.
 */
public final class AdaptedBlock extends AbstractBlock implements AdapterWrapper {

    private final Block base;
    private final LayerRouting routing;

    /**
     * Creates the wrapper.
     *
     * @param base the base layer
     * @param routing which adapter applies on a pass
     */
    public AdaptedBlock(Block base, LayerRouting routing) {
        this.base = addChildBlock("base", base);
        this.routing = routing;
    }

    @Override
    public Block base() {
        return base;
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore, NDList inputs, boolean training, PairList<String, Object> params) {
        RowGroups groups = routing.rowGroups();
        if (groups != null) {
            return mixed(parameterStore, inputs, groups, params);
        }
        LayerAdapter adapter = routing.active();
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

    /** Each group of rows through its own adapter: one base pass over the batch, each adapter on its rows only. */
    private NDList mixed(ParameterStore ps, NDList inputs, RowGroups groups, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        NDArray out = base.forward(ps, inputs, false, params).singletonOrThrow();
        List<NDArray> parts = new ArrayList<>();
        for (int g = 0; g < groups.names().size(); g++) {
            LayerAdapter adapter = routing.adapter(groups.names().get(g));
            NDArray baseRows = groups.select(out, g);
            if (adapter == null) {
                parts.add(baseRows);
            } else {
                parts.add(adapter.forward(ps, groups.select(x, g), adapter.computesOutput() ? null : baseRows, false));
            }
        }
        return new NDList(groups.assemble(parts));
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
