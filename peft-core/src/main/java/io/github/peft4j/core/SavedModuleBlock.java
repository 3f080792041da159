package io.github.peft4j.core;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.peft4j.core.nn.AdapterWrapper;
import io.github.peft4j.core.nn.RowGroups;
import java.util.ArrayList;
import java.util.List;

/**
 * The wrapper of a module that adapters save whole ({@code modules_to_save}, e.g. a classification head): it passes
 * through, except in a mixed-adapter batch, where it runs the module once per group of rows with that group's
 * adapter's copy of the parameters (the base module's own for {@code __base__} and adapters that do not save it).
 */
final class SavedModuleBlock extends AbstractBlock implements AdapterWrapper {

    private final Block base;
    private final AdapterSet adapters;

    SavedModuleBlock(Block base, AdapterSet adapters) {
        this.base = addChildBlock("base", base);
        this.adapters = adapters;
    }

    @Override
    public Block base() {
        return base;
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        RowGroups groups = adapters.rowGroups();
        if (groups == null) {
            return base.forward(ps, inputs, training, params);
        }
        List<NDList> outs = new ArrayList<>();
        try {
            for (int g = 0; g < groups.names().size(); g++) {
                String name = groups.names().get(g);
                NDList rows = groups.select(inputs, g);
                // adapted layers inside the module see this group's rows only, all with this group's adapter
                adapters.setRowGroups(RowGroups.single(
                        name, Math.toIntExact(rows.head().getShape().get(0))));
                outs.add(base.forward(new GroupStore(ps, name), rows, false, params));
            }
        } finally {
            adapters.setRowGroups(groups);
        }
        NDList result = new NDList();
        for (int i = 0; i < outs.get(0).size(); i++) {
            List<NDArray> parts = new ArrayList<>();
            for (NDList o : outs) {
                parts.add(o.get(i));
            }
            result.add(groups.assemble(parts));
        }
        return result;
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
        return "Saved(" + base + ")";
    }

    /** The store of one group: the group's adapter's copy of a saved parameter, else the parameter itself. */
    private final class GroupStore extends DelegatingStore {

        private final String adapter;

        GroupStore(ParameterStore delegate, String adapter) {
            super(delegate);
            this.adapter = adapter;
        }

        @Override
        public NDArray getValue(Parameter parameter, Device device, boolean training) {
            if (parameter == null) {
                return null;
            }
            Parameter copy = adapters.savedCopy(adapter, parameter);
            return delegate.getValue(copy == null ? parameter : copy, device, training);
        }
    }
}
