package io.github.peft4j.core;

import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One named adapter of a {@link PeftModel}: its method and config, its layer adapters by module path, and its copies
 * of the modules saved whole. Typed by its method, so hooks reach the method without casts.
 *
 * @param <C> the config type
 * @param <L> the layer type
 */
final class NamedAdapter<C extends AdapterConfig, L extends LayerAdapter> implements AutoCloseable {

    final String name;
    final AdapterMethod<C, L> method;
    final C config;
    private final Map<String, L> layers;
    private final Map<String, L> view;
    final SavedModules saved;

    private NamedAdapter(String name, AdapterMethod<C, L> method, C config, Map<String, L> layers, SavedModules saved) {
        this.name = name;
        this.method = method;
        this.config = config;
        this.layers = layers;
        this.view = Collections.unmodifiableMap(layers);
        this.saved = saved;
    }

    /**
     * Creates the method's adapter on every target layer; on failure closes what was created.
     *
     * @param name the adapter name
     * @param method the method
     * @param config the config
     * @param targets the layers, in model order
     * @param context name, seed and manager
     * @param saved the adapter's copies of the modules saved whole (closed on failure)
     * @return the adapter
     */
    static <C extends AdapterConfig, L extends LayerAdapter> NamedAdapter<C, L> create(
            String name,
            AdapterMethod<C, L> method,
            C config,
            List<TargetLayer> targets,
            AdapterContext context,
            SavedModules saved) {
        Map<String, L> layers;
        try {
            layers = new LinkedHashMap<>(method.createAdapters(targets, config, context));
        } catch (RuntimeException e) {
            saved.close();
            throw e;
        }
        return new NamedAdapter<>(name, method, config, layers, saved);
    }

    /** The layer adapters by module path (read-only). */
    Map<String, L> layers() {
        return view;
    }

    void afterBackward() {
        method.afterBackward(config, view);
    }

    void beforeStep(long step) {
        method.beforeStep(config, view, step);
    }

    void afterStep(long step, OptimizerAccess optimizer) {
        method.afterStep(config, view, step, optimizer);
    }

    ObjectNode exportConfig() {
        return method.exportConfig(config, view);
    }

    List<String> modelCardNotes() {
        return method.modelCardNotes(config, view);
    }

    /**
     * The tensors the adapter saves outside its layers, keyed by their name after {@code base_model.} (frozen).
     */
    Map<String, Parameter> sharedTensors() {
        return method.sharedTensors(config, view);
    }

    /**
     * Every tensor of the adapter as a parameter, keyed by its full module path ({@code <layer path>.<name>} and the
     * saved modules' {@code <module path>.<param>}), in save order.
     */
    Map<String, Parameter> parametersByPath() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        layers.forEach((path, l) -> l.parameters().forEach((k, p) -> out.put(path + "." + k, p)));
        out.putAll(saved.parameters());
        return out;
    }

    /** Lets the adapter's floating-point tensors train or not; integer tensors (indices) never train. */
    void setTrainable(boolean train) {
        for (L l : layers.values()) {
            l.parameters().values().stream()
                    .filter(p -> p.getArray().getDataType().isFloating())
                    .forEach(p -> p.freeze(!train));
        }
        saved.setTrainable(train);
    }

    @Override
    public void close() {
        layers.values().forEach(LayerAdapter::close);
        saved.close();
    }
}
