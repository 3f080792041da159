/**
 * Initializers run after injection, on a {@link io.github.peft4j.core.PeftModel} holding a LoRA adapter:
 * {@link io.github.peft4j.lora.init.Pissa} (from the weights), {@link io.github.peft4j.lora.init.LoraGa} (from the
 * gradient) and {@link io.github.peft4j.lora.init.Eva} (from the activations). Their linear algebra runs on the CPU
 * through ND4J ({@link io.github.peft4j.linalg.LowRank}).
 */
package io.github.peft4j.lora.init;
