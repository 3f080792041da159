package io.github.peft4j.core.nn;

import io.github.peft4j.core.LayerAdapter;

/** Which adapter an {@link AdaptedBlock} applies on the current pass: one for the batch, or one per group of rows. */
public interface LayerRouting {

    /**
     * The adapter applied to the whole batch.
     *
     * @return the adapter, or {@code null} for none (disabled, merged, or the active adapter does not target the layer)
     */
    LayerAdapter active();

    /**
     * The groups of a mixed-adapter batch on this thread's current pass.
     *
     * @return the groups, or {@code null} when the batch uses {@link #active()}
     */
    RowGroups rowGroups();

    /**
     * The adapter of a name at this layer, for a group of a mixed batch.
     *
     * @param name an adapter name or {@code __base__}
     * @return the adapter, or {@code null} for the base layer alone (the name is {@code __base__} or its adapter does
     *     not target this layer)
     */
    LayerAdapter adapter(String name);
}
