package io.github.peft4j.examples.cli;

import io.github.peft4j.core.Devices;
import io.github.peft4j.examples.QuickstartExample;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code peft quickstart}: the foundation example. */
@Command(
        name = "quickstart",
        mixinStandardHelpOptions = true,
        description = "Pre-train a small MLP, fine-tune it with LoRA through DJL's Trainer, save the adapter in the"
                + " Hugging Face PEFT layout, reload it and merge it.")
public final class QuickstartCommand implements Callable<Integer> {

    @Option(
            names = "--output",
            defaultValue = "peft4j-quickstart-adapter",
            description = "adapter directory to write (default: ${DEFAULT-VALUE})")
    private Path output;

    @Option(names = "--rank", defaultValue = "4", description = "LoRA rank (default: ${DEFAULT-VALUE})")
    private int rank;

    @Option(names = "--epochs", defaultValue = "30", description = "LoRA epochs (default: ${DEFAULT-VALUE})")
    private int epochs;

    @Option(names = "--seed", defaultValue = "42", description = "seed (default: ${DEFAULT-VALUE})")
    private long seed;

    @Option(names = "--device", description = "cpu, gpu or gpu:N (default: the engine's default device)")
    private String device;

    @Override
    public Integer call() throws Exception {
        if (rank < 1) {
            throw new IllegalArgumentException("--rank must be ≥ 1; got " + rank);
        }
        if (epochs < 1) {
            throw new IllegalArgumentException("--epochs must be ≥ 1; got " + epochs);
        }
        QuickstartExample.Result r =
                new QuickstartExample(Devices.resolve(device), seed, rank, epochs).run(output, System.out);
        System.out.println();
        System.out.printf(
                "done: LoRA cut the task-B error from %.5f to %.5f; adapter in %s%n",
                r.baseLoss(), r.adaptedLoss(), r.adapterDir().toAbsolutePath());
        return 0;
    }
}
