package io.github.peft4j.merge;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * LiNeS (layer-increasing network scaling, Wang et al. 2024): an update's layer l of L (0-based) is scaled by
 * λ(l) = α + β · l / (L − 1), so the shallow layers stay near the pre-trained weights and the deep ones keep the task;
 * updates outside the numbered blocks (embeddings, pooler, a head) get α, as in the paper's code. The paper's
 * single-task defaults are α = 0, β = 1; for a merge of T tasks it scales the summed vector with a smaller α (e.g.
 * 1/T) and tunes β.
 *
 * @param alpha the factor of the first block (and of everything outside the blocks)
 * @param beta the increase from the first block to the last
 * @param numLayers L, the model's number of blocks
 */
public record Lines(double alpha, double beta, int numLayers) {

    /** The paper's single-task α. */
    public static final double DEFAULT_ALPHA = 0.0;

    /** The paper's single-task β. */
    public static final double DEFAULT_BETA = 1.0;

    /** A numbered block in a Hugging Face module path: {@code layer.3.}, {@code layers.3.}, {@code h.3.}, … */
    private static final Pattern BLOCK =
            Pattern.compile("(?:^|\\.)(?:layer|layers|h|blocks|block|resblocks)\\.(\\d+)(?:\\.|$)");

    /** Checks the values. */
    public Lines {
        if (numLayers < 1) {
            throw new IllegalArgumentException("LiNeS needs the model's number of layers (≥ 1); got " + numLayers);
        }
        if (!Double.isFinite(alpha) || !Double.isFinite(beta)) {
            throw new IllegalArgumentException("LiNeS α and β must be finite; got " + alpha + ", " + beta);
        }
    }

    /**
     * The block index in a module path or tensor key.
     *
     * @param key e.g. {@code bert.encoder.layer.3.attention.self.query.weight}
     * @return the index, or empty outside the numbered blocks
     */
    public static OptionalInt layerOf(String key) {
        Matcher m = BLOCK.matcher(key);
        return m.find() ? OptionalInt.of(Integer.parseInt(m.group(1))) : OptionalInt.empty();
    }

    /**
     * The number of blocks that keys reach (the largest index + 1), for when the model's config is not at hand.
     *
     * @param keys module paths or tensor keys
     * @return the count, 0 when no key is in a block
     */
    public static int countLayers(Collection<String> keys) {
        return keys.stream()
                        .map(Lines::layerOf)
                        .filter(OptionalInt::isPresent)
                        .mapToInt(OptionalInt::getAsInt)
                        .max()
                        .orElse(-1)
                + 1;
    }

    /**
     * λ of a key.
     *
     * @param key a module path or tensor key
     * @return α + β · l / (L − 1) in block l (α + β when L = 1), α outside the blocks
     * @throws IllegalArgumentException if the key's block index is not below L
     */
    public double factor(String key) {
        OptionalInt l = layerOf(key);
        if (l.isEmpty()) {
            return alpha;
        }
        if (l.getAsInt() >= numLayers) {
            throw new IllegalArgumentException(key + " is in block " + l.getAsInt() + " but the model has " + numLayers
                    + " layers: give the model's number of layers");
        }
        return numLayers == 1 ? alpha + beta : alpha + beta * l.getAsInt() / (numLayers - 1);
    }

    /**
     * Scales a LoRA adapter's update layer by layer (B of each layer times λ; A, the config and the modules saved
     * whole as they are: a saved module holds values, not an update).
     *
     * @param adapter the adapter
     * @return the scaled adapter
     */
    public LoraAdapter apply(LoraAdapter adapter) {
        Map<String, LoraFactors> layers = new LinkedHashMap<>();
        adapter.layers().forEach((path, f) -> {
            double s = factor(path);
            float[] b = new float[f.b().length];
            for (int i = 0; i < b.length; i++) {
                b[i] = (float) (s * f.b()[i]);
            }
            layers.put(path, new LoraFactors(f.a(), b, f.rank(), f.in(), f.out(), f.scaling()));
        });
        return new LoraAdapter(adapter.config().deepCopy(), layers, adapter.others());
    }

    /**
     * Scales a full fine-tune's update tensor by tensor.
     *
     * @param vector the update
     * @return the scaled update
     */
    public TaskVector apply(TaskVector vector) {
        return vector.scaled(this::factor);
    }
}
