package io.github.peft4j.core;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import java.util.function.Function;

/**
 * The parameter store the base model sees: it redirects saved modules to the active adapter's copies and serves
 * W + ΔW for weight-path layers. Everything else goes to the caller's store, so optimizers update the adapter
 * parameters as any other.
 */
final class InterceptingStore extends DelegatingStore {

    private final NDManager scope;
    private final Function<Parameter, Parameter> redirect;
    private final Function<Parameter, LayerAdapter> weightAdapter;

    /**
     * Creates the store.
     *
     * @param delegate the caller's store
     * @param scope the manager of this forward pass's temporaries
     * @param redirect the parameter to read in place of a base parameter
     * @param weightAdapter the adapter that adapts a base weight on the weight path, or null
     */
    InterceptingStore(
            ParameterStore delegate,
            NDManager scope,
            Function<Parameter, Parameter> redirect,
            Function<Parameter, LayerAdapter> weightAdapter) {
        super(delegate);
        this.scope = scope;
        this.redirect = redirect;
        this.weightAdapter = weightAdapter;
    }

    @Override
    public NDArray getValue(Parameter parameter, Device device, boolean training) {
        if (parameter == null) {
            return null;
        }
        NDArray value = delegate.getValue(redirect.apply(parameter), device, training);
        LayerAdapter a = weightAdapter.apply(parameter);
        return a == null ? value : a.adaptWeight(delegate, value, scope, training);
    }
}
