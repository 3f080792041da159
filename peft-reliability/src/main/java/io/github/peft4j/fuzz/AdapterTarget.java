package io.github.peft4j.fuzz;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.models.decoder.Decoders;
import io.github.peft4j.testing.TinyDecoders;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Fuzz target: loading an adapter directory into the tiny Llama ({@link PeftModel#loadAdapter}), its
 * {@code adapter_config.json} from the input (first byte even) or its {@code adapter_model.safetensors} (odd), the
 * other file Python's LoRA adapter; an accepted adapter then runs a forward pass and is deleted. A rejected one must
 * leave the model as it was: no adapter added.
 */
public final class AdapterTarget {

    private static final Path LORA;
    private static final NDManager MANAGER = NDManager.newBaseManager();
    private static final PeftModel PEFT;

    static {
        try {
            Path llama = TinyDecoders.copy("llama", Files.createTempDirectory("peft4j-fuzz-adapter"));
            LORA = llama.resolve("lora");
            PEFT = PeftModel.builder()
                    .setBaseModel(Decoders.load(llama.resolve("base"), MANAGER))
                    .build();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private AdapterTarget() {}

    /** Warms up on the seeds (Jazzer calls this once before fuzzing). */
    public static void fuzzerInitialize() {
        Harness.warmUp(AdapterTarget::fuzzerTestOneInput, Seeds.adapters().values());
    }

    /**
     * Loads one adapter directory built from the input.
     *
     * @param data a selector byte, then the file's bytes
     */
    public static void fuzzerTestOneInput(byte[] data) {
        if (data.length == 0) {
            return;
        }
        boolean config = (data[0] & 1) == 0;
        byte[] body = Arrays.copyOfRange(data, 1, data.length);
        Path dir = Scratch.fresh("adapter");
        try {
            Files.write(dir.resolve(config ? "adapter_config.json" : "adapter_model.safetensors"), body);
            Files.copy(
                    LORA.resolve(config ? "adapter_model.safetensors" : "adapter_config.json"),
                    dir.resolve(config ? "adapter_model.safetensors" : "adapter_config.json"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        boolean accepted = Harness.check(
                "adapter loader (" + (config ? "adapter_config.json" : "adapter_model.safetensors") + ")",
                body.length,
                () -> {
                    PEFT.loadAdapter(dir, "fuzz");
                    try (NDManager s = MANAGER.newSubManager()) {
                        PEFT.forward(
                                new ParameterStore(s, false),
                                new NDList(
                                        s.create(new long[][] {{1, 5, 9, 2}}), s.create(new long[][] {{1, 1, 1, 1}})),
                                false);
                    }
                });
        if (PEFT.getAdapterNames().contains("fuzz")) {
            PEFT.deleteAdapter("fuzz");
            if (!accepted) {
                throw new FuzzFinding("a rejected adapter was left in the model", null);
            }
        }
    }
}
