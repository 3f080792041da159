/**
 * Training recipes for {@link io.github.peft4j.train.FineTuner}: which parameters train when, at which learning rate,
 * with which gradients — layer-wise learning-rate decay, freezing the bottom layers, re-initialising the top layers,
 * LISA, LP-FT, LoRA+ and LoRA-Pro.
 */
package io.github.peft4j.recipes;
