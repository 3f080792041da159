/**
 * Fuzz targets for the parsers of files peft4j reads from strangers (safetensors, adapter and model configs,
 * tokenizers, ONNX exports), the rules a target holds every input to ({@link io.github.peft4j.fuzz.Harness}), the
 * seed corpus and the long campaign ({@link io.github.peft4j.fuzz.FuzzCampaign}).
 */
package io.github.peft4j.fuzz;
