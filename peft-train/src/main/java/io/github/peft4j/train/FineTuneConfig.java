package io.github.peft4j.train;

/**
 * Settings of a fine-tuning run. Defaults follow common practice for LoRA on small encoders.
 *
 * @param learningRate peak learning rate
 * @param weightDecay AdamW's decoupled weight decay
 * @param beta1 AdamW β₁
 * @param beta2 AdamW β₂
 * @param eps AdamW ε
 * @param schedule the decay after warm-up
 * @param warmupRatio the share of steps spent warming up, in [0, 1)
 * @param maxGradNorm clip the global gradient norm to this (0 = off)
 * @param batchSize examples per micro-batch
 * @param gradientAccumulation micro-batches per optimizer step
 * @param epochs passes over the training data (ignored when maxSteps &gt; 0)
 * @param maxSteps optimizer steps to run (0 = from epochs)
 * @param evalEvery evaluate every this many steps (0 = only at the end)
 * @param evalBatchSize examples per evaluation batch
 * @param earlyStoppingPatience stop after this many evaluations without a better accuracy (0 = off)
 * @param checkpointEvery write a checkpoint every this many steps (0 = only at the end)
 * @param seed the seed of data order and dropout
 */
public record FineTuneConfig(
        double learningRate,
        double weightDecay,
        double beta1,
        double beta2,
        double eps,
        Schedule schedule,
        double warmupRatio,
        double maxGradNorm,
        int batchSize,
        int gradientAccumulation,
        int epochs,
        long maxSteps,
        long evalEvery,
        int evalBatchSize,
        int earlyStoppingPatience,
        long checkpointEvery,
        long seed) {

    /** Validates. */
    public FineTuneConfig {
        check(learningRate > 0, "learning_rate must be > 0; got " + learningRate);
        check(weightDecay >= 0, "weight_decay must be ≥ 0; got " + weightDecay);
        check(warmupRatio >= 0 && warmupRatio < 1, "warmup_ratio must be in [0, 1); got " + warmupRatio);
        check(maxGradNorm >= 0, "max_grad_norm must be ≥ 0; got " + maxGradNorm);
        check(batchSize >= 1, "batch_size must be ≥ 1; got " + batchSize);
        check(gradientAccumulation >= 1, "gradient_accumulation must be ≥ 1; got " + gradientAccumulation);
        check(epochs >= 1 || maxSteps > 0, "epochs must be ≥ 1 (or max_steps > 0); got " + epochs);
        check(maxSteps >= 0, "max_steps must be ≥ 0; got " + maxSteps);
        check(evalEvery >= 0 && checkpointEvery >= 0, "eval_every and checkpoint_every must be ≥ 0");
        check(evalBatchSize >= 1, "eval_batch_size must be ≥ 1; got " + evalBatchSize);
        check(earlyStoppingPatience >= 0, "early_stopping_patience must be ≥ 0; got " + earlyStoppingPatience);
        check(schedule != null, "schedule is required");
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException("FineTuneConfig." + message);
        }
    }

    /**
     * Returns a builder with the defaults.
     *
     * @return a builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds a {@link FineTuneConfig}. */
    public static final class Builder {
        private double learningRate = 5e-4;
        private double weightDecay = 0.01;
        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double eps = 1e-8;
        private Schedule schedule = Schedule.LINEAR;
        private double warmupRatio = 0.06;
        private double maxGradNorm = 1.0;
        private int batchSize = 16;
        private int gradientAccumulation = 1;
        private int epochs = 1;
        private long maxSteps;
        private long evalEvery;
        private int evalBatchSize = 32;
        private int earlyStoppingPatience;
        private long checkpointEvery;
        private long seed = 42;

        private Builder() {}

        /**
         *
         * Sets the peak learning rate (default 5e-4).
         *
         *
         *
         * @param v the peak learning rate (default 5e-4)
         *
         * @return this builder
         *
         */
        public Builder optLearningRate(double v) {
            learningRate = v;
            return this;
        }

        /**
         *
         * Sets the weight decay (default 0.01).
         *
         *
         *
         * @param v the weight decay (default 0.01)
         *
         * @return this builder
         *
         */
        public Builder optWeightDecay(double v) {
            weightDecay = v;
            return this;
        }

        /**
         * Sets AdamW's β₁, β₂ and ε (defaults 0.9, 0.999, 1e-8).
         *
         * @param b1 β₁
         * @param b2 β₂
         * @param e ε
         * @return this builder
         */
        public Builder optAdam(double b1, double b2, double e) {
            beta1 = b1;
            beta2 = b2;
            eps = e;
            return this;
        }

        /**
         *
         * Sets the schedule (default LINEAR).
         *
         *
         *
         * @param v the schedule (default LINEAR)
         *
         * @return this builder
         *
         */
        public Builder optSchedule(Schedule v) {
            schedule = v;
            return this;
        }

        /**
         *
         * Sets the warm-up share (default 0.06).
         *
         *
         *
         * @param v the warm-up share (default 0.06)
         *
         * @return this builder
         *
         */
        public Builder optWarmupRatio(double v) {
            warmupRatio = v;
            return this;
        }

        /**
         *
         * Sets the gradient norm clip (default 1.0; 0 = off).
         *
         *
         *
         * @param v the gradient norm clip (default 1.0; 0 = off)
         *
         * @return this builder
         *
         */
        public Builder optMaxGradNorm(double v) {
            maxGradNorm = v;
            return this;
        }

        /**
         *
         * Sets the micro-batch size (default 16).
         *
         *
         *
         * @param v the micro-batch size (default 16)
         *
         * @return this builder
         *
         */
        public Builder optBatchSize(int v) {
            batchSize = v;
            return this;
        }

        /**
         *
         * Sets the micro-batches per step (default 1).
         *
         *
         *
         * @param v the micro-batches per step (default 1)
         *
         * @return this builder
         *
         */
        public Builder optGradientAccumulation(int v) {
            gradientAccumulation = v;
            return this;
        }

        /**
         *
         * Sets the epochs (default 1).
         *
         *
         *
         * @param v the epochs (default 1)
         *
         * @return this builder
         *
         */
        public Builder optEpochs(int v) {
            epochs = v;
            return this;
        }

        /**
         *
         * Sets the optimizer steps (default 0: from epochs).
         *
         *
         *
         * @param v the optimizer steps (default 0: from epochs)
         *
         * @return this builder
         *
         */
        public Builder optMaxSteps(long v) {
            maxSteps = v;
            return this;
        }

        /**
         *
         * Sets the evaluation interval in steps (default 0: at the end).
         *
         *
         *
         * @param v the evaluation interval in steps (default 0: at the end)
         *
         * @return this builder
         *
         */
        public Builder optEvalEvery(long v) {
            evalEvery = v;
            return this;
        }

        /**
         *
         * Sets the evaluation batch size (default 32).
         *
         *
         *
         * @param v the evaluation batch size (default 32)
         *
         * @return this builder
         *
         */
        public Builder optEvalBatchSize(int v) {
            evalBatchSize = v;
            return this;
        }

        /**
         *
         * Sets the early-stopping patience in evaluations (default 0: off).
         *
         *
         *
         * @param v the early-stopping patience in evaluations (default 0: off)
         *
         * @return this builder
         *
         */
        public Builder optEarlyStoppingPatience(int v) {
            earlyStoppingPatience = v;
            return this;
        }

        /**
         *
         * Sets the checkpoint interval in steps (default 0: at the end).
         *
         *
         *
         * @param v the checkpoint interval in steps (default 0: at the end)
         *
         * @return this builder
         *
         */
        public Builder optCheckpointEvery(long v) {
            checkpointEvery = v;
            return this;
        }

        /**
         *
         * Sets the seed (default 42).
         *
         *
         *
         * @param v the seed (default 42)
         *
         * @return this builder
         *
         */
        public Builder optSeed(long v) {
            seed = v;
            return this;
        }

        /**
         * Builds the config.
         *
         * @return the config
         */
        public FineTuneConfig build() {
            return new FineTuneConfig(
                    learningRate,
                    weightDecay,
                    beta1,
                    beta2,
                    eps,
                    schedule,
                    warmupRatio,
                    maxGradNorm,
                    batchSize,
                    gradientAccumulation,
                    epochs,
                    maxSteps,
                    evalEvery,
                    evalBatchSize,
                    earlyStoppingPatience,
                    checkpointEvery,
                    seed);
        }
    }
}
