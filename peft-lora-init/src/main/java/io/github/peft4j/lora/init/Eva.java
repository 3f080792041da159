package io.github.peft4j.lora.init;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.linalg.LowRank;
import io.github.peft4j.lora.LoraConfig;
import io.github.peft4j.lora.LoraInit;
import io.github.peft4j.lora.LoraLayer;
import io.github.peft4j.train.TrainingData;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * EVA, explained-variance adaptation (Paischer et al., 2024, https://arxiv.org/abs/2410.07170): A starts on the
 * principal components of each layer's inputs, and the rank budget Σ r is redistributed to the layers whose inputs
 * have the most explained variance.
 *
 * <ol>
 *   <li>Every target layer's inputs (real tokens only: the token mask) are collected batch by batch; layers fed the
 *       same input array (BERT's query, key and value) share one decomposition.
 *   <li>Incremental, centred PCA with round(ρ·r) components (ρ = 2): peft4j keeps the running mean and second
 *       moment in float64 and takes the top components of the covariance after each batch (a randomized SVD of the
 *       [in, in] covariance), which gives the components of PCA on all inputs seen so far.
 *   <li>A layer stops once every one of its first r components has |cosine| ≥ τ (0.99) with the previous batch's.
 *   <li>All layers' explained-variance ratios are pooled and the top Σ r kept; a layer's new rank is how many of its
 *       components were kept (at most round(ρ·r); 0 = no adapter on that layer).
 *   <li>The adapter is rebuilt with explicit {@code target_modules}, {@code rank_pattern} and
 *       {@code alpha_pattern} (alpha × new rank / r, so alpha / rank stays constant); A = the top components
 *       (orthonormal rows), B = 0: the output is unchanged at step 0, and the saved adapter reloads anywhere.
 * </ol>
 *
 * <p>Needs the activation path (it reads layer inputs). The PCA runs in float64: the second moments on the model's
 * device, the eigen-decompositions through ND4J on the CPU.
 */
public final class Eva {

    private static final Logger LOG = LoggerFactory.getLogger(Eva.class);

    private Eva() {}

    /**
     * EVA settings.
     *
     * @param rho ρ: components per layer = round(ρ·r), and no layer's new rank exceeds it (≥ 1)
     * @param tau τ: convergence threshold of the component cosine similarity, in (0, 1]
     * @param batchSize examples per forward pass (≥ 1)
     * @param maxBatches stop after this many batches even if some layer has not converged (≥ 1)
     * @param seed seed of the example order and the randomized SVD
     * @param tokenMask from a batch's model inputs to its token mask [batch, seq] (1 = real token), or a function
     *     returning null to use every position; {@link #defaults} reads input 1 (Hugging Face's
     *     {@code attention_mask}) when there is one
     */
    public record Options(
            double rho, double tau, int batchSize, int maxBatches, long seed, Function<NDList, NDArray> tokenMask) {

        /** Validates. */
        public Options {
            if (!(rho >= 1)) {
                throw new IllegalArgumentException("EVA rho must be >= 1; got " + rho);
            }
            if (!(tau > 0 && tau <= 1)) {
                throw new IllegalArgumentException("EVA tau must be in (0, 1]; got " + tau);
            }
            if (batchSize < 1 || maxBatches < 1) {
                throw new IllegalArgumentException(
                        "EVA batchSize and maxBatches must be >= 1; got " + batchSize + " and " + maxBatches);
            }
            if (tokenMask == null) {
                throw new IllegalArgumentException(
                        "EVA tokenMask must not be null (return null from it to use" + " every position)");
            }
        }

        /**
         * Returns the paper's ρ = 2, τ = 0.99, batches of 16, at most 100 batches, attention mask = input 1.
         *
         * @param seed the seed
         * @return the options
         */
        public static Options defaults(long seed) {
            return new Options(2, 0.99, 16, 100, seed, in -> in.size() > 1 ? in.get(1) : null);
        }
    }

    /**
     * What EVA decided.
     *
     * @param ranks new rank per layer path (0 = no adapter), in model order
     * @param batches batches read
     * @param converged whether every layer converged before the data or {@code maxBatches} ran out
     */
    public record Result(Map<String, Integer> ranks, int batches, boolean converged) {}

    /** One shared decomposition: running moments of the inputs of one or more layers. */
    private static final class Group {
        final List<String> paths = new ArrayList<>();
        int components;
        int checkRank;
        NDArray moment; // Σ x xᵀ, float64 [in, in]
        NDArray sum; // Σ x, float64 [in]
        long count;
        double[] previous; // components of the last batch, row-major [k, in]
        LowRank.Svd svd;
        double total;
        boolean converged;

        Group(int components, int checkRank) {
            this.components = components;
            this.checkRank = checkRank;
        }
    }

    /**
     * Runs EVA on a LoRA adapter and rebuilds it with the new ranks, A initialised, B = 0. The adapter keeps its
     * name and, if it was active, stays active.
     *
     * @param model the model holding the adapter (not merged, activation path)
     * @param adapter the adapter name
     * @param data examples (labels unused)
     * @param options the settings
     * @return the ranks chosen
     * @throws IllegalArgumentException if the data is empty or a layer is on the weight path
     */
    public static Result initialize(PeftModel model, String adapter, TrainingData data, Options options) {
        Map<String, LoraLayer> layers = InitSupport.loraLayers(model, adapter, "EVA");
        InitSupport.requireActivationPath(model, layers, "EVA");
        InitSupport.requireData(data, "EVA", "input examples to compute the layers' principal components");
        LoraConfig config = model.getConfig(adapter, LoraConfig.class);
        long t0 = System.nanoTime();
        Map<String, Group> groupOf = new LinkedHashMap<>();
        int batches = collect(model, layers, data, options, groupOf);
        boolean converged = groupOf.values().stream().allMatch(g -> g.converged);
        if (!converged) {
            LOG.warn(
                    "EVA: {} of {} input groups had not converged (tau {}) after {} batches; using the components"
                            + " estimated so far",
                    groupOf.values().stream()
                            .distinct()
                            .filter(g -> !g.converged)
                            .count(),
                    groupOf.values().stream().distinct().count(),
                    options.tau(),
                    batches);
        }
        Map<String, Integer> ranks = redistribute(layers, groupOf, options.rho());
        Map<String, float[]> aValues = new LinkedHashMap<>();
        for (Map.Entry<String, Integer> e : ranks.entrySet()) {
            int rank = e.getValue();
            if (rank == 0) {
                continue;
            }
            Group g = groupOf.get(e.getKey());
            int in = g.svd.cols();
            float[] a = new float[rank * in];
            for (int j = 0; j < rank; j++) {
                for (int c = 0; c < in; c++) {
                    a[j * in + c] = (float) g.svd.vt(j, c);
                }
            }
            aValues.put(e.getKey(), a);
        }
        groupOf.values().stream().distinct().forEach(g -> {
            g.moment.close();
            g.sum.close();
        });
        LoraConfig rebuilt = rebuild(config, ranks);
        boolean active = adapter.equals(model.getActiveAdapter());
        model.deleteAdapter(adapter);
        model.addAdapter(adapter, rebuilt);
        if (active) {
            model.setActiveAdapter(adapter);
        }
        Map<String, LoraLayer> rebuiltLayers = model.getLayerAdapters(adapter, LoraLayer.class);
        for (Map.Entry<String, float[]> e : aValues.entrySet()) {
            LoraLayer l = rebuiltLayers.get(e.getKey());
            l.setWeights(e.getValue(), new float[Math.toIntExact(l.getTarget().outFeatures() * l.getRank())]);
        }
        LOG.info(
                "EVA initialised '{}' from {} batches in {} ms: ranks {}",
                adapter,
                batches,
                (System.nanoTime() - t0) / 1_000_000,
                ranks);
        return new Result(ranks, batches, converged);
    }

    private static int collect(
            PeftModel model,
            Map<String, LoraLayer> layers,
            TrainingData data,
            Options options,
            Map<String, Group> groupOf) {
        NDManager root = layers.values().iterator().next().getLoraA().getArray().getManager();
        int batches = 0;
        for (int start = 0; start < data.size() && batches < options.maxBatches(); start += options.batchSize()) {
            int[] idx = new int[Math.min(options.batchSize(), data.size() - start)];
            for (int i = 0; i < idx.length; i++) {
                idx[i] = start + i;
            }
            boolean first = groupOf.isEmpty();
            try (NDManager s = root.newSubManager()) {
                NDList inputs = data.inputs(idx, s);
                NDArray mask = options.tokenMask().apply(inputs);
                NDArray keep = mask == null ? null : mask.reshape(-1).toType(DataType.BOOLEAN, false);
                IdentityHashMap<NDArray, Group> byInput = new IdentityHashMap<>();
                for (Map.Entry<String, LoraLayer> e : layers.entrySet()) {
                    String path = e.getKey();
                    LoraLayer layer = e.getValue();
                    e.getValue().setForwardHook((x, y) -> {
                        Group g = first ? byInput.get(x) : groupOf.get(path);
                        if (first) {
                            int k = (int) Math.round(options.rho() * layer.getRank());
                            if (g == null) {
                                g = new Group(k, layer.getRank());
                                byInput.put(x, g);
                            }
                            g.components = Math.max(g.components, k);
                            g.checkRank = Math.max(g.checkRank, layer.getRank());
                            groupOf.put(path, g);
                            g.paths.add(path);
                        }
                        if (!g.converged && g.paths.get(0).equals(path)) {
                            accumulate(g, x, keep, root);
                        }
                        return y;
                    });
                }
                try {
                    model.forward(new ParameterStore(s, false), inputs, false);
                } finally {
                    layers.values().forEach(l -> l.setForwardHook(null));
                }
            }
            batches++;
            if (groupOf.size() != layers.size()) {
                List<String> missed = new ArrayList<>(layers.keySet());
                missed.removeAll(groupOf.keySet());
                throw new IllegalStateException("EVA: the forward pass did not reach " + missed);
            }
            boolean all = true;
            for (Group g : groupOf.values().stream().distinct().toList()) {
                if (!g.converged) {
                    update(g, options, batches);
                    all &= g.converged;
                }
            }
            if (all) {
                break;
            }
        }
        return batches;
    }

    private static void accumulate(Group g, NDArray x, NDArray keep, NDManager root) {
        long in = x.getShape().tail();
        try (NDManager t = x.getManager().newSubManager()) {
            NDArray rows = x.stopGradient().reshape(-1, in);
            rows.attach(t);
            if (keep != null && keep.size() == rows.getShape().get(0)) {
                rows = rows.get(keep); // token positions; a pooled input ([batch, in]) has no padding to drop
            }
            NDArray d = rows.toType(DataType.FLOAT64, false);
            d.attach(t);
            NDArray mm = d.transpose().matMul(d);
            NDArray sm = d.sum(new int[] {0});
            if (g.moment == null) {
                g.moment = mm;
                g.sum = sm;
                g.moment.attach(root);
                g.sum.attach(root);
            } else {
                g.moment.addi(mm);
                g.sum.addi(sm);
            }
            g.count += d.getShape().get(0);
        }
    }

    /** Top components of the centred covariance and the convergence check. */
    private static void update(Group g, Options options, int batch) {
        if (g.count < 2) {
            return;
        }
        int in = (int) g.sum.getShape().get(0);
        double[] m = g.moment.toDoubleArray();
        double[] s = g.sum.toDoubleArray();
        double n = g.count;
        double[] cov = new double[in * in];
        double trace = 0;
        for (int i = 0; i < in; i++) {
            for (int j = 0; j < in; j++) {
                cov[i * in + j] = (m[i * in + j] - s[i] * s[j] / n) / (n - 1);
            }
            trace += cov[i * in + i];
        }
        int k = Math.min(g.components, in);
        // the covariance changes little from batch to batch: one power iteration from the last components
        g.svd = LowRank.svd(
                cov,
                in,
                in,
                k,
                g.previous == null ? 4 : 1,
                InitSupport.layerSeed(options.seed(), g.paths.get(0)),
                g.previous);
        g.total = trace;
        double[] current = g.svd.vt();
        if (g.previous != null) {
            boolean same = true;
            for (int j = 0; j < Math.min(g.checkRank, k) && same; j++) {
                double dot = 0;
                for (int c = 0; c < in; c++) {
                    dot += current[j * in + c] * g.previous[j * in + c];
                }
                same = Math.abs(dot) >= options.tau();
            }
            g.converged = same;
            if (same) {
                LOG.debug("EVA: {} converged after {} batches", g.paths, batch);
            }
        }
        g.previous = current;
    }

    /** Pools the explained-variance ratios of every layer and keeps the top Σ r. */
    private static Map<String, Integer> redistribute(
            Map<String, LoraLayer> layers, Map<String, Group> groupOf, double rho) {
        record Candidate(String path, int index, double ratio, int order) {}
        List<Candidate> pool = new ArrayList<>();
        int budget = 0;
        int order = 0;
        for (Map.Entry<String, LoraLayer> e : layers.entrySet()) {
            budget += e.getValue().getRank();
            Group g = groupOf.get(e.getKey());
            if (g.svd == null) {
                throw new IllegalArgumentException(
                        "EVA: '" + e.getKey() + "' saw fewer than 2 real tokens; give" + " it more input examples");
            }
            int cap = (int) Math.round(rho * e.getValue().getRank());
            for (int j = 0; j < Math.min(cap, g.svd.rank()); j++) {
                double ratio = g.total > 0 ? g.svd.s()[j] / g.total : 0;
                pool.add(new Candidate(e.getKey(), j, ratio, order++));
            }
        }
        pool.sort(Comparator.comparingDouble(Candidate::ratio).reversed().thenComparingInt(Candidate::order));
        Map<String, Integer> ranks = new LinkedHashMap<>();
        layers.keySet().forEach(p -> ranks.put(p, 0));
        for (Candidate c : pool.subList(0, Math.min(budget, pool.size()))) {
            ranks.merge(c.path(), 1, Integer::sum);
        }
        return ranks;
    }

    private static LoraConfig rebuild(LoraConfig c, Map<String, Integer> ranks) {
        List<String> targets = new ArrayList<>();
        Map<String, Integer> rankPattern = new LinkedHashMap<>();
        Map<String, Double> alphaPattern = new LinkedHashMap<>();
        for (Map.Entry<String, Integer> e : ranks.entrySet()) {
            if (e.getValue() > 0) {
                targets.add(e.getKey());
                rankPattern.put(e.getKey(), e.getValue());
                alphaPattern.put(e.getKey(), c.alphaFor(e.getKey()) * e.getValue() / c.rankFor(e.getKey()));
            }
        }
        return c.toBuilder()
                .setTargetModules(ModuleSelector.names(targets))
                .optInit(LoraInit.DEFAULT)
                .optRankPattern(rankPattern)
                .optAlphaPattern(alphaPattern)
                .build();
    }
}
