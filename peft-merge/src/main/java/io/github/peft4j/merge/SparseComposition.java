package io.github.peft4j.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.AdapterFiles;
import io.github.peft4j.models.HfCheckpoint;
import io.github.peft4j.sparse.sara.SaraConfig;
import io.github.peft4j.sparse.spiel.SpielConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Composes sparse fine-tunes (SaRA, SpIEL) by adding their differences to the base, as LT-SFT composes task and
 * language fine-tunes (θ = θ₀ + φ₁ + φ₂): per layer, the union of the adapters' positions, each position's update the
 * sum of the adapters' updates there. Where several adapters touch the same entry the sum is still applied, and the
 * entry is reported as a conflict (with whether their updates disagree in sign). SpIEL files hold updates; SaRA files
 * hold the new values of their entries, so their update is value − W[i].
 *
 * <p>The result is a model directory (the base with the summed updates, and the first adapter's modules saved whole,
 * such as a classification head), not an adapter: the union of two selections has a size per layer that neither
 * method's config would select, so it has no SaRA or SpIEL config that reproduces it.
 */
public final class SparseComposition {

    private SparseComposition() {}

    /**
     * One layer's composition.
     *
     * @param layer the module path
     * @param entriesPerAdapter the number of positions of each adapter (0 where it does not target the layer)
     * @param entries the positions of the result
     * @param conflicts positions touched by two or more adapters
     * @param signConflicts of those, positions where the updates differ in sign
     */
    public record LayerReport(String layer, int[] entriesPerAdapter, int entries, int conflicts, int signConflicts) {}

    /**
     * What a composition did.
     *
     * @param layers per layer, in the first adapter's order then the others'
     * @param config the first adapter's config
     */
    public record Report(List<LayerReport> layers, ObjectNode config) {

        /**
         * Conflicting positions over all layers.
         *
         * @return the count
         */
        public long conflicts() {
            return layers.stream().mapToLong(LayerReport::conflicts).sum();
        }

        /**
         * Positions over all layers.
         *
         * @return the count
         */
        public long entries() {
            return layers.stream().mapToLong(LayerReport::entries).sum();
        }
    }

