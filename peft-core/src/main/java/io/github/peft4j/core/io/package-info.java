/** Adapter files in the Hugging Face PEFT layout: safetensors, {@code adapter_config.json}, atomic directory writes. */
package io.github.peft4j.core.io;
