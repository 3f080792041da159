package io.github.peft4j.core;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterServer;
import ai.djl.training.ParameterStore;

/** A parameter store that changes which value a parameter gets and leaves everything else to the caller's store. */
abstract class DelegatingStore extends ParameterStore {

    /** The caller's store. */
    final ParameterStore delegate;

    DelegatingStore(ParameterStore delegate) {
        super(delegate.getManager(), false);
        this.delegate = delegate;
    }

    @Override
    public void setParameterServer(ParameterServer parameterServer, Device[] devices) {
        delegate.setParameterServer(parameterServer, devices);
    }

    @Override
    public void updateAllParameters() {
        delegate.updateAllParameters();
    }

    @Override
    public NDManager getManager() {
        return delegate.getManager();
    }

    @Override
    public void sync() {
        delegate.sync();
    }
}
