package io.github.peft4j.models.decoder;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;

/**
 * A decoder language model as a DJL block, with Hugging Face module paths.
 *
 * <p>Forward inputs: {@code input_ids} int64 [batch, seq]; optionally {@code attention_mask} [batch, past + seq] (1 =
 * token, 0 = padding; all ones when absent) and {@code position_ids} int64 [batch, seq] (past, past + 1, ... when
 * absent). A {@link KvCache} passed as the forward parameter {@link KvCache#PARAM} supplies the past and receives the
 * new keys and values. An array passed as the forward parameter {@link #INPUTS_EMBEDS} ([batch, seq, hidden]) replaces
 * the embedding of {@code input_ids}, which then only give the shape (prompt tuning prepends learned embeddings so).
 * Output: the logits, float32 [batch, seq, vocab].
 */
public interface CausalLanguageModel extends Block {

    /** The forward-pass parameter under which a model finds embeddings to use instead of those of its input ids. */
    String INPUTS_EMBEDS = "inputs_embeds";

    /**
     * The input word embedding ({@code embed_tokens}, {@code wte}): ids [batch, seq] to [batch, seq, hidden].
     *
     * @return the embedding block
     */
    Block inputEmbedding();

    /**
     * The architecture.
     *
     * @return the config
     */
    DecoderConfig getConfig();

    /**
     * Allocates the parameters (with the family's random initialisation; loading overwrites them).
     *
     * @param manager owns the parameters
     */
    void initialize(NDManager manager);
}
