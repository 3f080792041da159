/**
 * SSF (scaling and shifting features): {@link io.github.peft4j.ssf.SsfConfig}, {@link io.github.peft4j.ssf.SsfLayer}
 * and {@link io.github.peft4j.ssf.SsfMethod}. It lives in the peft-lora module because the module layout is fixed;
 * it shares nothing with LoRA but the core SPI.
 */
package io.github.peft4j.ssf;
