package io.github.peft4j.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.AtomicDirectory;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.Safetensors;
import io.github.peft4j.core.io.SafetensorsFile;
import io.github.peft4j.models.HfCheckpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.ToDoubleFunction;

/**
 * A full fine-tune's update, tensor by tensor: fine-tuned − base weights (a "task vector"), with the tensors the
 * fine-tuned model has and the base lacks (a new classification head) kept as values. Task arithmetic scales and adds
 * such vectors; fine-tuning transfer applies one to another base of the same architecture ({@link #applyTo}).
 *
 * <p>Keys are the fine-tuned checkpoint's. A base whose keys lack the fine-tuned model's first component (a
 * {@code BertModel} checkpoint beside a {@code BertForSequenceClassification} one, {@code embeddings.…} against
 * {@code bert.embeddings.…}) is matched with that prefix. Integer tensors (buffers such as position ids) are not
 * updates and are left out. Everything is held in memory as float32: for models up to a few GB.
 */
public final class TaskVector {

    /** The file of a saved vector. */
    public static final String FILE = "task_vector.safetensors";

    /** The fine-tuned model's {@code config.json}, kept beside the vector for the models it is applied to. */
    public static final String CONFIG = "config.json";

    private static final String KIND = "peft4j-task-vector";

    private final Map<String, LoraAdapter.Tensor> deltas;
    private final Map<String, LoraAdapter.Tensor> added;
    private final String prefix;
    private final ObjectNode fineTunedConfig;

    private TaskVector(
            Map<String, LoraAdapter.Tensor> deltas,
            Map<String, LoraAdapter.Tensor> added,
            String prefix,
            ObjectNode fineTunedConfig) {
        this.deltas = Collections.unmodifiableMap(new TreeMap<>(deltas));
        this.added = Collections.unmodifiableMap(new TreeMap<>(added));
        this.prefix = prefix;
        this.fineTunedConfig = fineTunedConfig;
    }

    /** A vector from parts (the composition of sparse fine-tunes builds one). */
    static TaskVector of(
            Map<String, LoraAdapter.Tensor> deltas,
            Map<String, LoraAdapter.Tensor> added,
            String prefix,
            ObjectNode fineTunedConfig) {
        return new TaskVector(deltas, added, prefix, fineTunedConfig);
    }

    /**
     * Computes fine-tuned − base for every floating-point tensor of the fine-tuned model.
     *
     * @param base the base model directory ({@code model.safetensors} or shards)
     * @param fineTuned the fine-tuned model directory
     * @return the vector
     * @throws IOException if a checkpoint cannot be read
     * @throws IllegalArgumentException if a tensor's shape differs between the two (not the same architecture), or
     *     no tensor matches at all
     */
    public static TaskVector between(Path base, Path fineTuned) throws IOException {
        try (HfCheckpoint b = HfCheckpoint.open(base);
                HfCheckpoint f = HfCheckpoint.open(fineTuned);
                NDManager m = NDManager.newBaseManager()) {
            String prefix = prefix(f.tensors().keySet(), b.tensors().keySet(), base, fineTuned);
            Map<String, LoraAdapter.Tensor> deltas = new LinkedHashMap<>();
            Map<String, LoraAdapter.Tensor> added = new LinkedHashMap<>();
            for (Map.Entry<String, SafetensorsFile.TensorInfo> e : f.tensors().entrySet()) {
                String key = e.getKey();
                if (!e.getValue().dtype().isFloating()) {
                    continue;
                }
                float[] ft = read(f, key, m);
                String baseKey = key.startsWith(prefix) ? key.substring(prefix.length()) : null;
                if (baseKey == null || !b.has(baseKey)) {
                    added.put(
                            key, new LoraAdapter.Tensor(ft, e.getValue().shape().getShape()));
                    continue;
                }
                Shape fs = e.getValue().shape();
                Shape bs = b.tensors().get(baseKey).shape();
                if (!fs.equals(bs)) {
                    throw new IllegalArgumentException("tensor " + key + " is " + fs + " in " + fineTuned + " but "
                            + baseKey + " is " + bs + " in " + base + ": the models are not the same architecture");
                }
                float[] bv = read(b, baseKey, m);
                float[] d = new float[ft.length];
                for (int i = 0; i < d.length; i++) {
                    d[i] = ft[i] - bv[i];
                }
                deltas.put(key, new LoraAdapter.Tensor(d, fs.getShape()));
            }
            if (deltas.isEmpty()) {
                throw new IllegalArgumentException("no tensor of " + fineTuned + " matches one of " + base
                        + ": are they the same architecture? (first keys: "
                        + first(f.tensors().keySet()) + " against "
                        + first(b.tensors().keySet()) + ")");
            }
            Path cfg = fineTuned.resolve(CONFIG);
            ObjectNode config = Files.isRegularFile(cfg) ? Json.readObject(cfg) : null;
            return new TaskVector(deltas, added, prefix, config);
        }
    }

