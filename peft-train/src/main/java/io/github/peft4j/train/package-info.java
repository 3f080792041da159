/**
 * Fine-tuning: {@link io.github.peft4j.train.FineTuner} (the training loop), {@link io.github.peft4j.train.AdamW},
 * learning-rate {@link io.github.peft4j.train.Schedule}s, data and {@link io.github.peft4j.train.Evaluation}.
 */
package io.github.peft4j.train;
