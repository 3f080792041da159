package io.github.peft4j.models.decoder;

import java.util.List;
import java.util.Set;

/**
 * How {@link Generator} picks tokens, with Hugging Face's meanings and defaults: greedy unless {@code doSample};
 * when sampling, the repetition penalty, temperature, top-k and top-p are applied in that order.
 *
 * @param maxNewTokens the most tokens to generate per prompt ({@code max_new_tokens})
 * @param doSample whether to sample; greedy (argmax) otherwise
 * @param temperature divides the logits when sampling (&gt; 0)
 * @param topK keeps the k most likely tokens when sampling (0: all)
 * @param topP keeps the smallest set of most likely tokens whose probability reaches p when sampling (1: all)
 * @param repetitionPenalty divides positive and multiplies negative logits of tokens already in the sequence (1: off)
 * @param stopStrings generation of a row ends once its text contains one of these
 * @param eosTokenIds extra end-of-sequence ids (the model's and tokenizer's are always used)
 * @param seed the seed of sampling
 * @param useCache whether to keep past keys and values ({@link KvCache}); without it every step recomputes the
 *     prefix (same tokens, slower)
 */
public record GenerationConfig(
        int maxNewTokens,
        boolean doSample,
        double temperature,
        int topK,
        double topP,
        double repetitionPenalty,
        List<String> stopStrings,
        Set<Long> eosTokenIds,
        long seed,
        boolean useCache) {

    /** Validates. */
    public GenerationConfig {
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("max_new_tokens must be ≥ 1; got " + maxNewTokens);
        }
        if (!(temperature > 0)) {
            throw new IllegalArgumentException("temperature must be > 0; got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top_k must be ≥ 0; got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top_p must be in (0, 1]; got " + topP);
        }
        if (!(repetitionPenalty > 0)) {
            throw new IllegalArgumentException("repetition_penalty must be > 0; got " + repetitionPenalty);
        }
        stopStrings = List.copyOf(stopStrings);
        eosTokenIds = Set.copyOf(eosTokenIds);
    }

    /**
     * A builder with Hugging Face's defaults (greedy, 20 new tokens, temperature 1, top-k 50, top-p 1, no penalty,
     * cache on).
     *
     * @return the builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds a {@link GenerationConfig}; every setting is optional. */
    public static final class Builder {
        private int maxNewTokens = 20;
        private boolean doSample;
        private double temperature = 1;
        private int topK = 50;
        private double topP = 1;
        private double repetitionPenalty = 1;
        private List<String> stopStrings = List.of();
        private Set<Long> eos = Set.of();
        private long seed = 42;
        private boolean useCache = true;

        private Builder() {}

        /**
         * Sets {@code max_new_tokens}.
         *
         * @param n the most new tokens
         * @return this
         */
        public Builder optMaxNewTokens(int n) {
            maxNewTokens = n;
            return this;
        }

        /**
         * Samples instead of picking the most likely token.
         *
         * @param sample whether to sample
         * @return this
         */
        public Builder optDoSample(boolean sample) {
            doSample = sample;
            return this;
        }

        /**
         * Sets the temperature.
         *
         * @param t the temperature
         * @return this
         */
        public Builder optTemperature(double t) {
            temperature = t;
            return this;
        }

        /**
         * Sets top-k.
         *
         * @param k the number of tokens kept (0: all)
         * @return this
         */
        public Builder optTopK(int k) {
            topK = k;
            return this;
        }

        /**
         * Sets top-p.
         *
         * @param p the probability mass kept
         * @return this
         */
        public Builder optTopP(double p) {
            topP = p;
            return this;
        }

        /**
         * Sets the repetition penalty.
         *
         * @param penalty the penalty (1: off)
         * @return this
         */
        public Builder optRepetitionPenalty(double penalty) {
            repetitionPenalty = penalty;
            return this;
        }

        /**
         * Sets stop strings.
         *
         * @param stops the strings
         * @return this
         */
        public Builder optStopStrings(List<String> stops) {
            stopStrings = stops;
            return this;
        }

        /**
         * Adds end-of-sequence ids.
         *
         * @param ids the ids
         * @return this
         */
        public Builder optEosTokenIds(Set<Long> ids) {
            eos = ids;
            return this;
        }

        /**
         * Sets the sampling seed.
         *
         * @param s the seed
         * @return this
         */
        public Builder optSeed(long s) {
            seed = s;
            return this;
        }

        /**
         * Turns the KV cache on or off.
         *
         * @param cache whether to cache
         * @return this
         */
        public Builder optUseCache(boolean cache) {
            useCache = cache;
            return this;
        }

        /**
         * Builds.
         *
         * @return the config
         */
        public GenerationConfig build() {
            return new GenerationConfig(
                    maxNewTokens,
                    doSample,
                    temperature,
                    topK,
                    topP,
                    repetitionPenalty,
                    stopStrings,
                    eos,
                    seed,
                    useCache);
        }
    }
}
