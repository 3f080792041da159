package io.github.peft4j.examples.cli;

import io.github.peft4j.examples.InstructionTuning;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code peft instruct}: the instruction-tuning example (see {@link InstructionTuning}). */
@Command(
        name = "instruct",
        mixinStandardHelpOptions = true,
        description =
                "The instruction-tuning example: LoRA on an instruct decoder's chat format with a small JSONL task"
                        + " (by default the shipped spam-instructions set), answers before and after, validation loss.")
public final class InstructCommand implements Callable<Integer> {

    @Mixin
    private ModelOptions modelOptions;

    @Option(
            names = "--data",
            description = "a directory with train.jsonl and validation.jsonl (default: the shipped set)")
    private Path data;

    @Option(names = "--steps", defaultValue = "60", description = "optimizer steps (default: ${DEFAULT-VALUE})")
    private int steps;

    @Option(names = "--batch-size", defaultValue = "4", description = "default: ${DEFAULT-VALUE}")
    private int batchSize;

    @Option(names = "--rank", defaultValue = "16", description = "LoRA rank (default: ${DEFAULT-VALUE})")
    private int rank;

    @Option(names = "--lr", defaultValue = "2e-4", description = "peak learning rate (default: ${DEFAULT-VALUE})")
    private double lr;

    @Option(names = "--shown", defaultValue = "4", description = "held-out answers shown (default: ${DEFAULT-VALUE})")
    private int shown;

    @Option(names = "--seed", defaultValue = "42", description = "default: ${DEFAULT-VALUE}")
    private long seed;

    @Option(names = "--output", required = true, description = "run directory")
    private Path output;

    @Override
    public Integer call() throws Exception {
        new InstructionTuning(
                        modelOptions.modelDir(),
                        data,
                        steps,
                        batchSize,
                        modelOptions.maxLength,
                        rank,
                        lr,
                        shown,
                        output,
                        seed)
                .run();
        return 0;
    }
}
