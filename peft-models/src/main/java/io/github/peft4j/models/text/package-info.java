/** Text in and out of decoder models: Hugging Face tokenizers with their special tokens, and chat templates. */
package io.github.peft4j.models.text;
