package io.github.peft4j.examples.cli.method;

import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.methods.poly.PolyConfig;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Option;

/** The options of {@code --method poly}, and the method built from them (with {@code --rank}). */
public final class PolyOptions {

    @Option(
            names = "--n-tasks",
            defaultValue = "1",
            description = "poly: tasks the router distinguishes; the data's 'task' column gives each example's id"
                    + " (default: ${DEFAULT-VALUE})")
    int tasks;

    @Option(
            names = "--skills",
            defaultValue = "4",
            description = "poly: LoRA skills per layer (default: ${DEFAULT-VALUE})")
    int skills;

    @Option(
            names = "--splits",
            defaultValue = "1",
            description = "poly: heads per skill; more than 1 is Multi-Head Routing (default: ${DEFAULT-VALUE})")
    int splits;

    /**
     * Returns the number of tasks {@code --n-tasks} gives.
     *
     * @return the tasks
     */
    public int tasks() {
        return tasks;
    }

    /**
     * Returns {@code --method poly}: Python's Poly/MHR with rank {@code --rank} (default 8).
     *
     * @param lora the LoRA options, for {@code --rank}
     * @return the method
     */
    public TrainMethod method(LoraOptions lora) {
        return new TrainMethod() {
            @Override
            public String name() {
                return "poly";
            }

            @Override
            public Set<String> options() {
                return Set.of("--rank", "--n-tasks", "--skills", "--splits");
            }

            @Override
            public List<String> defaultTargets() {
                return List.of("query", "value");
            }

            @Override
            public void validate() {
                if (tasks < 1 || skills < 1 || splits < 1) {
                    throw new IllegalArgumentException("--n-tasks, --skills and --splits must be ≥ 1; got " + tasks
                            + ", " + skills + ", " + splits);
                }
            }

            @Override
            public AdapterConfig config(Run run) {
                return new PolyConfig(run.targets(), lora.targetRank(), tasks, skills, splits, true);
            }

            @Override
            public boolean trains(AdapterConfig config) {
                return config instanceof PolyConfig;
            }

            @Override
            public String describe(List<String> targets) {
                return "Poly r=" + lora.targetRank() + ", " + skills + " skills × " + splits + " split(s), " + tasks
                        + " task(s), targets=" + targets;
            }
        };
    }
}
