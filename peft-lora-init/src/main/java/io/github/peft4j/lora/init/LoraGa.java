package io.github.peft4j.lora.init;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.loss.Loss;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.Scalars;
import io.github.peft4j.linalg.LowRank;
import io.github.peft4j.lora.LoraLayer;
import io.github.peft4j.train.TrainingData;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LoRA-GA (Wang et al., 2024, https://arxiv.org/abs/2407.05000), following the authors' repository: LoRA starts so
 * that its first update approximates the full fine-tuning gradient's top singular directions.
 *
 * <ol>
 *   <li>G = mean of ∇_W L over {@code batches} batches of {@code batchSize} examples (authors: 64 × 2), for every
 *       target layer, from full forward/backward passes of the model with softmax cross-entropy on its first
 *       output;
 *   <li>truncated SVD G ≈ U S Vᵀ with 2r components: A = Vᵀ rows 0..r−1, B = U columns r..2r−1 (singular values
 *       discarded);
 *   <li>stable scale: A, B ← A, B · out^{1/4} / √γ (γ = 16);
 *   <li>the base becomes W − s·BA so the initial output is unchanged (kept as a frozen term of the adapter, see
 *       {@link LoraLayer#setResidualWeights}; saving exports the rank-2r adapter relative to the original base).
 * </ol>
 *
 * <p>G is computed without ever making W trainable: a zero probe is added to each layer's output, so backward yields
 * the output gradient g and G = Σ gᵀx over the batch's tokens; that needs the activation path. Dense G per target
 * layer lives on the model's device until its SVD (ND4J, float64, CPU).
 */
public final class LoraGa {

    private static final Logger LOG = LoggerFactory.getLogger(LoraGa.class);

    private LoraGa() {}

    /**
     * LoRA-GA settings.
     *
     * @param batches number of batches whose gradients are averaged (≥ 1; authors: 64)
     * @param batchSize examples per batch (≥ 1; authors: 2)
     * @param gamma the stable-scale γ (> 0; authors: 16)
     * @param powerIterations randomized-SVD subspace iterations (≥ 0)
     * @param seed seed of the example order, dropout and the SVD
     * @param loss the training loss whose gradient is approximated (softmax cross-entropy for classifiers, the causal
     *     LM loss for decoders)
     */
    public record Options(int batches, int batchSize, double gamma, int powerIterations, long seed, Loss loss) {

        /**
         * Settings for a classifier (softmax cross-entropy).
         *
         * @param batches number of batches
         * @param batchSize examples per batch
         * @param gamma the stable-scale γ
         * @param powerIterations randomized-SVD subspace iterations
         * @param seed the seed
         */
        public Options(int batches, int batchSize, double gamma, int powerIterations, long seed) {
            this(batches, batchSize, gamma, powerIterations, seed, Loss.softmaxCrossEntropyLoss());
        }

        /**
         * A copy with another loss.
         *
         * @param l the loss
         * @return the copy
         */
        public Options withLoss(Loss l) {
            return new Options(batches, batchSize, gamma, powerIterations, seed, l);
        }

        /** Validates. */
        public Options {
            java.util.Objects.requireNonNull(loss, "LoRA-GA loss");
            if (batches < 1) {
                throw new IllegalArgumentException("LoRA-GA batches must be >= 1; got " + batches);
            }
            if (batchSize < 1) {
                throw new IllegalArgumentException("LoRA-GA batchSize must be >= 1; got " + batchSize);
            }
            if (!(gamma > 0)) {
                throw new IllegalArgumentException("LoRA-GA gamma must be > 0; got " + gamma);
            }
            if (powerIterations < 0) {
                throw new IllegalArgumentException("LoRA-GA powerIterations must be >= 0; got " + powerIterations);
            }
        }

        /**
         * Returns the authors' settings: 64 batches of 2, γ = 16, 4 power iterations.
         *
         * @param seed the seed
         * @return the options
         */
        public static Options defaults(long seed) {
            return new Options(64, 2, 16, 4, seed);
        }
    }

    /**
     * Estimates the mean gradient of every target layer's weight and initialises the adapter from it.
     *
     * @param model the model holding a LoRA adapter (not merged, activation path)
     * @param adapter the adapter name
     * @param data labelled examples (classification: the model's first output are logits)
     * @param options the settings
     * @throws IllegalArgumentException if the data is empty, a layer's 2r exceeds min(in, out), or a layer is on the
     *     weight path
     */
    public static void initialize(PeftModel model, String adapter, TrainingData data, Options options) {
        Map<String, LoraLayer> layers = InitSupport.loraLayers(model, adapter, "LoRA-GA");
        InitSupport.requireActivationPath(model, layers, "LoRA-GA");
        InitSupport.requireData(data, "LoRA-GA", "labelled examples to estimate gradients");
        for (Map.Entry<String, LoraLayer> e : layers.entrySet()) {
            long min = Math.min(
                    e.getValue().getTarget().inFeatures(),
                    e.getValue().getTarget().outFeatures());
            if (2L * e.getValue().getRank() > min) {
                throw new IllegalArgumentException("LoRA-GA takes 2r singular vectors: r = "
                        + e.getValue().getRank() + " needs 2r <= min(in, out) = " + min + " for '" + e.getKey() + "'");
            }
        }
        long t0 = System.nanoTime();
        Map<String, float[]> grads = meanGradients(model, layers, data, options);
        for (Map.Entry<String, LoraLayer> e : layers.entrySet()) {
            LoraLayer layer = e.getValue();
            int out = Math.toIntExact(layer.getTarget().outFeatures());
            int in = Math.toIntExact(layer.getTarget().inFeatures());
            int r = layer.getRank();
            LowRank.Svd svd = LowRank.svd(
                    grads.get(e.getKey()),
                    out,
                    in,
                    2 * r,
                    options.powerIterations(),
                    InitSupport.layerSeed(options.seed(), e.getKey()));
            double scale = Math.pow(out, 0.25) / Math.sqrt(options.gamma());
            float[] a = new float[r * in];
            float[] b = new float[out * r];
            for (int j = 0; j < r; j++) {
                for (int c = 0; c < in; c++) {
                    a[j * in + c] = (float) (svd.vt(j, c) * scale);
                }
                for (int i = 0; i < out; i++) {
                    b[i * r + j] = (float) (svd.u(i, r + j) * scale);
                }
            }
            layer.setResidualWeights(a, b, "LoRA-GA");
        }
        LOG.info(
                "LoRA-GA initialised {} layers of '{}' from {} batches of {} in {} ms",
                layers.size(),
                adapter,
                options.batches(),
                options.batchSize(),
                (System.nanoTime() - t0) / 1_000_000);
    }

    /**
     * Returns, per layer, the mean over the batches of ∇_W L as row-major [out, in] values. Public for tests and
     * diagnostics (the full fine-tuning gradient LoRA-GA aligns with).
     *
     * @param model the model
     * @param adapter the adapter whose layers are probed
     * @param data labelled examples
     * @param options batches, batch size and seed
     * @return path to G
     */
    public static Map<String, float[]> meanGradients(
            PeftModel model, String adapter, TrainingData data, Options options) {
        Map<String, LoraLayer> layers = InitSupport.loraLayers(model, adapter, "LoRA-GA");
        InitSupport.requireActivationPath(model, layers, "LoRA-GA");
        return meanGradients(model, layers, data, options);
    }

    private static Map<String, float[]> meanGradients(
            PeftModel model, Map<String, LoraLayer> layers, TrainingData data, Options options) {
        Loss ce = options.loss();
        NDManager root = layers.values().iterator().next().getLoraA().getArray().getManager();
        List<Parameter> frozen = InitSupport.freezeTrainable(model);
        Map<String, NDArray> sums = new LinkedHashMap<>();
        SplittableRandom rnd = new SplittableRandom(options.seed());
        int[] order = null;
        int pos = 0;
        try (NDManager acc = root.newSubManager()) {
            for (int batch = 0; batch < options.batches(); batch++) {
                int[] idx = new int[Math.min(options.batchSize(), data.size())];
                for (int i = 0; i < idx.length; i++) {
                    if (order == null || pos == order.length) {
                        order = permutation(data.size(), rnd);
                        pos = 0;
                    }
                    idx[i] = order[pos++];
                }
                Engine.getInstance().setRandomSeed((int) (options.seed() * 1_000_003L + batch));
                Map<String, NDArray[]> probes = new LinkedHashMap<>();
                try (NDManager s = root.newSubManager();
                        GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    for (Map.Entry<String, LoraLayer> e : layers.entrySet()) {
                        e.getValue().setForwardHook((x, y) -> {
                            NDArray probe = y.zerosLike();
                            probe.setRequiresGradient(true);
                            // kept until after the backward pass: in the batch's manager, not the layer's scope
                            x.attach(s);
                            probe.attach(s);
                            probes.put(e.getKey(), new NDArray[] {x, probe});
                            return y.add(probe);
                        });
                    }
                    NDList inputs = data.inputs(idx, s);
                    NDArray logits = model.forward(new ParameterStore(s, false), inputs, true)
                            .get(0);
                    NDArray loss = ce.evaluate(new NDList(data.labels(idx, s)), new NDList(logits));
                    gc.backward(loss);
                    for (Map.Entry<String, NDArray[]> e : probes.entrySet()) {
                        NDArray x = e.getValue()[0].stopGradient();
                        NDArray g = e.getValue()[1].getGradient();
                        long in = x.getShape().tail();
                        long out = g.getShape().tail();
                        NDArray gx = g.reshape(-1, out).transpose().matMul(x.reshape(-1, in));
                        gx.attach(acc);
                        NDArray sum = sums.get(e.getKey());
                        if (sum == null) {
                            sums.put(e.getKey(), gx);
                        } else {
                            sum.addi(gx);
                            gx.close();
                        }
                        g.close();
                        x.close();
                    }
                } finally {
                    layers.values().forEach(l -> l.setForwardHook(null));
                }
                if (probes.size() != layers.size()) {
                    List<String> missed = new ArrayList<>(layers.keySet());
                    missed.removeAll(probes.keySet());
                    throw new IllegalStateException("LoRA-GA: the forward pass did not reach " + missed);
                }
            }
            Map<String, float[]> out = new LinkedHashMap<>();
            for (Map.Entry<String, NDArray> e : sums.entrySet()) {
                try (NDArray mean = Scalars.div(e.getValue(), options.batches())) {
                    out.put(e.getKey(), mean.toFloatArray());
                }
            }
            return out;
        } finally {
            InitSupport.unfreeze(frozen);
        }
    }

    private static int[] permutation(int n, SplittableRandom rnd) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        return a;
    }
}
