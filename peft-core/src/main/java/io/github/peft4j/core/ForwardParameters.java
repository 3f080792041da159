package io.github.peft4j.core;

/**
 * The forward parameters of the {@link PeftModel} forward pass the calling thread is computing, for layer adapters
 * whose output depends on more than the layer input: Poly's per-row task ids ({@value PeftModel#TASK_IDS}), which a
 * DJL container does not pass down to its children. A method reads them through
 * {@link AdapterContext#forwardParameters()} while its adapter's {@link LayerAdapter#forward} runs.
 */
public interface ForwardParameters {

    /**
     * Returns a forward parameter of the pass under way on this thread.
     *
     * @param name the parameter name, e.g. {@value PeftModel#TASK_IDS}
     * @return its value, or null when the pass has none of that name (or no pass is under way)
     */
    Object get(String name);
}
