package io.github.peft4j.models.decoder;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.initializer.Initializer;
import ai.djl.training.initializer.NormalInitializer;
import io.github.peft4j.core.ModuleTree;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.core.TensorFit;
import io.github.peft4j.core.io.AtomicDirectory;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.Safetensors;
import io.github.peft4j.core.io.SafetensorsFile;
import io.github.peft4j.core.nn.FanInFanOut;
import io.github.peft4j.models.HfCheckpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds decoder models from Hugging Face model directories ({@code config.json} + safetensors weights, single or
 * sharded, F32/F16/BF16), from a config alone with random weights (for benchmarks of real shapes without downloads),
 * and saves them back in the same layout.
 */
public final class Decoders {

    private static final Logger LOG = LoggerFactory.getLogger(Decoders.class);

    /** Checkpoint tensors that are buffers, not parameters (ignored). */
    private static final List<String> BUFFERS = List.of(".attn.bias", ".attn.masked_bias", "rotary_emb.inv_freq");

    private Decoders() {}

    /**
     * Creates the model of a config, uninitialised.
     *
     * @param config the architecture
     * @return {@link LlamaForCausalLM} or {@link Gpt2LMHeadModel}
     */
    public static CausalLanguageModel create(DecoderConfig config) {
        return config.family() == DecoderFamily.GPT2 ? new Gpt2LMHeadModel(config) : new LlamaForCausalLM(config);
    }

    /**
     * Creates a model with Hugging Face's random initialisation (normal(0, initializer_range) weights, zero biases,
     * unit norms), drawn from the engine's generator seeded with {@code seed}.
     *
     * @param config the architecture
     * @param manager owns the weights
     * @param seed the seed
     * @return the model
     */
    public static CausalLanguageModel random(DecoderConfig config, NDManager manager, long seed) {
        CausalLanguageModel model = create(config);
        model.setInitializer(new NormalInitializer((float) config.initializerRange()), p -> true);
        model.setInitializer(Initializer.ZEROS, p -> "bias".equals(p.getName()));
        model.setInitializer(Initializer.ONES, p -> p.getType() == Parameter.Type.GAMMA);
        Engine.getInstance().setRandomSeed((int) seed);
        model.initialize(manager);
        return model;
    }

    /**
     * Loads a model directory.
     *
     * @param dir the directory ({@code config.json} and weights)
     * @param manager owns the weights
     * @return the model, weights loaded
     * @throws IOException if a file is missing or corrupted
     * @throws IllegalArgumentException if the architecture is not supported, or a weight is missing or has another
     *     shape than the config implies (naming the tensor and both shapes)
     */
    public static CausalLanguageModel load(Path dir, NDManager manager) throws IOException {
        DecoderConfig config = DecoderConfig.read(dir);
        CausalLanguageModel model = create(config);
        model.setInitializer(Initializer.ZEROS, p -> true);
        model.initialize(manager);
        try (HfCheckpoint ckpt = HfCheckpoint.open(dir)) {
            assign(model, ckpt);
        }
        return model;
    }

