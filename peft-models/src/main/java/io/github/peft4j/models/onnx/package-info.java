/** Import of Hugging Face models exported to ONNX back into the Hugging Face layout. */
package io.github.peft4j.models.onnx;
