package io.github.peft4j.models.decoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.core.Scalars;
import java.util.List;

/**
 * Rotary position embeddings as Hugging Face computes them ({@code modeling_rope_utils}): the inverse frequencies of
 * a {@code rope_type} ({@code default}, {@code linear}, {@code dynamic}, {@code yarn}, {@code llama3}), the cos/sin
 * tables and their application with {@code rotate_half}.
 *
 * <p>The parameters come from {@code config.json}'s {@code rope_parameters} (transformers 5) or the older
 * {@code rope_theta} + {@code rope_scaling}. {@code dynamic} recomputes the frequencies for the longest position of
 * each forward pass (Hugging Face keeps the longest seen so far; the two agree while a sequence only grows, as in
 * generation).
 *
 * @param type the rope type
 * @param theta the base ({@code rope_theta})
 * @param factor the scaling factor (1 for {@code default})
 * @param lowFreqFactor llama3's {@code low_freq_factor}
 * @param highFreqFactor llama3's {@code high_freq_factor}
 * @param originalMaxPositions {@code original_max_position_embeddings} (llama3, yarn), else max_position_embeddings
 * @param attentionFactor yarn's {@code attention_factor}, or null to derive it from the factor and mscales
 * @param betaFast yarn's {@code beta_fast}
 * @param betaSlow yarn's {@code beta_slow}
 * @param mscale yarn's {@code mscale} (0: unset)
 * @param mscaleAllDim yarn's {@code mscale_all_dim} (0: unset)
 * @param truncate yarn's {@code truncate}
 */
