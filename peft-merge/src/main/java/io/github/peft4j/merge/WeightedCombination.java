package io.github.peft4j.merge;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.linalg.ExactSvd;
import io.github.peft4j.linalg.LowRank;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Combines LoRA adapters into a new one with the weights and {@link CombinationType} of Python PEFT's
 * {@code add_weighted_adapter}: the same ranks, the same factors for {@code linear}, {@code cat}, TIES and magnitude
 * pruning, the same update ΔW for the SVD types (the factors of an SVD are unique up to the signs of its components),
 * and DARE's masks drawn from a seed (reproducible in Java; not torch's random stream). The adapters are files
 * ({@link LoraAdapter}); no base model is needed.
 *
 * <p>Where peft4j departs from Python, on purpose: the result's config sets {@code use_rslora} false (Python copies the
 * first adapter's, so that an rsLoRA first adapter makes the combined update √r times too large; the factors written
 * here are Python's, and the scaling α/r = 1 they are meant for); the modules an adapter saves whole are carried over
 * from the one adapter that has them, or from the one named by {@link Builder#optModulesToSaveFrom} (Python refuses
 * two adapters that save the same module, and gives the new adapter fresh copies of the base modules).
 */
public final class WeightedCombination {

    private final List<String> names;
    private final List<LoraAdapter> adapters;
    private final double[] weights;
    private final CombinationType type;
    private final Double density;
    private final MajoritySign majoritySign;
    private final Integer svdRank;
    private final Double svdClamp;
    private final long seed;
    private final String modulesToSaveFrom;

    private WeightedCombination(Builder b) {
        if (b.adapters.isEmpty()) {
            throw new IllegalArgumentException("add at least one adapter to combine");
        }
        this.names = List.copyOf(b.names);
        this.adapters = List.copyOf(b.adapters);
        this.weights = b.weights.stream().mapToDouble(Double::doubleValue).toArray();
        // one adapter: only a weighted copy makes sense, as in Python
        this.type = adapters.size() == 1
                ? CombinationType.LINEAR
                : Objects.requireNonNull(b.type, "WeightedCombination.Builder.setType is required");
        this.density = b.density;
        this.majoritySign = b.majoritySign;
        this.svdRank = b.svdRank;
        this.svdClamp = b.svdClamp;
        this.seed = b.seed;
        this.modulesToSaveFrom = b.modulesToSaveFrom;
        if (type.needsDensity() && density == null) {
            throw new IllegalArgumentException(type.pythonName() + " prunes: set a density in [0, 1] (the fraction"
                    + " of values kept), e.g. 0.5");
        }
        if (svdClamp != null && !(svdClamp >= 0 && svdClamp <= 1)) {
            throw new IllegalArgumentException("svd_clamp is a quantile in [0, 1]; got " + svdClamp);
        }
        if (svdRank != null && svdRank < 1) {
            throw new IllegalArgumentException("svd_rank must be ≥ 1; got " + svdRank);
        }
        if (modulesToSaveFrom != null && !names.contains(modulesToSaveFrom)) {
            throw new IllegalArgumentException(
                    "modules to save from '" + modulesToSaveFrom + "': no such adapter among " + names);
        }
        requireOneBase(names, adapters);
    }

    /** Fails when two adapters name different base models in {@code base_model_name_or_path}. */
    private static void requireOneBase(List<String> names, List<LoraAdapter> adapters) {
        String first = null;
        String firstName = null;
        for (int i = 0; i < adapters.size(); i++) {
            String base =
                    adapters.get(i).config().path("base_model_name_or_path").asText("");
            if (base.isEmpty()) {
                continue;
            }
            if (first == null) {
                first = base;
                firstName = names.get(i);
            } else if (!first.equals(base)) {
                throw new IllegalArgumentException("adapters of different base models cannot be combined: '" + firstName
                        + "' was trained on " + first + ", '" + names.get(i) + "' on " + base);
            }
        }
    }

