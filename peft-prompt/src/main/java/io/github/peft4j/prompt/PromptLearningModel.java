package io.github.peft4j.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.core.io.AdapterFiles;
import io.github.peft4j.core.io.AtomicDirectory;
import io.github.peft4j.models.decoder.CausalLanguageModel;
import io.github.peft4j.models.decoder.DecoderConfig;
import io.github.peft4j.models.decoder.KvCache;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * A decoder language model with a prompt-learning adapter: its one trained tensor, {@code prompt_embeddings}
 * [virtual tokens, width], is either prepended to the input embeddings (prompt tuning; the logits of the virtual
 * positions are dropped, so the output lines up with the input) or turned into every layer's first keys and values
 * (prefix tuning; the input's positions start after the prefix, as in Python). The base model's parameters are frozen.
 * Inputs and output as {@link CausalLanguageModel}'s, without position ids or a KV cache. Train it with
 * {@code FineTuner} like any block; save it with {@link #save}, in Python PEFT's layout.
 */
public final class PromptLearningModel extends AbstractBlock {

    /** The name of the trained tensor, in the file as in Python. */
    public static final String TENSOR = "prompt_embeddings";

    private final CausalLanguageModel base;
    private final PromptLearningConfig config;
    private final Parameter prompt;

    private PromptLearningModel(CausalLanguageModel base, PromptLearningConfig config, NDArray values) {
        this.base = Objects.requireNonNull(base, "base");
        this.config = config;
        config.requireFits(base.getConfig());
        addChildBlock("base_model", base);
        this.prompt = addParameter(Parameter.builder()
                .setName(TENSOR)
                .setType(Parameter.Type.WEIGHT)
                .optArray(values)
                .build());
        base.getParameters().values().forEach(p -> p.freeze(true));
        prompt.freeze(false);
    }

    /**
     * Adds a new adapter to a model.
     *
     * @param base the decoder (initialised or loaded)
     * @param config the adapter
     * @param seed the seed of a random start
     * @param initTokens for {@link PromptTuningInit#TEXT}: the init text's token ids (repeated or cut to the number of
     *     virtual tokens, as Python does); null otherwise
     * @return the model
     */
    public static PromptLearningModel create(
            CausalLanguageModel base, PromptLearningConfig config, long seed, long[] initTokens) {
        int n = config.numVirtualTokens();
        long width = config.width();
        NDArray like = base.inputEmbedding().getParameters().get(0).getValue().getArray();
        NDManager m = like.getManager();
        NDArray values;
        if (config instanceof PromptTuningConfig p && p.init() != PromptTuningInit.RANDOM) {
            long[] ids = p.init() == PromptTuningInit.TEXT
                    ? repeat(Objects.requireNonNull(initTokens, "the init text's token ids"), n)
                    : sample(new SplittableRandom(seed), base.getConfig().vocabSize(), n);
            try (NDArray idx = m.create(ids)) {
                NDArray rows = like.stopGradient().get(idx);
                values = rows.duplicate();
                rows.close();
            }
        } else {
            SplittableRandom r = new SplittableRandom(seed);
            float[] v = new float[Math.toIntExact(n * width)];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) ParameterValues.gaussian(r);
            }
            values = ParameterValues.create(m, v, new Shape(n, width), like);
        }
        return new PromptLearningModel(base, config, values);
    }

    private static long[] repeat(long[] ids, int n) {
        if (ids.length == 0) {
            throw new IllegalArgumentException("the prompt-tuning init text has no tokens");
        }
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = ids[i % ids.length];
        }
        return out;
    }

    private static long[] sample(SplittableRandom r, int vocab, int n) {
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = r.nextInt(vocab);
        }
        return out;
    }

    /**
     * Loads an adapter directory Python PEFT or peft4j wrote onto a model.
     *
     * @param base the decoder, its weights loaded
     * @param dir the adapter directory
     * @return the model
     * @throws IOException if a file is missing or corrupted
     * @throws IllegalArgumentException naming the file, if the adapter does not fit the model
     */
    public static PromptLearningModel load(CausalLanguageModel base, Path dir) throws IOException {
        PromptLearningConfig config;
        try {
            config = PromptLearningConfig.fromJson(AdapterFiles.readConfig(dir));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(dir.resolve(AdapterFiles.CONFIG) + ": " + e.getMessage(), e);
        }
        NDArray like = base.inputEmbedding().getParameters().get(0).getValue().getArray();
        Map<String, NDArray> t = AdapterFiles.readTensors(dir, like.getManager());
        NDArray v = t.get(TENSOR);
        Shape want = new Shape(config.numVirtualTokens(), config.width());
        if (v == null || !v.getShape().equals(want) || t.size() != 1) {
            t.values().forEach(NDArray::close);
            throw new IllegalArgumentException(dir.resolve(AdapterFiles.WEIGHTS) + " must hold exactly " + TENSOR
                    + " " + want + "; it holds " + t.keySet()
                    + (v == null ? "" : " (" + TENSOR + " " + v.getShape() + ")"));
        }
        NDArray values = v.toType(like.getDataType(), true);
        if (values != v) {
            v.close();
        }
        try {
            return new PromptLearningModel(base, config, values);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes the adapter (config, {@code prompt_embeddings}, model card) into a directory, atomically.
     *
     * @param dir the directory
     * @throws IOException if writing fails
     */
    public void save(Path dir) throws IOException {
        AtomicDirectory.write(dir, tmp -> {
            try (NDArray v = prompt.getArray().stopGradient()) {
                com.fasterxml.jackson.databind.node.ObjectNode json = config.toJson();
                json.put("inference_mode", true);
                AdapterFiles.write(tmp, json, Map.of(TENSOR, v), card());
            }
        });
    }

    private String card() {
        return "---\nlibrary_name: peft\n---\n\n# " + config.peftType() + " adapter\n\n- " + config.numVirtualTokens()
                + " virtual tokens, " + TENSOR + " [" + config.numVirtualTokens() + ", " + config.width() + "]\n"
                + "- written by peft4j; loads in Python with PeftModel.from_pretrained\n";
    }

    /**
     * The adapter's config.
     *
     * @return the config
     */
    public PromptLearningConfig getConfig() {
        return config;
    }

    /**
     * The decoder.
     *
     * @return the base model (its parameters frozen)
     */
    public CausalLanguageModel getBaseModel() {
        return base;
    }

    /**
     * The trained tensor.
     *
     * @return {@code prompt_embeddings}
     */
    public Parameter getPromptEmbeddings() {
        return prompt;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
        if (params != null && params.get(KvCache.PARAM) != null) {
            throw new IllegalArgumentException("a prompt-learning model builds its own inputs: pass no KV cache");
        }
        NDArray ids = in.get(0);
        NDManager m = ids.getManager();
        long b = ids.getShape().get(0);
        int n = config.numVirtualTokens();
        NDArray mask = in.size() > 1 ? in.get(1) : m.ones(ids.getShape(), DataType.INT64);
        NDArray ones = m.ones(new Shape(b, n), mask.getDataType());
        NDArray fullMask = NDArrays.concat(new NDList(ones, mask), 1);
        NDArray p = ps.getValue(prompt, ids.getDevice(), training);
        PairList<String, Object> args = new PairList<>();
        if (config instanceof PrefixTuningConfig pc) {
            DecoderConfig c = base.getConfig();
            // [n, layers·2·token_dim] → [b, n, layers·2, kv heads, head dim] → [layers·2, b, kv heads, n, head dim]
            NDArray kv = p.reshape(1, n, (long) pc.numLayers() * 2, pc.numAttentionHeads(), pc.headDim())
                    .broadcast(new Shape(b, n, (long) pc.numLayers() * 2, pc.numAttentionHeads(), pc.headDim()))
                    .transpose(2, 0, 3, 1, 4);
            KvCache cache = new KvCache(c.numLayers(), m);
            for (int l = 0; l < c.numLayers(); l++) {
                cache.prefill(l, kv.get(new NDIndex("{}", 2 * l)), kv.get(new NDIndex("{}", 2 * l + 1)));
            }
            args.add(KvCache.PARAM, cache);
            try {
                return new NDList(base.forward(ps, new NDList(ids, fullMask), training, args)
                        .singletonOrThrow());
            } finally {
                cache.close();
            }
        }
        NDArray embeds =
                base.inputEmbedding().forward(ps, new NDList(ids), training).singletonOrThrow();
        NDArray virtual = p.expandDims(0).broadcast(new Shape(b, n, config.width()));
        args.add(CausalLanguageModel.INPUTS_EMBEDS, NDArrays.concat(new NDList(virtual, embeds), 1));
        NDArray dummy = NDArrays.concat(new NDList(m.zeros(new Shape(b, n), ids.getDataType()), ids), 1);
        NDArray logits =
                base.forward(ps, new NDList(dummy, fullMask), training, args).singletonOrThrow();
        return new NDList(logits.get(new NDIndex(":, {}:, :", n)));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return base.getOutputShapes(inputShapes);
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        // the base is initialised or loaded before it is wrapped, and the prompt holds its values
    }
}