public record Rope(
        String type,
        double theta,
        double factor,
        double lowFreqFactor,
        double highFreqFactor,
        int originalMaxPositions,
        Double attentionFactor,
        double betaFast,
        double betaSlow,
        double mscale,
        double mscaleAllDim,
        boolean truncate) {

    /** The rope types peft4j computes. */
    public static final List<String> SUPPORTED = List.of("default", "linear", "dynamic", "yarn", "llama3");

    /** Validates. */
    public Rope {
        if (!SUPPORTED.contains(type)) {
            throw new IllegalArgumentException(
                    "rope_type '" + type + "' is not supported by peft4j; supported: " + SUPPORTED);
        }
        if (!(theta > 0)) {
            throw new IllegalArgumentException("rope_theta must be > 0; got " + theta);
        }
        if (!"default".equals(type) && !(factor > 0)) {
            throw new IllegalArgumentException("rope_type '" + type + "' needs a factor > 0; got " + factor);
        }
    }

    /**
     * Reads the rope parameters of a {@code config.json}.
     *
     * @param config the config
     * @param maxPositions its {@code max_position_embeddings}
     * @param source the file, for messages
     * @return the parameters
     * @throws IllegalArgumentException if the rope type is not supported or a required field is missing (naming it)
     */
    public static Rope fromConfig(ObjectNode config, int maxPositions, String source) {
        JsonNode p = config.path("rope_parameters");
        if (!p.isObject() || p.isEmpty()) {
            p = config.path("rope_scaling");
        }
        if (p.isObject() && p.has("full_attention")) {
            throw new IllegalArgumentException(source + ": per-layer-type rope_parameters are not supported");
        }
        String type = p.path("rope_type").asText(p.path("type").asText("default"));
        double theta = p.path("rope_theta").asDouble(config.path("rope_theta").asDouble(10000.0));
        double partial = p.path("partial_rotary_factor")
                .asDouble(config.path("partial_rotary_factor").asDouble(1));
        if (partial != 1) {
            throw new IllegalArgumentException(source + ": partial_rotary_factor " + partial + " is not supported"
                    + " (peft4j rotates whole heads, as Llama, Mistral and Qwen do)");
        }
        if (!SUPPORTED.contains(type)) {
            throw new IllegalArgumentException(
                    source + ": rope_type '" + type + "' is not supported by peft4j;" + " supported: " + SUPPORTED);
        }
        double factor = 1;
        if (!"default".equals(type)) {
            if (!p.path("factor").isNumber() && !"yarn".equals(type)) {
                throw new IllegalArgumentException(source + ": rope_type '" + type + "' needs rope_parameters.factor");
            }
            factor = p.path("factor").isNumber()
                    ? p.get("factor").asDouble()
                    : (double) maxPositions
                            / p.path("original_max_position_embeddings").asDouble(maxPositions);
        }
        if ("llama3".equals(type)) {
            for (String k : new String[] {"low_freq_factor", "high_freq_factor", "original_max_position_embeddings"}) {
                if (!p.path(k).isNumber()) {
                    throw new IllegalArgumentException(source + ": rope_type 'llama3' needs rope_parameters." + k);
                }
            }
        }
        int original = config.path("original_max_position_embeddings")
                .asInt(p.path("original_max_position_embeddings").asInt(maxPositions));
        return new Rope(
                type,
                theta,
                factor,
                p.path("low_freq_factor").asDouble(1),
                p.path("high_freq_factor").asDouble(4),
                original,
                p.path("attention_factor").isNumber()
                        ? p.get("attention_factor").asDouble()
                        : null,
                p.path("beta_fast").asDouble(32),
                p.path("beta_slow").asDouble(1),
                p.path("mscale").asDouble(0),
                p.path("mscale_all_dim").asDouble(0),
                p.path("truncate").asBoolean(true));
    }

    /**
     * The inverse frequencies for a sequence that reaches {@code seqLen} positions.
     *
     * @param dim the rotated width (head_dim)
     * @param maxPositions {@code max_position_embeddings}
     * @param seqLen the longest position + 1 of the forward pass (used by {@code dynamic} only)
     * @return dim / 2 frequencies, in float32 as Hugging Face computes them
     */
    public float[] inverseFrequencies(int dim, int maxPositions, long seqLen) {
        double base = theta;
        if ("dynamic".equals(type)) {
            double len = Math.max(seqLen, maxPositions);
            base = theta * Math.pow((factor * len / maxPositions) - (factor - 1), (double) dim / (dim - 2));
        }
        int half = dim / 2;
        float[] inv = new float[half];
        for (int i = 0; i < half; i++) {
            inv[i] = (float) (1.0 / (float) Math.pow(base, (float) (2 * i) / dim));
        }
        switch (type) {
            case "linear" -> {
                for (int i = 0; i < half; i++) {
                    inv[i] = (float) (inv[i] / factor);
                }
            }
            case "llama3" -> llama3(inv);
            case "yarn" -> yarn(inv, dim);
            default -> {}
        }
        return inv;
    }

    private void llama3(float[] inv) {
        double lowWavelen = originalMaxPositions / lowFreqFactor;
        double highWavelen = originalMaxPositions / highFreqFactor;
        for (int i = 0; i < inv.length; i++) {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen > lowWavelen) {
                inv[i] = (float) (inv[i] / factor);
            } else if (wavelen >= highWavelen) {
                double smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                inv[i] = (float) ((1 - smooth) * inv[i] / factor + smooth * inv[i]);
            }
        }
    }

    private void yarn(float[] inv, int dim) {
        double low = correctionDim(betaFast, dim);
        double high = correctionDim(betaSlow, dim);
        if (truncate) {
            low = Math.floor(low);
            high = Math.ceil(high);
        }
        low = Math.max(low, 0);
        high = Math.min(high, dim - 1);
        if (low == high) {
            high += 0.001;
        }
        for (int i = 0; i < inv.length; i++) {
            double ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
            double extrapolation = 1 - ramp;
            double posFreq = 1.0 / inv[i];
            double interp = 1.0 / (factor * posFreq);
            inv[i] = (float) (interp * (1 - extrapolation) + inv[i] * extrapolation);
        }
    }

    private double correctionDim(double rotations, int dim) {
        return (dim * Math.log(originalMaxPositions / (rotations * 2 * Math.PI))) / (2 * Math.log(theta));
    }

    /**
     * The factor applied to cos and sin: yarn's attention factor, 1 for every other type.
     *
     * @return the factor
     */
    public double attentionScaling() {
        if (!"yarn".equals(type)) {
            return 1;
        }
        if (attentionFactor != null) {
            return attentionFactor;
        }
        if (mscale != 0 && mscaleAllDim != 0) {
            return mscale(factor, mscale) / mscale(factor, mscaleAllDim);
        }
        return mscale(factor, 1);
    }

    private static double mscale(double scale, double m) {
        return scale <= 1 ? 1.0 : 0.1 * m * Math.log(scale) + 1.0;
    }

    /**
     * The cos and sin tables of some positions.
     *
     * @param positions position ids, int64 [batch, seq]
     * @param dim the head width
     * @param maxPositions {@code max_position_embeddings}
     * @param like an array whose data type and device the tables take
     * @return cos and sin, [batch, 1, seq, dim]
     */
    public NDList cosSin(NDArray positions, int dim, int maxPositions, NDArray like) {
        long seqLen = "dynamic".equals(type) ? positions.max().getLong() + 1 : maxPositions;
        float[] inv = inverseFrequencies(dim, maxPositions, seqLen);
        NDArray freq = ParameterValues.create(positions.getManager(), inv, new Shape(1, 1, inv.length), like);
        NDArray angles =
                positions.toType(like.getDataType(), false).expandDims(-1).mul(freq);
        NDArray emb = NDArrays.concat(new NDList(angles, angles), -1);
        NDArray cos = emb.cos();
        NDArray sin = emb.sin();
        double s = attentionScaling();
        if (s != 1) {
            cos = Scalars.mul(cos, s);
            sin = Scalars.mul(sin, s);
        }
        return new NDList(cos.expandDims(1), sin.expandDims(1));
    }

    /**
     * Rotates queries or keys: {@code x·cos + rotate_half(x)·sin}.
     *
     * @param x [batch, heads, seq, dim]
     * @param cos from {@link #cosSin}
     * @param sin from {@link #cosSin}
     * @return the rotated array
     */
    public static NDArray apply(NDArray x, NDArray cos, NDArray sin) {
        long half = x.getShape().get(3) / 2;
        NDArray x1 = x.get("..., :" + half);
        NDArray x2 = x.get("..., " + half + ":");
        NDArray rotated = NDArrays.concat(new NDList(x2.neg(), x1), -1);
        return x.mul(cos).add(rotated.mul(sin));
    }
}