    /**
     * Sets every parameter of a model from a checkpoint. Keys are matched as saved by the task model
     * ({@code model.}/{@code transformer.} prefix) or by the bare model (no prefix); GPT-2's {@code Conv1D} weights
     * are transposed from [in, out].
     *
     * @param model the model, initialised
     * @param ckpt the checkpoint
     * @throws IOException if a tensor cannot be read
     * @throws IllegalArgumentException if weights are missing or have the wrong shape
     */
    public static void assign(CausalLanguageModel model, HfCheckpoint ckpt) throws IOException {
        Map<String, Parameter> params = ModuleTree.namedParameters(model);
        Set<String> transposed = transposedWeights(model);
        Map<String, SafetensorsFile.TensorInfo> inFile = ckpt.tensors();
        Map<String, String> keyOf = new LinkedHashMap<>();
        List<String> missing = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            String key = fileKey(ckpt, e.getKey());
            if (key == null) {
                missing.add(e.getKey());
                continue;
            }
            var info = inFile.get(key);
            Shape want = e.getValue().getArray().getShape();
            Shape stored = transposed.contains(e.getKey()) ? new Shape(want.get(1), want.get(0)) : want;
            if (!info.shape().equals(stored)) {
                throw new IllegalArgumentException("tensor '" + key + "' in " + ckpt.fileOf(key) + " has shape "
                        + info.shape() + " but " + model.getConfig().family().architecture() + " with this config.json"
                        + " expects " + stored);
            }
            keyOf.put(e.getKey(), key);
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(ckpt.directory() + " lacks " + missing.size() + " weight(s) of "
                    + model.getConfig().family().architecture() + ": " + TensorFit.abbreviate(missing));
        }
        for (Map.Entry<String, String> e : keyOf.entrySet()) {
            NDArray target = params.get(e.getKey()).getArray();
            if (transposed.contains(e.getKey())) {
                try (NDManager scope = target.getManager().newSubManager()) {
                    NDArray t = ckpt.read(e.getValue(), scope);
                    ParameterValues.copyInto(target, t.transpose());
                }
            } else {
                ckpt.readInto(e.getValue(), target);
            }
        }
        Set<String> used = new HashSet<>(keyOf.values());
        List<String> unexpected = new ArrayList<>();
        for (String k : inFile.keySet()) {
            if (!used.contains(k) && BUFFERS.stream().noneMatch(k::endsWith) && !"lm_head.weight".equals(k)) {
                unexpected.add(k);
            }
        }
        if (!unexpected.isEmpty()) {
            LOG.warn(
                    "{}: ignoring {} tensor(s) the model has no parameter for: {}",
                    ckpt.directory(),
                    unexpected.size(),
                    TensorFit.abbreviate(unexpected));
        }
    }

    private static String fileKey(HfCheckpoint ckpt, String path) {
        if (ckpt.has(path)) {
            return path;
        }
        for (String prefix : new String[] {"model.", "transformer."}) {
            if (path.startsWith(prefix) && ckpt.has(path.substring(prefix.length()))) {
                return path.substring(prefix.length());
            }
        }
        return null;
    }

    /** The parameter paths stored [in, out] in checkpoints: the weights of {@link FanInFanOut} layers. */
    static Set<String> transposedWeights(Block model) {
        Set<String> out = new HashSet<>();
        for (ModuleTree.Node n : ModuleTree.walk(model)) {
            if (n.block() instanceof FanInFanOut) {
                out.add((n.path().isEmpty() ? "" : n.path() + ".") + "weight");
            }
        }
        return out;
    }

    /**
     * Saves a model as a Hugging Face directory, atomically: {@code config.json} (the one it was built from) and
     * {@code model.safetensors} in float32 with Hugging Face's keys ({@code Conv1D} weights transposed back, a tied
     * head not written). Tokenizer files are the caller's to copy.
     *
     * @param dir the directory, created or replaced as a whole
     * @param model the model (merge adapters into it first to save a fine-tuned model)
     * @throws IOException if writing fails; a previous directory is then left unchanged
     */
    public static void save(Path dir, CausalLanguageModel model) throws IOException {
        Set<String> transposed = transposedWeights(model);
        AtomicDirectory.write(dir, tmp -> {
            Map<String, NDArray> tensors = new TreeMap<>();
            List<NDArray> temporaries = new ArrayList<>();
            try {
                ModuleTree.namedParameters(model).forEach((k, p) -> {
                    NDArray a = p.getArray();
                    if (transposed.contains(k)) {
                        a = a.transpose();
                        temporaries.add(a);
                    }
                    tensors.put(k, a);
                });
                Safetensors.write(tmp.resolve(HfCheckpoint.SINGLE), tensors, Map.of("format", "pt"));
            } finally {
                temporaries.forEach(NDArray::close);
            }
            Files.writeString(
                    tmp.resolve("config.json"), Json.write(model.getConfig().json()));
        });
    }
}
