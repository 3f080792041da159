/** Model directories by Hugging Face hub id: found in the Hugging Face cache, or downloaded into it. */
package io.github.peft4j.models.hub;
