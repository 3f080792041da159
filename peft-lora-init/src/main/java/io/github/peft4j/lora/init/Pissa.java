package io.github.peft4j.lora.init;

import io.github.peft4j.core.PeftModel;
import io.github.peft4j.linalg.LowRank;
import io.github.peft4j.lora.LoraLayer;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PiSSA (Meng et al., 2024, https://arxiv.org/abs/2404.02948): LoRA starts on the principal singular components of
 * the weight. With W ≈ U S Vᵀ truncated to the layer's rank r and scaling s:
 * {@code A = √S Vᵀ / √s}, {@code B = U √S / √s}, and the base becomes the residual W − s·BA, so the output is
 * unchanged at step 0 while training moves the principal directions.
 *
 * <p>The SVD is randomized ({@link LowRank#svd}, oversampling 10, {@code powerIterations} subspace iterations,
 * float64 on the CPU), never a full decomposition. The residual is kept as a frozen term of the adapter
 * ({@link LoraLayer#setResidualWeights}): the stored base weights stay the original ones, and saving writes the
 * rank-2r adapter that is right relative to the original base model.
 *
 * <pre>{@code
 * PeftModel model = PeftModel.builder().setBaseModel(bert).setConfig(lora).build();
 * Pissa.initialize(model, PeftModel.DEFAULT_ADAPTER, Pissa.DEFAULT_POWER_ITERATIONS, 42);
 * }</pre>
 */
public final class Pissa {

    /**
     * Default subspace iterations of the randomized SVD (PyTorch's {@code svd_lowrank} uses 2; PEFT's fast path 4+).
     */
    public static final int DEFAULT_POWER_ITERATIONS = 4;

    private static final Logger LOG = LoggerFactory.getLogger(Pissa.class);

    private Pissa() {}

    /**
     * Initialises every layer of a LoRA adapter with PiSSA.
     *
     * @param model the model holding the adapter (not merged)
     * @param adapter the adapter name
     * @param powerIterations randomized-SVD subspace iterations (≥ 0)
     * @param seed seed of the randomized SVD
     * @throws IllegalArgumentException if the adapter is missing or not LoRA
     * @throws IllegalStateException if the model is merged or the adapter uses DoRA
     */
    public static void initialize(PeftModel model, String adapter, int powerIterations, long seed) {
        Map<String, LoraLayer> layers = InitSupport.loraLayers(model, adapter, "PiSSA");
        InitSupport.requirePositiveScaling(layers, "PiSSA");
        long t0 = System.nanoTime();
        for (Map.Entry<String, LoraLayer> e : layers.entrySet()) {
            LoraLayer layer = e.getValue();
            int out = Math.toIntExact(layer.getTarget().outFeatures());
            int in = Math.toIntExact(layer.getTarget().inFeatures());
            int r = layer.getRank();
            LowRank.Svd svd = LowRank.svd(
                    InitSupport.weightValues(layer),
                    out,
                    in,
                    r,
                    powerIterations,
                    InitSupport.layerSeed(seed, e.getKey()));
            double invSqrtS = 1 / Math.sqrt(layer.getScaling());
            float[] a = new float[r * in];
            float[] b = new float[out * r];
            for (int j = 0; j < r; j++) {
                double root = Math.sqrt(svd.s()[j]) * invSqrtS;
                for (int c = 0; c < in; c++) {
                    a[j * in + c] = (float) (root * svd.vt(j, c));
                }
                for (int i = 0; i < out; i++) {
                    b[i * r + j] = (float) (svd.u(i, j) * root);
                }
            }
            layer.setResidualWeights(a, b, "PiSSA");
        }
        LOG.info(
                "PiSSA initialised {} layers of '{}' in {} ms",
                layers.size(),
                adapter,
                (System.nanoTime() - t0) / 1_000_000);
    }
}
