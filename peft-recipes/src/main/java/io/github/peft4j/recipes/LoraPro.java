package io.github.peft4j.recipes;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.lora.LoraLayer;
import io.github.peft4j.lora.variant.Dora;
import io.github.peft4j.train.TrainingRecipe;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * LoRA-Pro (Wang et al., 2025): before each update, the gradients of every LoRA pair are replaced by the ones whose
 * equivalent full-weight gradient best approximates full fine-tuning's ({@link LoraProGradients}); AdamW then updates A
 * and B from them. This is the authors' "efficient" mode (Adam moments of A and B); their "full" mode, which keeps Adam
 * moments of the full [out, in] equivalent gradient, is not implemented — it costs full fine-tuning's optimizer memory.
 * Plain LoRA only (DoRA's magnitude is outside the theory).
 */
public final class LoraPro implements TrainingRecipe {

    private final List<LoraLayer> layers = new ArrayList<>();

    /** Creates the recipe. */
    public LoraPro() {}

    @Override
    public String describe() {
        return "LoRA-Pro";
    }

    @Override
    public void prepare(Block model, Map<String, Parameter> trainable, boolean resumed) {
        if (!(model instanceof PeftModel peft) || peft.getActiveAdapter() == null) {
            throw new IllegalArgumentException(
                    "LoRA-Pro adjusts LoRA's gradients: train a PeftModel with a LoRA" + " adapter");
        }
        layers.clear();
        layers.addAll(
                peft.getLayerAdapters(peft.getActiveAdapter(), LoraLayer.class).values());
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("LoRA-Pro adjusts LoRA's gradients, and the active adapter '"
                    + peft.getActiveAdapter() + "' has no LoRA layer");
        }
        for (LoraLayer l : layers) {
            if (l.getVariant() instanceof Dora) {
                throw new IllegalArgumentException(
                        "LoRA-Pro applies to plain LoRA, not DoRA ('" + l.getPath() + "' has magnitudes)");
            }
        }
    }

    @Override
    public void adjustGradients(long step, Map<String, Parameter> active) {
        Set<Parameter> on = Collections.newSetFromMap(new IdentityHashMap<>());
        on.addAll(active.values());
        for (LoraLayer l : layers) {
            if (!on.contains(l.getLoraA()) || !on.contains(l.getLoraB())) {
                continue;
            }
            NDArray a = l.getLoraA().getArray();
            NDArray b = l.getLoraB().getArray();
            int r = l.getRank();
            int n = Math.toIntExact(a.getShape().get(1));
            int m = Math.toIntExact(b.getShape().get(0));
            try (NDArray ga = a.getGradient();
                    NDArray gb = b.getGradient()) {
                double[][] adj = LoraProGradients.adjust(
                        toDoubles(a), toDoubles(b), toDoubles(ga), toDoubles(gb), r, n, m, l.getScaling());
                write(ga, adj[0]);
                write(gb, adj[1]);
            }
        }
    }

    private static double[] toDoubles(NDArray x) {
        float[] f = x.toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private static void write(NDArray target, double[] values) {
        float[] f = new float[values.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) values[i];
        }
        try (NDArray src = target.getManager().create(f, target.getShape())) {
            io.github.peft4j.core.ParameterValues.copyInto(target, src);
        }
    }
}