    /**
     * Reads a vector that {@link #save} wrote.
     *
     * @param dir the directory
     * @return the vector
     * @throws IOException if the file is missing or corrupted
     * @throws IllegalArgumentException if the file is not a task vector
     */
    public static TaskVector read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new IOException("no task vector in " + dir + ": " + FILE + " is missing (write one with peft"
                    + " transfer --save-vector or TaskVector.save)");
        }
        try (NDManager m = NDManager.newBaseManager()) {
            Safetensors.Contents c = Safetensors.read(file, m);
            if (!KIND.equals(c.metadata().get("format"))) {
                throw new IllegalArgumentException(file + " is not a task vector (its metadata format is "
                        + c.metadata().get("format") + ", expected " + KIND + ")");
            }
            Set<String> addedKeys = new TreeSet<>();
            String list = c.metadata().getOrDefault("added", "");
            if (!list.isEmpty()) {
                addedKeys.addAll(Arrays.asList(list.split(",")));
            }
            Map<String, LoraAdapter.Tensor> deltas = new LinkedHashMap<>();
            Map<String, LoraAdapter.Tensor> added = new LinkedHashMap<>();
            c.tensors().forEach((k, a) -> {
                LoraAdapter.Tensor t =
                        new LoraAdapter.Tensor(a.toFloatArray(), a.getShape().getShape());
                (addedKeys.contains(k) ? added : deltas).put(k, t);
            });
            Path cfg = dir.resolve(CONFIG);
            ObjectNode config = Files.isRegularFile(cfg) ? Json.readObject(cfg) : null;
            return new TaskVector(deltas, added, c.metadata().getOrDefault("prefix", ""), config);
        }
    }

    /**
     * Writes the vector ({@value #FILE}, and the fine-tuned model's {@value #CONFIG}) atomically.
     *
     * @param dir the directory, created or replaced
     * @throws IOException if writing fails; an existing directory is then left as it was
     */
    public void save(Path dir) throws IOException {
        AtomicDirectory.write(dir, tmp -> {
            try (NDManager m = NDManager.newBaseManager()) {
                Map<String, NDArray> tensors = new TreeMap<>();
                deltas.forEach((k, t) -> tensors.put(k, m.create(t.values(), new Shape(t.shape()))));
                added.forEach((k, t) -> tensors.put(k, m.create(t.values(), new Shape(t.shape()))));
                Map<String, String> meta = new TreeMap<>();
                meta.put("format", KIND);
                meta.put("prefix", prefix);
                meta.put("added", String.join(",", added.keySet()));
                Safetensors.write(tmp.resolve(FILE), tensors, meta);
            }
            if (fineTunedConfig != null) {
                Files.writeString(tmp.resolve(CONFIG), Json.write(fineTunedConfig));
            }
        });
    }

    /**
     * The updates by fine-tuned key.
     *
     * @return key to fine-tuned − base
     */
    public Map<String, LoraAdapter.Tensor> deltas() {
        return deltas;
    }

    /**
     * The tensors the base lacks, by key, as the fine-tuned model's values.
     *
     * @return key to values
     */
    public Map<String, LoraAdapter.Tensor> added() {
        return added;
    }

    /**
     * The fine-tuned model's {@code config.json}, if it had one.
     *
     * @return the config, or null
     */
    public ObjectNode fineTunedConfig() {
        return fineTunedConfig == null ? null : fineTunedConfig.deepCopy();
    }

    /**
     * Returns the vector with each update multiplied by a factor of its key (the added tensors unchanged).
     *
     * @param factor the factor of a key
     * @return the scaled vector
     */
    public TaskVector scaled(ToDoubleFunction<String> factor) {
        Map<String, LoraAdapter.Tensor> out = new LinkedHashMap<>();
        deltas.forEach((k, t) -> {
            double s = factor.applyAsDouble(k);
            float[] v = new float[t.values().length];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (s * t.values()[i]);
            }
            out.put(k, new LoraAdapter.Tensor(v, t.shape()));
        });
        return new TaskVector(out, added, prefix, fineTunedConfig);
    }

    /**
     * Returns the vector with the entries a predicate rejects set to 0 (the added tensors unchanged). The predicate
     * sees the entries in key order, then index order.
     *
     * @param keep whether to keep an entry, given its tensor's key and its value
     * @return the masked vector
     */
    public TaskVector masked(EntryFilter keep) {
        Map<String, LoraAdapter.Tensor> out = new LinkedHashMap<>();
        deltas.forEach((k, t) -> {
            float[] v = new float[t.values().length];
            for (int i = 0; i < v.length; i++) {
                float x = t.values()[i];
                v[i] = keep.test(k, x) ? x : 0f;
            }
            out.put(k, new LoraAdapter.Tensor(v, t.shape()));
        });
        return new TaskVector(out, added, prefix, fineTunedConfig);
    }

    /** Decides whether an entry of an update is kept. */
    @FunctionalInterface
    public interface EntryFilter {
        /**
         * Tests an entry.
         *
         * @param key the tensor's key
         * @param value the entry
         * @return whether to keep it
         */
        boolean test(String key, float value);
    }

    /**
     * The number of non-zero update entries.
     *
     * @return the count
     */
    public long nonZeros() {
        long n = 0;
        for (LoraAdapter.Tensor t : deltas.values()) {
            for (float v : t.values()) {
                n += v != 0 ? 1 : 0;
            }
        }
        return n;
    }

    /**
     * Returns the sum of this vector and another of the same architecture (task arithmetic); the added tensors of
     * this one are kept.
     *
     * @param other the other vector
     * @return this + other
     * @throws IllegalArgumentException if their keys or shapes differ
     */
    public TaskVector plus(TaskVector other) {
        if (!deltas.keySet().equals(other.deltas.keySet())) {
            Set<String> diff = new TreeSet<>(deltas.keySet());
            diff.removeAll(other.deltas.keySet());
            throw new IllegalArgumentException("the vectors update different tensors (e.g. " + first(diff)
                    + "): they come from different architectures");
        }
        Map<String, LoraAdapter.Tensor> out = new LinkedHashMap<>();
        deltas.forEach((k, t) -> {
            LoraAdapter.Tensor o = other.deltas.get(k);
            if (!Arrays.equals(t.shape(), o.shape())) {
                throw new IllegalArgumentException("tensor " + k + " is " + new Shape(t.shape()) + " in one vector and "
                        + new Shape(o.shape()) + " in the other");
            }
            float[] v = new float[t.values().length];
            for (int i = 0; i < v.length; i++) {
                v[i] = t.values()[i] + o.values()[i];
            }
            out.put(k, new LoraAdapter.Tensor(v, t.shape()));
        });
        return new TaskVector(out, added, prefix, fineTunedConfig);
    }

    /**
     * Writes base + scale · vector as a model directory in the fine-tuned model's layout (fine-tuning transfer when
     * the base is a newer version of the one the vector was computed on): every tensor of the base (under the
     * fine-tuned naming), the updates added, the added tensors as they are; {@code config.json} from the base with the
     * fine-tuned model's {@code architectures} and labels; the base's tokenizer files and {@code labels.json}.
     *
     * @param base the base model directory
     * @param scale the factor of the update
     * @param out the output directory, written atomically
     * @throws IOException if reading or writing fails
     * @throws IllegalArgumentException if the base lacks a tensor the vector updates or its shape differs
     */
    public void applyTo(Path base, double scale, Path out) throws IOException {
        try (HfCheckpoint b = HfCheckpoint.open(base);
                NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new TreeMap<>();
            for (Map.Entry<String, SafetensorsFile.TensorInfo> e : b.tensors().entrySet()) {
                NDArray v = b.read(e.getKey(), m);
                tensors.put(prefix + e.getKey(), v);
            }
            for (Map.Entry<String, LoraAdapter.Tensor> e : deltas.entrySet()) {
                NDArray v = tensors.get(e.getKey());
                if (v == null) {
                    throw new IllegalArgumentException(base + " has no tensor "
                            + e.getKey().substring(prefix.length()) + ", which the vector updates: not the"
                            + " architecture the vector was computed on");
                }
                if (!Arrays.equals(v.getShape().getShape(), e.getValue().shape())) {
                    throw new IllegalArgumentException("tensor " + e.getKey() + " is " + v.getShape() + " in " + base
                            + " but " + new Shape(e.getValue().shape()) + " in the vector");
                }
                float[] w = v.toFloatArray();
                float[] d = e.getValue().values();
                for (int i = 0; i < w.length; i++) {
                    w[i] = (float) (w[i] + scale * d[i]);
                }
                tensors.put(e.getKey(), m.create(w, v.getShape()));
            }
            added.forEach((k, t) -> tensors.put(k, m.create(t.values(), new Shape(t.shape()))));
            ObjectNode config = Files.isRegularFile(base.resolve(CONFIG))
                    ? Json.readObject(base.resolve(CONFIG))
                    : Json.MAPPER.createObjectNode();
            if (fineTunedConfig != null) {
                for (String k : List.of("architectures", "id2label", "label2id", "num_labels", "problem_type")) {
                    if (fineTunedConfig.has(k)) {
                        config.set(k, fineTunedConfig.get(k).deepCopy());
                    }
                }
            }
            AtomicDirectory.write(out, tmp -> {
                Safetensors.write(tmp.resolve(HfCheckpoint.SINGLE), tensors, Map.of("format", "pt"));
                Files.writeString(tmp.resolve(CONFIG), Json.write(config));
                for (String f : List.of("tokenizer.json", "tokenizer_config.json", "vocab.txt", "labels.json")) {
                    if (Files.isRegularFile(base.resolve(f))) {
                        Files.copy(base.resolve(f), tmp.resolve(f));
                    }
                }
            });
        }
    }

    /**
     * The L2 norm of the updates.
     *
     * @return √Σ δ²
     */
    public double norm() {
        double s = 0;
        for (LoraAdapter.Tensor t : deltas.values()) {
            for (float v : t.values()) {
                s += (double) v * v;
            }
        }
        return Math.sqrt(s);
    }

    private static float[] read(HfCheckpoint c, String key, NDManager m) throws IOException {
        try (NDArray a = c.read(key, m)) {
            return a.toFloatArray();
        }
    }

    /** "" when the keys match as they are, else the fine-tuned keys' first component that the base lacks. */
    private static String prefix(Set<String> fineTuned, Set<String> base, Path b, Path f) {
        long exact = fineTuned.stream().filter(base::contains).count();
        Map<String, Long> byPrefix = new TreeMap<>();
        for (String k : fineTuned) {
            int dot = k.indexOf('.');
            if (dot > 0 && base.contains(k.substring(dot + 1))) {
                byPrefix.merge(k.substring(0, dot + 1), 1L, Long::sum);
            }
        }
        Map.Entry<String, Long> best =
                byPrefix.entrySet().stream().max(Map.Entry.comparingByValue()).orElse(null);
        if (best != null && best.getValue() > exact) {
            return best.getKey();
        }
        if (exact == 0) {
            throw new IllegalArgumentException("no tensor of " + f + " matches one of " + b + ", with or without a"
                    + " prefix: are they the same architecture? (first keys: " + first(fineTuned) + " against "
                    + first(base) + ")");
        }
        return "";
    }

    private static String first(Set<String> keys) {
        return keys.stream().limit(3).toList().toString();
    }
}