    /**
     * Returns a builder.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The rank of the combined adapter: the common rank (linear, TIES, DARE, magnitude pruning), the sum of the ranks
     * (cat), or {@code svd_rank} else the largest rank (SVD types). An adapter's rank is its largest, {@code r} or a
     * {@code rank_pattern} value, as in Python.
     *
     * @return the rank
     * @throws IllegalArgumentException if the type needs equal ranks and they differ
     */
    public int newRank() {
        int[] ranks = adapters.stream().mapToInt(WeightedCombination::maxRank).toArray();
        if (type == CombinationType.CAT) {
            return Arrays.stream(ranks).sum();
        }
        if (type.isSvd()) {
            return svdRank != null ? svdRank : Arrays.stream(ranks).max().orElseThrow();
        }
        if (Arrays.stream(ranks).distinct().count() != 1) {
            throw new IllegalArgumentException("all adapters must have the same r for " + type.pythonName() + "; got "
                    + Arrays.toString(ranks) + " for " + names + " (cat and the SVD types take different ranks)");
        }
        return ranks[0];
    }

    private static int maxRank(LoraAdapter a) {
        int r = a.config().path("r").asInt();
        for (JsonNode v : a.config().path("rank_pattern")) {
            r = Math.max(r, v.asInt());
        }
        return r;
    }

    /**
     * Combines.
     *
     * @return the new adapter
     * @throws IllegalArgumentException naming the layer or setting that does not fit
     */
    public LoraAdapter combine() {
        int rank = newRank();
        Map<String, LoraFactors> layers = new LinkedHashMap<>();
        for (String path : layerPaths()) {
            List<Integer> present = new ArrayList<>();
            for (int i = 0; i < adapters.size(); i++) {
                if (adapters.get(i).layers().containsKey(path)) {
                    present.add(i);
                }
            }
            LoraFactors f;
            if (type == CombinationType.CAT) {
                f = cat(path, present, rank);
            } else if (type.isSvd()) {
                f = svd(path, present, rank);
            } else {
                f = factorwise(path, present);
            }
            layers.put(path, f);
        }
        return new LoraAdapter(config(rank), layers, modulesToSave());
    }

    private Set<String> layerPaths() {
        Set<String> paths = new LinkedHashSet<>();
        adapters.forEach(a -> paths.addAll(a.layers().keySet()));
        return paths;
    }

    private LoraFactors factor(int adapter, String path) {
        return adapters.get(adapter).layers().get(path);
    }

    /** cat: A's scaled by w·s stacked by rows, B's by columns, zero-padded to the new rank. */
    private LoraFactors cat(String path, List<Integer> present, int rank) {
        LoraFactors first = factor(present.get(0), path);
        int in = first.in();
        int out = first.out();
        float[] a = new float[rank * in];
        float[] b = new float[out * rank];
        int row = 0;
        for (int i : present) {
            LoraFactors f = sameShape(factor(i, path), first, path);
            double scale = weights[i] * f.scaling();
            for (int k = 0; k < f.rank(); k++) {
                for (int j = 0; j < in; j++) {
                    a[(row + k) * in + j] = (float) (f.a()[k * in + j] * scale);
                }
                for (int o = 0; o < out; o++) {
                    b[o * rank + row + k] = f.b()[o * f.rank() + k];
                }
            }
            row += f.rank();
        }
        return new LoraFactors(a, b, rank, in, out, 1.0);
    }

