package io.github.peft4j.models.bert;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import io.github.peft4j.models.text.TokenizerJsonCheck;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Tokenization with Hugging Face's tokenizers library (DJL binding, native library shipped in its jar) from a
 * {@code tokenizer.json}: batched, padded to the longest text of the batch, truncated to a maximum length, with
 * attention masks and token type ids.
 */
public final class BertTokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;
    private final int maxLength;

    private BertTokenizer(HuggingFaceTokenizer tokenizer, int maxLength) {
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
    }

    /**
     * Opens a tokenizer.
     *
     * @param tokenizerJson a {@code tokenizer.json}, or a model directory holding one
     * @param maxLength the length texts are truncated to (special tokens included)
     * @return the tokenizer
     * @throws IOException if the file is missing or not a tokenizer
     */
    public static BertTokenizer open(Path tokenizerJson, int maxLength) throws IOException {
        if (maxLength < 2) {
            throw new IllegalArgumentException("maxLength must be ≥ 2 (room for [CLS] and [SEP]); got " + maxLength);
        }
        Path file = Files.isDirectory(tokenizerJson) ? tokenizerJson.resolve("tokenizer.json") : tokenizerJson;
        if (!Files.isRegularFile(file)) {
            throw new IOException("tokenizer missing: " + file);
        }
        TokenizerJsonCheck.check(file); // the library aborts the JVM on some malformed files
        HuggingFaceTokenizer t;
        try {
            t = HuggingFaceTokenizer.builder()
                    .optTokenizerPath(file)
                    .optMaxLength(maxLength)
                    .optTruncation(true)
                    .optPadding(true)
                    .build();
        } catch (RuntimeException e) {
            throw new IOException(file + " is not a tokenizer the tokenizers library reads: " + e.getMessage(), e);
        }
        return new BertTokenizer(t, maxLength);
    }

    /**
     * A tokenized batch, padded to its longest text.
     *
     * @param inputIds [batch][seq]
     * @param attentionMask [batch][seq], 1 for tokens, 0 for padding
     * @param tokenTypeIds [batch][seq]
     */
    public record Batch(long[][] inputIds, long[][] attentionMask, long[][] tokenTypeIds) {

        /**
         * Returns the batch as the inputs of {@link BertModel}.
         *
         * @param manager owns the arrays
         * @return input_ids, attention_mask, token_type_ids
         */
        public NDList toNDList(NDManager manager) {
            return new NDList(manager.create(inputIds), manager.create(attentionMask), manager.create(tokenTypeIds));
        }

        /**
         * Returns the number of texts.
         *
         * @return the batch size
         */
        public int size() {
            return inputIds.length;
        }
    }

    /**
     * Tokenizes texts.
     *
     * @param texts the texts
     * @return the padded batch
     */
    public Batch encode(List<String> texts) {
        if (texts.isEmpty()) {
            throw new IllegalArgumentException("nothing to tokenize: the list of texts is empty");
        }
        Encoding[] enc = tokenizer.batchEncode(texts);
        long[][] ids = new long[enc.length][];
        long[][] mask = new long[enc.length][];
        long[][] types = new long[enc.length][];
        for (int i = 0; i < enc.length; i++) {
            ids[i] = enc[i].getIds();
            mask[i] = enc[i].getAttentionMask();
            types[i] = enc[i].getTypeIds();
        }
        return new Batch(ids, mask, types);
    }

    /**
     * Tokenizes texts into the inputs of {@link BertModel}: {@code encode(texts).toNDList(manager)}.
     *
     * @param texts the texts
     * @param manager owns the arrays
     * @return input_ids, attention_mask, token_type_ids
     */
    public NDList toInputs(List<String> texts, NDManager manager) {
        return encode(texts).toNDList(manager);
    }

    /**
     * Returns the truncation length.
     *
     * @return the maximum length
     */
    public int getMaxLength() {
        return maxLength;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
