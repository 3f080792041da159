package io.github.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import io.github.peft4j.core.Devices;
import io.github.peft4j.models.bert.MiniLm;
import io.github.peft4j.models.decoder.CausalLanguageModel;
import io.github.peft4j.models.decoder.DecoderConfig;
import io.github.peft4j.models.decoder.Decoders;
import io.github.peft4j.models.hub.HubCache;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options shared by the commands that load a model. */
public final class ModelOptions {

    @Option(
            names = "--model",
            defaultValue = "minilm",
            description = "minilm (all-MiniLM-L6-v2 from Maven Central), a Hugging Face model directory, or a hub id"
                    + " (org/name) found in the Hugging Face cache or downloaded into it (default: ${DEFAULT-VALUE})")
    String model;

    @Option(
            names = "--revision",
            defaultValue = "main",
            description = "the hub revision of a hub id: branch, tag or commit (default: ${DEFAULT-VALUE})")
    String revision;

    @Option(
            names = "--max-length",
            defaultValue = "128",
            description = "tokens per text, special tokens included (default: ${DEFAULT-VALUE})")
    int maxLength;

    @Option(
            names = "--random-init",
            description = "decoders: build config.json's architecture with random weights (Hugging Face's"
                    + " initialisation, seed 0) instead of loading them; the directory needs config.json and the"
                    + " tokenizer files only (for trying real shapes without the weights)")
    boolean randomInit;

    @Option(names = "--device", description = "cpu, gpu or gpu:N (default: the engine's default device)")
    String device;

    /**
     * Returns the model directory.
     *
     * @return a Hugging Face directory
     * @throws IOException if MiniLM cannot be materialised or the directory does not exist
     */
    Path modelDir() throws IOException {
        return modelDir(model, revision, "--model");
    }

    /**
     * Resolves a model name as {@code --model} does.
     *
     * @param model minilm, a directory or a hub id
     * @param revision the hub revision
     * @param option the option's name, for the message
     * @return the model directory
     * @throws IOException if MiniLM cannot be materialised or the name is none of these
     */
    static Path modelDir(String model, String revision, String option) throws IOException {
        if ("minilm".equalsIgnoreCase(model)) {
            return MiniLm.directory();
        }
        Path p = Path.of(model);
        if (Files.isDirectory(p)) {
            return p;
        }
        if (HubCache.isRepoId(model)) {
            return HubCache.fromEnvironment().resolve(model, revision);
        }
        throw new IOException(option + ": '" + model + "' is neither 'minilm', a directory, nor a hub id (org/name)");
    }

    /**
     * Opens a manager on the chosen device.
     *
     * @return the manager
     */
    NDManager manager() {
        if (maxLength < 2) {
            throw new IllegalArgumentException("--max-length must be ≥ 2; got " + maxLength);
        }
        return NDManager.newBaseManager(Devices.resolve(device));
    }

    /**
     * Builds the decoder of a model directory: its weights loaded, or random with {@code --random-init}.
     *
     * @param dir the directory
     * @param manager owns the weights
     * @return the model
     * @throws IOException if a file is missing or corrupted
     */
    CausalLanguageModel decoder(Path dir, NDManager manager) throws IOException {
        return randomInit ? Decoders.random(DecoderConfig.read(dir), manager, 0) : Decoders.load(dir, manager);
    }
}