    /**
     * Composes adapters and writes the result atomically.
     *
     * @param adapters the adapter directories (SaRA or SpIEL); the first one's modules saved whole are kept
     * @param baseModel the base model directory
     * @param output the model directory to write
     * @return the report
     * @throws IOException if reading or writing fails
     * @throws IllegalArgumentException naming the adapter, if one is not sparse or a layer's positions exceed its
     *     weight
     */
    public static Report compose(List<Path> adapters, Path baseModel, Path output) throws IOException {
        java.util.Objects.requireNonNull(baseModel, "baseModel");
        if (adapters.size() < 2) {
            throw new IllegalArgumentException("composition needs at least two adapters; got " + adapters.size());
        }
        List<Map<String, int[]>> indices = new ArrayList<>();
        List<Map<String, float[]>> values = new ArrayList<>();
        List<Map<String, NDArray>> others = new ArrayList<>();
        ObjectNode first = null;
        try (NDManager m = NDManager.newBaseManager();
                HfCheckpoint base = HfCheckpoint.open(baseModel)) {
            for (Path dir : adapters) {
                ObjectNode config = AdapterFiles.readConfig(dir);
                String type = config.path("peft_type").asText();
                if (!type.equals(SaraConfig.PEFT_TYPE) && !type.equals(SpielConfig.PEFT_TYPE)) {
                    throw new IllegalArgumentException(dir + " is a " + type + " adapter; sparse composition takes"
                            + " SARA and SPIEL adapters (LoRA adapters combine with peft combine)");
                }
                if (first == null) {
                    first = config;
                }
                String prefix = type.toLowerCase(java.util.Locale.ROOT);
                Map<String, int[]> idx = new LinkedHashMap<>();
                Map<String, float[]> val = new LinkedHashMap<>();
                Map<String, NDArray> rest = new TreeMap<>();
                for (Map.Entry<String, NDArray> e :
                        AdapterFiles.readTensors(dir, m).entrySet()) {
                    String k = e.getKey();
                    if (k.endsWith("." + prefix + "_indices")) {
                        idx.put(
                                layerOf(k, prefix + "_indices"),
                                e.getValue().toType(DataType.INT32, false).toIntArray());
                    } else if (k.endsWith("." + prefix + "_values")) {
                        val.put(layerOf(k, prefix + "_values"), e.getValue().toFloatArray());
                    } else {
                        rest.put(k, e.getValue());
                    }
                }
                if (!idx.keySet().equals(val.keySet())) {
                    throw new IllegalArgumentException(dir + ": every layer needs both indices and values; indices at "
                            + idx.keySet() + ", values at " + val.keySet());
                }
                if (type.equals(SaraConfig.PEFT_TYPE)) {
                    for (Map.Entry<String, int[]> e : idx.entrySet()) {
                        float[] w = weight(base, e.getKey(), baseModel, m);
                        float[] v = val.get(e.getKey());
                        float[] d = new float[v.length];
                        for (int i = 0; i < v.length; i++) {
                            d[i] = v[i] - w[checkIndex(e.getValue()[i], w.length, dir, e.getKey())];
                        }
                        val.put(e.getKey(), d);
                    }
                }
                indices.add(idx);
                values.add(val);
                others.add(rest);
            }
            List<String> layers = new ArrayList<>();
            indices.forEach(idx ->
                    idx.keySet().stream().filter(l -> !layers.contains(l)).forEach(layers::add));
            List<LayerReport> reports = new ArrayList<>();
            Map<String, LoraAdapter.Tensor> deltas = new LinkedHashMap<>();
            String prefix = null;
            for (String layer : layers) {
                String key = BaseWeights.key(base, layer, baseModel);
                String p = layer.substring(0, layer.length() - (key.length() - ".weight".length()));
                if (prefix != null && !prefix.equals(p)) {
                    throw new IllegalArgumentException("the adapters' layer paths mix prefixes ('" + prefix + "' and '"
                            + p + "') against the base " + baseModel);
                }
                prefix = p;
                long[] shape = base.tensors().get(key).shape().getShape();
                float[] dense = new float
                        [Math.toIntExact(base.tensors().get(key).shape().size())];
                int[] perAdapter = new int[adapters.size()];
                int[] count = new int[dense.length];
                boolean[] pos = new boolean[dense.length];
                boolean[] neg = new boolean[dense.length];
                for (int a = 0; a < adapters.size(); a++) {
                    int[] idx = indices.get(a).get(layer);
                    if (idx == null) {
                        continue;
                    }
                    perAdapter[a] = idx.length;
                    float[] d = values.get(a).get(layer);
                    for (int i = 0; i < idx.length; i++) {
                        int at = checkIndex(idx[i], dense.length, adapters.get(a), layer);
                        dense[at] += d[i];
                        count[at]++;
                        pos[at] |= d[i] > 0;
                        neg[at] |= d[i] < 0;
                    }
                }
                int entries = 0;
                int conflicts = 0;
                int signs = 0;
                for (int i = 0; i < dense.length; i++) {
                    entries += count[i] > 0 ? 1 : 0;
                    if (count[i] > 1) {
                        conflicts++;
                        signs += pos[i] && neg[i] ? 1 : 0;
                    }
                }
                reports.add(new LayerReport(layer, perAdapter, entries, conflicts, signs));
                deltas.put(layer + ".weight", new LoraAdapter.Tensor(dense, shape));
            }
            Map<String, LoraAdapter.Tensor> heads = new LinkedHashMap<>();
            for (Map.Entry<String, NDArray> e : others.get(0).entrySet()) {
                String k = e.getKey().startsWith(AdapterFiles.KEY_PREFIX)
                        ? e.getKey().substring(AdapterFiles.KEY_PREFIX.length())
                        : e.getKey();
                heads.put(
                        k,
                        new LoraAdapter.Tensor(
                                e.getValue().toFloatArray(),
                                e.getValue().getShape().getShape()));
            }
            TaskVector.of(deltas, heads, prefix, null).applyTo(baseModel, 1.0, output);
            java.nio.file.Files.writeString(output.resolve("README.md"), card(adapters, reports));
            return new Report(reports, first.deepCopy());
        }
    }

    private static String layerOf(String key, String suffix) {
        String k = key.startsWith(AdapterFiles.KEY_PREFIX) ? key.substring(AdapterFiles.KEY_PREFIX.length()) : key;
        return k.substring(0, k.length() - suffix.length() - 1);
    }

    private static int checkIndex(int i, int size, Path where, String layer) {
        if (i < 0 || i >= size) {
            throw new IllegalArgumentException(where + ": layer " + layer + " has position " + i + " outside its weight"
                    + " of " + size + " entries");
        }
        return i;
    }

    private static float[] weight(HfCheckpoint base, String layer, Path dir, NDManager m) throws IOException {
        try (NDArray a = base.read(BaseWeights.key(base, layer, dir), m)) {
            return a.toFloatArray();
        }
    }

    private static String card(List<Path> adapters, List<LayerReport> reports) {
        long conflicts = reports.stream().mapToLong(LayerReport::conflicts).sum();
        long signs = reports.stream().mapToLong(LayerReport::signConflicts).sum();
        long entries = reports.stream().mapToLong(LayerReport::entries).sum();
        StringBuilder s = new StringBuilder("# Composed sparse fine-tune\n\nThe sum of the updates of:\n\n");
        adapters.forEach(a -> s.append("- `").append(a.getFileName()).append("`\n"));
        s.append("\n")
                .append(entries)
                .append(" entries; ")
                .append(conflicts)
                .append(" touched by several adapters (")
                .append(signs)
                .append(" with updates of opposite signs).\n");
        return s.toString();
    }
}