    /** linear, TIES, DARE, magnitude pruning: the A's and B's combined separately, weighted by ±√|w·s| and √|w·s|. */
    private LoraFactors factorwise(String path, List<Integer> present) {
        LoraFactors first = factor(present.get(0), path);
        double[][] as = new double[present.size()][];
        double[][] bs = new double[present.size()][];
        double[] wa = new double[present.size()];
        double[] wb = new double[present.size()];
        for (int p = 0; p < present.size(); p++) {
            int i = present.get(p);
            LoraFactors f = factor(i, path);
            if (f.rank() != first.rank() || f.in() != first.in() || f.out() != first.out()) {
                throw new IllegalArgumentException("layer " + path + ": " + type.pythonName() + " needs factors of one"
                        + " shape; " + names.get(i) + " has rank " + f.rank() + ", " + names.get(present.get(0))
                        + " rank " + first.rank() + " (use cat or an SVD type)");
            }
            double ws = weights[i] * f.scaling();
            wa[p] = Math.sqrt(Math.abs(ws)) * (ws >= 0 ? 1 : -1);
            wb[p] = Math.sqrt(Math.abs(ws));
            as[p] = toDouble(f.a());
            bs[p] = toDouble(f.b());
        }
        double[] a = merge(as, wa, path + "#A");
        double[] b = merge(bs, wb, path + "#B");
        return new LoraFactors(toFloat(a), toFloat(b), first.rank(), first.in(), first.out(), 1.0);
    }

    /** The SVD types: the updates ΔW = s·B·A combined with the weights, then B = U_r S_r, A = V_rᵀ. */
    private LoraFactors svd(String path, List<Integer> present, int rank) {
        LoraFactors first = factor(present.get(0), path);
        int in = first.in();
        int out = first.out();
        if (rank > Math.min(in, out)) {
            throw new IllegalArgumentException("layer " + path + " is " + out + " × " + in + ": an SVD rank of " + rank
                    + " exceeds min(out, in) = " + Math.min(in, out) + "; set a smaller svd_rank");
        }
        double[][] deltas = new double[present.size()][];
        double[] w = new double[present.size()];
        for (int p = 0; p < present.size(); p++) {
            int i = present.get(p);
            deltas[p] = sameShape(factor(i, path), first, path).deltaWeight();
            w[p] = weights[i];
        }
        double[] delta = merge(deltas, w, path + "#dW");
        LowRank.Svd d = ExactSvd.svd(delta, out, in);
        int k = d.rank();
        float[] b = new float[out * rank];
        float[] a = new float[rank * in];
        for (int o = 0; o < out; o++) {
            for (int c = 0; c < rank; c++) {
                b[o * rank + c] = (float) (d.u()[o * k + c] * d.s()[c]);
            }
        }
        for (int c = 0; c < rank; c++) {
            for (int j = 0; j < in; j++) {
                a[c * in + j] = (float) d.vt()[c * in + j];
            }
        }
        if (svdClamp != null) {
            clamp(a, b, svdClamp);
        }
        return new LoraFactors(a, b, rank, in, out, 1.0);
    }

