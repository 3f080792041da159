package io.github.peft4j.lora.variant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.Scalars;
import java.util.LinkedHashMap;
import java.util.Map;

/** Plain LoRA: {@code y = W x + b + s · B A dropout(x)}, {@code ΔW = s·BA}. */
public final class StandardLora implements LoraVariant {

    private final LoraWeights w;

    /**
     * Creates the variant.
     *
     * @param weights the layer's A, B and scaling
     */
    public StandardLora(LoraWeights weights) {
        this.w = weights;
    }

    @Override
    public NDArray forward(
            ParameterStore store,
            NDArray input,
            NDArray dropped,
            NDArray baseOutput,
            NDArray a,
            NDArray b,
            boolean training) {
        NDArray u = LoraWeights.lowRank(dropped, a, b);
        return baseOutput.add(Scalars.mul(u, w.scaling()));
    }

    @Override
    public NDArray adaptWeight(
            ParameterStore store, NDArray weight, NDArray a, NDArray b, NDManager scope, boolean training) {
        NDArray ba = b.matMul(a);
        ba.attach(scope);
        return Scalars.mul(ba, w.scaling()).add(weight);
    }

    @Override
    public NDArray deltaWeight(NDManager manager) {
        return w.scaledProduct(manager);
    }

    @Override
    public Map<String, NDArray> exportTensors(NDManager manager) {
        Map<String, NDArray> m = new LinkedHashMap<>();
        m.put("lora_A.weight", w.a().getArray());
        m.put("lora_B.weight", w.b().getArray());
        return m;
    }

    @Override
    public String describe() {
        return "LoRA";
    }

    @Override
    public void close() {}
}
