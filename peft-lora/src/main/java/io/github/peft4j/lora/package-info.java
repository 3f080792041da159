/**
 * LoRA and rsLoRA: {@link io.github.peft4j.lora.LoraConfig} (the {@code adapter_config.json} of
 * {@code peft_type: LORA}), {@link io.github.peft4j.lora.LoraLayer} (the per-layer computation) and
 * {@link io.github.peft4j.lora.LoraMethod} (the service that plugs them into {@link io.github.peft4j.core.PeftModel}).
 */
package io.github.peft4j.lora;
