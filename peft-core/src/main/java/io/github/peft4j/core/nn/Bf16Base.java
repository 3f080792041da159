package io.github.peft4j.core.nn;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import io.github.peft4j.core.InjectionMode;
import io.github.peft4j.core.ModuleTree;
import io.github.peft4j.core.PeftModel;
import java.util.ArrayList;
import java.util.List;

/**
 * Stores a model's frozen linear weights in bf16 (mixed precision for fine-tuning): every {@link MixedLinear} whose
 * weight is frozen and that no adapter reads ({@link io.github.peft4j.core.LayerAdapter#readsBaseWeight()}) keeps its
 * weight as bf16 and multiplies in bf16; adapters, trained modules, normalisations, embeddings and the optimizer's
 * state stay float32. Call it once adapters are added and initialised (the CLI's {@code --precision bf16} does it at
 * the start of training); adding an adapter afterwards is refused, and merging into a bf16 weight too.
 */
public final class Bf16Base {

    private Bf16Base() {}

    /**
     * What a conversion did.
     *
     * @param converted the module paths whose weights are now bf16
     * @param kept the frozen linear layers left in float32 because an adapter reads their weight, with the reason
     * @param bytesSaved the bytes the float32 weights took minus the bf16 ones
     */
    public record Result(List<String> converted, List<String> kept, long bytesSaved) {}

    /**
     * Converts a model's frozen linear weights.
     *
     * @param model a {@link PeftModel} or any block built of {@link MixedLinear} layers
     * @return the layers converted and kept
     */
    public static Result store(Block model) {
        PeftModel peft = model instanceof PeftModel p ? p : null;
        Block root = peft == null ? model : peft.getBaseModel();
        List<String> converted = new ArrayList<>();
        List<String> kept = new ArrayList<>();
        long saved = 0;
        for (ModuleTree.Node n : ModuleTree.walk(root)) {
            // the walk gives a wrapped layer's base block under the wrapper's path
            if (!(n.block() instanceof MixedLinear linear)) {
                continue;
            }
            String path = n.path();
            Parameter w = linear.getDirectParameters().get("weight");
            if (w.requiresGradient() || linear.storesWeightInBf16()) {
                continue;
            }
            String reader = peft == null ? null : readerOf(peft, path);
            if (reader != null) {
                kept.add(path + " (" + reader + ")");
                continue;
            }
            long bytes = w.getArray().size() * 2;
            linear.storeWeightInBf16();
            converted.add(path);
            saved += bytes;
        }
        return new Result(List.copyOf(converted), List.copyOf(kept), saved);
    }

    /** The adapter that needs a layer's float32 weight, or null if none does. */
    private static String readerOf(PeftModel peft, String path) {
        for (String name : peft.getAdapterNames()) {
            if (!peft.getTargetPaths(name).contains(path)) {
                continue;
            }
            if (peft.getInjectionMode(path) == InjectionMode.WEIGHT) {
                return "adapter '" + name + "' is on the weight path";
            }
            if (peft.getLayerAdapter(name, path).readsBaseWeight()) {
                return "adapter '" + name + "' reads the base weight";
            }
        }
        return null;
    }
}
