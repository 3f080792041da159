package io.github.peft4j.models.decoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.models.text.HfTokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Generates text with a {@link CausalLanguageModel} (or a {@code PeftModel} around one): batched prompts left-padded,
 * position ids counted from each row's first token (as Hugging Face's {@code generate} does), with or without a
 * {@link KvCache}, greedy or sampled ({@link GenerationConfig}), streaming each row's new text to a listener.
 */
public final class Generator {

    /** Receives each row's new text as it is generated. */
    @FunctionalInterface
    public interface Listener {

        /**
         * Called when a row's decoded text grew.
         *
         * @param row the prompt index
         * @param delta the new text
         */
        void onText(int row, String delta);
    }

    private final Block model;
    private final DecoderConfig config;
    private final HfTokenizer tokenizer;
    private final Set<Long> modelEos = new HashSet<>();
    private final long padId;

    /**
     * Creates a generator.
     *
     * @param model the model: a {@link CausalLanguageModel} or a block wrapping one (a {@code PeftModel})
     * @param config the model's config
     * @param tokenizer the tokenizer, for text, stop strings and its end-of-sequence token; may be null
     */
    public Generator(Block model, DecoderConfig config, HfTokenizer tokenizer) {
        this.model = model;
        this.config = config;
        this.tokenizer = tokenizer;
        config.eosTokenIds().forEach(i -> modelEos.add((long) i));
        Long tokEos = tokenizer == null ? null : tokenizer.eosTokenId();
        if (tokEos != null) {
            modelEos.add(tokEos);
        }
        Long pad = tokenizer == null ? null : tokenizer.padTokenId();
        if (pad == null && config.padTokenId() != null) {
            pad = (long) config.padTokenId();
        }
        if (pad == null && !modelEos.isEmpty()) {
            pad = modelEos.iterator().next();
        }
        this.padId = pad == null ? 0 : pad;
    }

    /**
     * Encodes prompts with the tokenizer (its special tokens added) and generates.
     *
     * @param prompts the prompt texts
     * @param c how to generate
     * @param manager parent of the generation's arrays
     * @param listener receives new text as it comes; may be null
     * @return one generation per prompt
     */
    public List<Generation> generateText(
            List<String> prompts, GenerationConfig c, NDManager manager, Listener listener) {
        if (tokenizer == null) {
            throw new IllegalStateException("generating from text needs a tokenizer");
        }
        List<long[]> ids = new ArrayList<>();
        for (String p : prompts) {
            ids.add(tokenizer.encode(p, true));
        }
        return generate(ids, c, manager, listener);
    }

    /**
     * Generates from token ids.
     *
     * @param prompts each prompt's ids (at least one id each)
     * @param c how to generate
     * @param manager parent of the generation's arrays
     * @param listener receives new text as it comes (needs a tokenizer); may be null
     * @return one generation per prompt
     * @throws IllegalArgumentException if a prompt is empty or longer than the model's context
     */
    public List<Generation> generate(List<long[]> prompts, GenerationConfig c, NDManager manager, Listener listener) {
        return generate(prompts, c, manager, listener, null);
    }