    /**
     * Clamps B = U S and A = Vᵀ in place to ± the {@code quantile} of all their entries (torch.quantile's linear
     * interpolation), as Python's {@code svd_clamp}. The result depends on the signs the SVD gave each singular pair.
     */
    static void clamp(float[] a, float[] b, double quantile) {
        double[] all = new double[a.length + b.length];
        for (int i = 0; i < b.length; i++) {
            all[i] = b[i];
        }
        for (int i = 0; i < a.length; i++) {
            all[b.length + i] = a[i];
        }
        Arrays.sort(all);
        double pos = quantile * (all.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(lo + 1, all.length - 1);
        double high = all[lo] + (all[hi] - all[lo]) * (pos - lo);
        double low = -high;
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) Math.min(Math.max(a[i], low), high);
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = (float) Math.min(Math.max(b[i], low), high);
        }
    }

    private double[] merge(double[][] tensors, double[] w, String stream) {
        return switch (type) {
            case LINEAR, SVD -> TaskTensors.taskArithmetic(tensors, w);
            case TIES, TIES_SVD -> TaskTensors.ties(tensors, w, density, majoritySign);
            case DARE_LINEAR, DARE_LINEAR_SVD -> TaskTensors.dareLinear(tensors, w, density, randoms(stream, tensors));
            case DARE_TIES, DARE_TIES_SVD ->
                TaskTensors.dareTies(tensors, w, density, majoritySign, randoms(stream, tensors));
            case MAGNITUDE_PRUNE, MAGNITUDE_PRUNE_SVD -> TaskTensors.magnitudePruneMerge(tensors, w, density);
            case CAT -> throw new IllegalStateException("cat is not an elementwise merge");
        };
    }

    /** One mask stream per task tensor, from the seed, the layer path and the factor: order-independent. */
    private SplittableRandom[] randoms(String stream, double[][] tensors) {
        SplittableRandom[] r = new SplittableRandom[tensors.length];
        for (int i = 0; i < r.length; i++) {
            long h = seed;
            for (char c : (stream + "\u0000" + i).toCharArray()) {
                h = h * 0x100000001B3L ^ c;
            }
            r[i] = new SplittableRandom(h);
        }
        return r;
    }

    private LoraFactors sameShape(LoraFactors f, LoraFactors first, String path) {
        if (f.in() != first.in() || f.out() != first.out()) {
            throw new IllegalArgumentException("layer " + path + " is " + first.out() + " × " + first.in()
                    + " in one adapter and " + f.out() + " × " + f.in() + " in another: they were trained on"
                    + " different models");
        }
        return f;
    }

    private ObjectNode config(int rank) {
        ObjectNode c = adapters.get(0).config().deepCopy();
        c.put("r", rank);
        c.put("lora_alpha", rank);
        c.put("use_rslora", false);
        c.set("alpha_pattern", JsonNodeFactory.instance.objectNode());
        c.set("rank_pattern", JsonNodeFactory.instance.objectNode());
        c.set("target_modules", targetModules());
        c.put("inference_mode", true);
        String from = modulesToSaveSource();
        c.set(
                "modules_to_save",
                from == null
                        ? JsonNodeFactory.instance.nullNode()
                        : adapters.get(names.indexOf(from)).config().get("modules_to_save"));
        return c;
    }

    private JsonNode targetModules() {
        List<JsonNode> t =
                adapters.stream().map(a -> a.config().path("target_modules")).toList();
        if (t.stream().allMatch(JsonNode::isTextual)) {
            return JsonNodeFactory.instance.textNode(
                    String.join("|", t.stream().map(n -> "(" + n.asText() + ")").toList()));
        }
        if (t.stream().allMatch(JsonNode::isArray)) {
            Set<String> union = new LinkedHashSet<>();
            t.forEach(n -> n.forEach(e -> union.add(e.asText())));
            ArrayNode out = JsonNodeFactory.instance.arrayNode();
            union.forEach(out::add);
            return out;
        }
        throw new IllegalArgumentException(
                "all adapters' target_modules must be lists, or all regular expressions;" + " got a mix: " + t);
    }

    /** The adapter whose whole-saved modules the result carries, or null if none has any. */
    private String modulesToSaveSource() {
        if (modulesToSaveFrom != null) {
            return modulesToSaveFrom;
        }
        List<String> with = new ArrayList<>();
        for (int i = 0; i < adapters.size(); i++) {
            if (!adapters.get(i).others().isEmpty()) {
                with.add(names.get(i));
            }
        }
        if (with.size() > 1) {
            throw new IllegalArgumentException("adapters " + with + " all save modules whole (modules_to_save, e.g. a"
                    + " classification head); they cannot be combined: name the one to keep"
                    + " (optModulesToSaveFrom, --modules-to-save-from)");
        }
        return with.isEmpty() ? null : with.get(0);
    }

    private Map<String, LoraAdapter.Tensor> modulesToSave() {
        String from = modulesToSaveSource();
        return from == null ? Map.of() : adapters.get(names.indexOf(from)).others();
    }

    /**
     * Describes the combination for a model card.
     *
     * @return markdown lines
     */
    public String describe() {
        StringBuilder s = new StringBuilder();
        s.append(String.format(
                Locale.ROOT, "Combined by peft4j (`%s`, rank %d) from:%n%n", type.pythonName(), newRank()));
        for (int i = 0; i < names.size(); i++) {
            s.append(String.format(Locale.ROOT, "- `%s` with weight %s%n", names.get(i), weights[i]));
        }
        if (density != null) {
            s.append(String.format(Locale.ROOT, "%ndensity %s", density));
            if (type.name().contains("TIES")) {
                s.append(", majority sign ").append(majoritySign.pythonName());
            }
            if (type.isRandom()) {
                s.append(", seed ").append(seed);
            }
            s.append('\n');
        }
        if (svdClamp != null) {
            s.append(String.format(Locale.ROOT, "%nsvd_clamp %s%n", svdClamp));
        }
        return s.toString();
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    /** Builds a {@link WeightedCombination}: {@code addAdapter} at least once; {@code setType} for two or more. */
    public static final class Builder {

        private final List<String> names = new ArrayList<>();
        private final List<LoraAdapter> adapters = new ArrayList<>();
        private final List<Double> weights = new ArrayList<>();
        private CombinationType type;
        private Double density;
        private MajoritySign majoritySign = MajoritySign.TOTAL;
        private Integer svdRank;
        private Double svdClamp;
        private long seed = 42;
        private String modulesToSaveFrom;

        private Builder() {}

        /**
         * Adds an adapter with its weight (negative weights subtract).
         *
         * @param name a name for messages and the model card
         * @param adapter the adapter
         * @param weight its weight
         * @return this builder
         */
        public Builder addAdapter(String name, LoraAdapter adapter, double weight) {
            if (names.contains(name)) {
                throw new IllegalArgumentException("adapter name '" + name + "' given twice");
            }
            if (!Double.isFinite(weight)) {
                throw new IllegalArgumentException("the weight of '" + name + "' must be finite; got " + weight);
            }
            names.add(name);
            adapters.add(Objects.requireNonNull(adapter, "adapter"));
            weights.add(weight);
            return this;
        }

        /**
         * Sets how to combine (required with two or more adapters).
         *
         * @param type the combination type
         * @return this builder
         */
        public Builder setType(CombinationType type) {
            this.type = type;
            return this;
        }

        /**
         * Sets the fraction of values kept by TIES, DARE and magnitude pruning (required by them).
         *
         * @param density in [0, 1]; 1 keeps everything
         * @return this builder
         */
        public Builder optDensity(double density) {
            if (!(density >= 0 && density <= 1)) {
                throw new IllegalArgumentException("density must be in [0, 1]; got " + density);
            }
            this.density = density;
            return this;
        }

        /**
         * Sets TIES' sign election ({@link MajoritySign#TOTAL} by default).
         *
         * @param method the method
         * @return this builder
         */
        public Builder optMajoritySign(MajoritySign method) {
            this.majoritySign = Objects.requireNonNull(method, "method");
            return this;
        }

        /**
         * Sets the SVD types' rank (default: the largest rank of the adapters).
         *
         * @param rank the rank
         * @return this builder
         */
        public Builder optSvdRank(int rank) {
            this.svdRank = rank;
            return this;
        }

        /**
         * Clamps the SVD factors to ± this quantile of their entries (none by default).
         *
         * @param quantile in [0, 1], e.g. 0.99
         * @return this builder
         */
        public Builder optSvdClamp(double quantile) {
            this.svdClamp = quantile;
            return this;
        }

        /**
         * Sets the seed of DARE's random masks (42 by default).
         *
         * @param seed the seed
         * @return this builder
         */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * Names the adapter whose whole-saved modules (a classification head) the result carries, when several have
         * them.
         *
         * @param name an added adapter's name
         * @return this builder
         */
        public Builder optModulesToSaveFrom(String name) {
            this.modulesToSaveFrom = name;
            return this;
        }

        /**
         * Builds the combination.
         *
         * @return the combination
         * @throws IllegalArgumentException if a setting is missing or out of range
         */
        public WeightedCombination build() {
            return new WeightedCombination(this);
        }
    }
}
