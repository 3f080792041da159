package io.github.peft4j.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import io.github.peft4j.core.ModuleTree;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.core.io.Safetensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Loads Hugging Face {@code model.safetensors} weights into a peft4j model block, by module path. */
public final class HfWeights {

    private static final Logger LOG = LoggerFactory.getLogger(HfWeights.class);

    private HfWeights() {}

    /**
     * What a load did.
     *
     * @param loaded parameter paths set from the file
     * @param freshlyInitialized parameter paths that the file lacked and that were initialised (allowed heads)
     * @param unexpected file keys the model has no parameter for (ignored)
     */
    public record Report(List<String> loaded, List<String> freshlyInitialized, List<String> unexpected) {}

    /**
     * Reads {@code model.safetensors} from a model directory.
     *
     * @param dir the directory
     * @param manager owns the arrays
     * @return key to tensor
     * @throws IOException if the file is missing, truncated or corrupted
     */
    public static Map<String, NDArray> read(Path dir, NDManager manager) throws IOException {
        Path file = dir.resolve("model.safetensors");
        if (!Files.isRegularFile(file)) {
            throw new IOException("model weights missing: " + file + " (peft4j reads model.safetensors; convert a"
                    + " pytorch_model.bin with Python's safetensors first)");
        }
        return Safetensors.read(file, manager).tensors();
    }

    /**
     * Sets every parameter of a model from a tensor map.
     *
     * @param model the model, initialised (shapes known)
     * @param tensors file key to tensor
     * @param keyOf maps a model parameter path to the file key it reads
     * @param freshHeads module path prefixes that may be missing from the file; they are initialised as Hugging
     *     Face does (normal(0, std) weights, zero biases, LayerNorm ones) from {@code seed}
     * @param std the standard deviation of fresh weights ({@code initializer_range})
     * @param seed the seed of fresh weights
     * @param source the file, for messages
     * @return what was loaded
     * @throws IllegalArgumentException if a tensor has the wrong shape (naming it and both shapes) or a weight is
     *     missing and not allowed to be fresh
     */
    public static Report assign(
            Block model,
            Map<String, NDArray> tensors,
            UnaryOperator<String> keyOf,
            Collection<String> freshHeads,
            double std,
            long seed,
            String source) {
        Map<String, Parameter> params = ModuleTree.namedParameters(model);
        List<String> missing = new ArrayList<>();
        List<String> fresh = new ArrayList<>();
        List<String> loaded = new ArrayList<>();
        Map<String, String> used = new TreeMap<>();
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            String key = keyOf.apply(e.getKey());
            NDArray src = tensors.get(key);
            Shape want = e.getValue().getArray().getShape();
            if (src == null) {
                if (freshHeads.stream()
                        .anyMatch(h -> e.getKey().equals(h) || e.getKey().startsWith(h + "."))) {
                    fresh.add(e.getKey());
                } else {
                    missing.add(key);
                }
                continue;
            }
            if (!src.getShape().equals(want)) {
                throw new IllegalArgumentException("tensor '" + key + "' in " + source + " has shape " + src.getShape()
                        + " but the model expects " + want);
            }
            used.put(key, e.getKey());
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(source + " lacks " + missing.size() + " weight(s) of the model: "
                    + abbreviate(missing)
                    + (freshHeads.isEmpty() ? "" : " (only " + freshHeads + " may be freshly initialised)"));
        }
        for (Map.Entry<String, String> u : used.entrySet()) {
            ParameterValues.copyInto(params.get(u.getValue()).getArray(), tensors.get(u.getKey()));
            loaded.add(u.getValue());
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        for (String p : fresh) {
            NDArray a = params.get(p).getArray();
            float[] v = new float[Math.toIntExact(a.size())];
            boolean weight = p.endsWith(".weight") && a.getShape().dimension() == 2;
            boolean norm = p.contains("LayerNorm") && p.endsWith(".weight");
            for (int i = 0; i < v.length; i++) {
                v[i] = weight ? (float) (rnd.nextGaussian() * std) : norm ? 1f : 0f;
            }
            try (NDArray src = a.getManager().create(v, a.getShape())) {
                ParameterValues.copyInto(a, src);
            }
        }
        List<String> unexpected = new ArrayList<>();
        for (String k : tensors.keySet()) {
            if (!used.containsKey(k) && !k.endsWith("position_ids")) {
                unexpected.add(k);
            }
        }
        if (!unexpected.isEmpty()) {
            LOG.warn(
                    "{}: ignoring {} tensor(s) the model has no parameter for: {}",
                    source,
                    unexpected.size(),
                    abbreviate(unexpected));
        }
        if (!fresh.isEmpty()) {
            LOG.info("{}: freshly initialised (seed {}): {}", source, seed, abbreviate(fresh));
        }
        return new Report(loaded, fresh, unexpected);
    }

    /**
     * Writes a Hugging Face model directory atomically: {@code config.json}, {@code model.safetensors} with every
     * parameter under its module path (float32 as stored), and {@code tokenizer.json} when given.
     *
     * @param dir the directory, created or replaced as a whole
     * @param model the model
     * @param config the {@code config.json} object
     * @param tokenizerJson a tokenizer file to copy, or null
     * @throws IOException if writing fails; a previous directory is then left unchanged
     */
    public static void writeDirectory(
            Path dir, Block model, com.fasterxml.jackson.databind.node.ObjectNode config, Path tokenizerJson)
            throws IOException {
        io.github.peft4j.core.io.AtomicDirectory.write(dir, tmp -> {
            Map<String, NDArray> tensors = new TreeMap<>();
            ModuleTree.namedParameters(model).forEach((k, p) -> tensors.put(k, p.getArray()));
            Safetensors.write(tmp.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
            Files.writeString(tmp.resolve("config.json"), io.github.peft4j.core.io.Json.write(config));
            if (tokenizerJson != null) {
                Files.copy(tokenizerJson, tmp.resolve("tokenizer.json"));
            }
        });
    }

    private static String abbreviate(List<String> keys) {
        return keys.size() <= 8 ? keys.toString() : keys.subList(0, 8) + " and " + (keys.size() - 8) + " more";
    }
}
