package io.github.peft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Token sequences for causal language modelling: each with the positions whose token counts in the loss (the
 * completion, or everything). Batches are padded on the right to their longest sequence; the labels are the ids with
 * {@value CausalLmLoss#IGNORE_INDEX} on tokens that do not count and on padding ({@link CausalLmLoss} shifts them).
 */
public final class CausalLmData implements TrainingData {

    private final List<long[]> ids;
    private final List<boolean[]> counted;
    private final long padId;

    /**
     * Creates the data.
     *
     * @param ids the token ids of each sequence (at least 2 each)
     * @param counted for each sequence, whether each position's token is a training target
     * @param padId the id that pads batches (any id: padding is masked)
     */
    public CausalLmData(List<long[]> ids, List<boolean[]> counted, long padId) {
        if (ids.size() != counted.size()) {
            throw new IllegalArgumentException(ids.size() + " sequences but " + counted.size() + " masks");
        }
        for (int i = 0; i < ids.size(); i++) {
            if (ids.get(i).length != counted.get(i).length) {
                throw new IllegalArgumentException("sequence " + i + " has " + ids.get(i).length + " ids but "
                        + counted.get(i).length + " mask entries");
            }
            if (ids.get(i).length < 2) {
                throw new IllegalArgumentException("sequence " + i + " has fewer than 2 tokens: nothing to predict");
            }
        }
        this.ids = List.copyOf(ids);
        this.counted = List.copyOf(counted);
        this.padId = padId;
    }

    /**
     * Packs sequences end to end into blocks of exactly {@code blockSize} tokens (the remainder is dropped), as
     * Hugging Face's {@code group_texts} does: no padding, attention across the sequences of a block. The loss
     * masks travel with the tokens.
     *
     * @param blockSize tokens per block
     * @return the packed data
     */
    public CausalLmData packed(int blockSize) {
        if (blockSize < 2) {
            throw new IllegalArgumentException("block size must be ≥ 2; got " + blockSize);
        }
        long total = ids.stream().mapToLong(a -> a.length).sum();
        int blocks = (int) (total / blockSize);
        if (blocks == 0) {
            throw new IllegalArgumentException("packing " + total + " tokens into blocks of " + blockSize
                    + " leaves no block; use a smaller --max-length or more data");
        }
        List<long[]> outIds = new ArrayList<>();
        List<boolean[]> outMask = new ArrayList<>();
        long[] cur = new long[blockSize];
        boolean[] curMask = new boolean[blockSize];
        int fill = 0;
        for (int s = 0; s < ids.size() && outIds.size() < blocks; s++) {
            long[] a = ids.get(s);
            boolean[] m = counted.get(s);
            for (int t = 0; t < a.length && outIds.size() < blocks; t++) {
                cur[fill] = a[t];
                curMask[fill] = m[t];
                fill++;
                if (fill == blockSize) {
                    outIds.add(cur);
                    outMask.add(curMask);
                    cur = new long[blockSize];
                    curMask = new boolean[blockSize];
                    fill = 0;
                }
            }
        }
        return new CausalLmData(outIds, outMask, padId);
    }

    @Override
    public int size() {
        return ids.size();
    }

    /**
     * The ids of one sequence.
     *
     * @param index the sequence
     * @return its ids
     */
    public long[] ids(int index) {
        return ids.get(index).clone();
    }

    /**
     * The number of tokens that count in the loss over all sequences (after the shift: the first position never
     * counts).
     *
     * @return the count
     */
    public long countedTokens() {
        long n = 0;
        for (boolean[] m : counted) {
            for (int t = 1; t < m.length; t++) {
                n += m[t] ? 1 : 0;
            }
        }
        return n;
    }

    /** The tokens of these sequences that count in the loss (after the shift), which {@link CausalLmLoss} averages. */
    @Override
    public double weight(int[] indices) {
        long n = 0;
        for (int i : indices) {
            boolean[] m = counted.get(i);
            for (int t = 1; t < m.length; t++) {
                n += m[t] ? 1 : 0;
            }
        }
        return n;
    }

    private int longest(int[] indices) {
        int len = 0;
        for (int i : indices) {
            len = Math.max(len, ids.get(i).length);
        }
        return len;
    }

    /** Returns input_ids and attention_mask, right-padded to the longest sequence of the batch. */
    @Override
    public NDList inputs(int[] indices, NDManager manager) {
        int len = longest(indices);
        long[][] x = new long[indices.length][len];
        long[][] mask = new long[indices.length][len];
        for (int b = 0; b < indices.length; b++) {
            long[] a = ids.get(indices[b]);
            Arrays.fill(x[b], padId);
            System.arraycopy(a, 0, x[b], 0, a.length);
            Arrays.fill(mask[b], 0, a.length, 1);
        }
        return new NDList(manager.create(x), manager.create(mask));
    }

    /** Returns the labels [batch, seq]: the ids where they count, {@value CausalLmLoss#IGNORE_INDEX} elsewhere. */
    @Override
    public NDArray labels(int[] indices, NDManager manager) {
        int len = longest(indices);
        long[][] y = new long[indices.length][len];
        for (int b = 0; b < indices.length; b++) {
            long[] a = ids.get(indices[b]);
            boolean[] m = counted.get(indices[b]);
            Arrays.fill(y[b], CausalLmLoss.IGNORE_INDEX);
            for (int t = 0; t < a.length; t++) {
                if (m[t]) {
                    y[b][t] = a[t];
                }
            }
        }
        return manager.create(y);
    }
}