    /**
     * Generates for a batch of prompts, each through its own adapter of a {@link PeftModel} (Python PEFT's
     * {@code generate(..., adapter_names=...)}): prompt i runs with adapter {@code adapterNames.get(i)}, or the base
     * model alone for {@value PeftModel#BASE_ROWS}, in one batch and without merging.
     *
     * @param prompts token ids of each prompt (special tokens included as the model expects)
     * @param c how to pick tokens
     * @param manager parent of the generation's arrays
     * @param listener receives new text as it comes (needs a tokenizer); may be null
     * @param adapterNames one adapter name per prompt, or null for the model as it is
     * @return one generation per prompt
     * @throws IllegalArgumentException if a prompt is empty or too long, the names do not match the prompts, or the
     *     model is not a {@link PeftModel} while names are given
     */
    public List<Generation> generate(
            List<long[]> prompts, GenerationConfig c, NDManager manager, Listener listener, List<String> adapterNames) {
        if (adapterNames != null) {
            if (!(model instanceof PeftModel)) {
                throw new IllegalArgumentException("adapter names need a PeftModel; this generator runs a "
                        + model.getClass().getSimpleName());
            }
            if (adapterNames.size() != prompts.size()) {
                throw new IllegalArgumentException(adapterNames.size() + " adapter name(s) for " + prompts.size()
                        + " prompt(s): give one per prompt");
            }
        }
        int b = prompts.size();
        int longest = 0;
        for (int i = 0; i < b; i++) {
            long[] p = prompts.get(i);
            if (p.length == 0) {
                throw new IllegalArgumentException("prompt " + i + " is empty");
            }
            for (long id : p) {
                if (id < 0 || id >= config.vocabSize()) {
                    throw new IllegalArgumentException("prompt " + i + " has token id " + id + " outside the"
                            + " vocabulary of " + config.vocabSize());
                }
            }
            longest = Math.max(longest, p.length);
        }
        if (longest >= config.maxPositions()) {
            throw new IllegalArgumentException(
                    "a prompt of " + longest + " tokens leaves no room in the model's context" + " of "
                            + config.maxPositions() + " positions (max_position_embeddings); shorten it");
        }
        int newTokens = Math.min(c.maxNewTokens(), config.maxPositions() - longest);
        int total = longest + newTokens;
        long[][] ids = new long[b][total];
        long[][] mask = new long[b][total];
        int[] start = new int[b];
        for (int i = 0; i < b; i++) {
            long[] p = prompts.get(i);
            start[i] = longest - p.length;
            Arrays.fill(ids[i], padId);
            System.arraycopy(p, 0, ids[i], start[i], p.length);
            for (int t = start[i]; t < longest; t++) {
                mask[i][t] = 1;
            }
        }
        Set<Long> eos = new HashSet<>(modelEos);
        eos.addAll(c.eosTokenIds());
        List<List<Long>> generated = new ArrayList<>();
        Generation.FinishReason[] reason = new Generation.FinishReason[b];
        String[] emitted = new String[b];
        SplittableRandom[] random = new SplittableRandom[b];
        for (int i = 0; i < b; i++) {
            generated.add(new ArrayList<>());
            emitted[i] = "";
            random[i] = new SplittableRandom(c.seed() * 1_000_003L + i);
        }
        int len = longest;
        try (NDManager scope = manager.newSubManager();
                KvCache cache = c.useCache() ? new KvCache(config.numLayers(), scope) : null) {
            PairList<String, Object> params = new PairList<>();
            if (cache != null) {
                params.add(KvCache.PARAM, cache);
            }
            if (adapterNames != null) {
                params.add(PeftModel.ADAPTER_NAMES, List.copyOf(adapterNames));
            }
            for (int step = 0; step < newTokens; step++) {
                float[][] last;
                try (NDManager s = scope.newSubManager()) {
                    int from = cache == null || step == 0 ? 0 : len - 1;
                    NDArray in = s.create(slice(ids, from, len));
                    NDArray m = s.create(slice(mask, 0, len));
                    NDArray pos = s.create(positions(mask, from, len));
                    NDArray logits = model.forward(new ParameterStore(s, false), new NDList(in, m, pos), false, params)
                            .singletonOrThrow();
                    NDArray lastLogits = logits.get(":, -1, :");
                    last = new float[b][];
                    float[] flat = lastLogits.toFloatArray();
                    int v = flat.length / b;
                    for (int i = 0; i < b; i++) {
                        last[i] = Arrays.copyOfRange(flat, i * v, (i + 1) * v);
                    }
                }
                for (int i = 0; i < b; i++) {
                    long token = padId;
                    if (reason[i] == null) {
                        long[] seen = Arrays.copyOfRange(ids[i], start[i], len);
                        token = LogitsProcessing.next(last[i], seen, c, random[i]);
                        generated.get(i).add(token);
                        if (eos.contains(token)) {
                            reason[i] = Generation.FinishReason.EOS;
                        }
                        if (tokenizer != null
                                && (listener != null || !c.stopStrings().isEmpty())) {
                            String text = tokenizer.decode(toArray(generated.get(i)), true);
                            if (listener != null && text.startsWith(emitted[i]) && !text.endsWith("\uFFFD")) {
                                String delta = text.substring(emitted[i].length());
                                if (!delta.isEmpty()) {
                                    listener.onText(i, delta);
                                    emitted[i] = text;
                                }
                            }
                            String raw = tokenizer.decode(toArray(generated.get(i)), false);
                            if (reason[i] == null && c.stopStrings().stream().anyMatch(raw::contains)) {
                                reason[i] = Generation.FinishReason.STOP_STRING;
                            }
                        }
                    }
                    ids[i][len] = token;
                    mask[i][len] = 1;
                }
                len++;
                if (Arrays.stream(reason).allMatch(r -> r != null)) {
                    break;
                }
            }
        }
        List<Generation> out = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            long[] tokens = toArray(generated.get(i));
            String text = tokenizer == null ? "" : tokenizer.decode(tokens, true);
            if (listener != null && text.startsWith(emitted[i]) && text.length() > emitted[i].length()) {
                listener.onText(i, text.substring(emitted[i].length()));
            }
            out.add(new Generation(
                    prompts.get(i), tokens, text, reason[i] == null ? Generation.FinishReason.LENGTH : reason[i]));
        }
        return out;
    }

    private static long[][] slice(long[][] a, int from, int to) {
        long[][] out = new long[a.length][];
        for (int i = 0; i < a.length; i++) {
            out[i] = Arrays.copyOfRange(a[i], from, to);
        }
        return out;
    }

    /** Hugging Face's position ids: the running count of tokens minus one, 1 on (left) padding. */
    private static long[][] positions(long[][] mask, int from, int to) {
        long[][] out = new long[mask.length][to - from];
        for (int i = 0; i < mask.length; i++) {
            long count = 0;
            for (int t = 0; t < to; t++) {
                count += mask[i][t];
                if (t >= from) {
                    out[i][t - from] = mask[i][t] == 0 ? 1 : count - 1;
                }
            }
        }
        return out;
    }

    private static long[] toArray(List<Long> l) {
        long[] a = new long[l.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = l.get(i);
        }
        return a;
    }
}
