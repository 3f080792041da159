package io.github.peft4j.examples.cli.method;

import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.sparse.GradientMode;
import io.github.peft4j.sparse.sara.SaraConfig;
import io.github.peft4j.sparse.spiel.SpielConfig;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import picocli.CommandLine.Option;

/** The options of {@code --method sara} and {@code --method spiel}, and the two methods built from them. */
public final class SparseOptions {

    @Option(
            names = "--sara-fraction",
            defaultValue = "0.1",
            description = "SaRA: share of each target weight (its smallest |w|) re-trained (default: ${DEFAULT-VALUE})")
    double saraFraction;

    @Option(
            names = "--density",
            defaultValue = "0.01",
            description = "SpIEL: share of the target weights trained (default: ${DEFAULT-VALUE})")
    double density;

    @Option(
            names = "--regrow-every",
            defaultValue = "50",
            description = "SpIEL: steps between drop-and-regrow; the drop fraction decays from 0.2 to 0 at the last"
                    + " step (default: ${DEFAULT-VALUE})")
    int regrowEvery;

    @Option(
            names = "--sparse-gradient",
            defaultValue = "auto",
            description = "SaRA/SpIEL: auto, sddmm (sparse kernel, no dense weight gradient) or dense (default:"
                    + " ${DEFAULT-VALUE})")
    String sparseGradient;

    private GradientMode mode() {
        try {
            return GradientMode.valueOf(sparseGradient.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "--sparse-gradient must be auto, sddmm or dense; got '" + sparseGradient + "'", e);
        }
    }

    /**
     * Returns SaRA over these options: the smallest {@code --sara-fraction} of each weight, re-selected halfway.
     *
     * @return the method
     */
    public TrainMethod sara() {
        return new TrainMethod() {
            @Override
            public String name() {
                return "sara";
            }

            @Override
            public Set<String> options() {
                return Set.of("--sara-fraction", "--sparse-gradient");
            }

            @Override
            public List<String> defaultTargets() {
                return List.of("all-linear");
            }

            @Override
            public void validate() {
                mode();
                if (!(saraFraction > 0 && saraFraction < 1)) {
                    throw new IllegalArgumentException("--sara-fraction must be in (0, 1); got " + saraFraction);
                }
            }

            @Override
            public AdapterConfig config(Run run) {
                return SaraConfig.builder()
                        .optTargets(run.targets())
                        .optFraction(saraFraction)
                        .optGradient(mode())
                        .optReselectStep(run.totalSteps() / 2)
                        .build();
            }

            @Override
            public boolean trains(AdapterConfig config) {
                return config instanceof SaraConfig;
            }

            @Override
            public String describe(List<String> targets) {
                return "sara fraction=" + saraFraction + ", gradient="
                        + mode().name().toLowerCase(Locale.ROOT) + ", targets=" + targets;
            }
        };
    }

    /**
     * Returns SpIEL over these options: {@code --density} of the targets, regrown every 50 steps with ρ decaying to
     * 0 at the last step.
     *
     * @return the method
     */
    public TrainMethod spiel() {
        return new TrainMethod() {
            @Override
            public String name() {
                return "spiel";
            }

            @Override
            public Set<String> options() {
                return Set.of("--density", "--regrow-every", "--sparse-gradient");
            }

            @Override
            public List<String> defaultTargets() {
                return List.of("all-linear");
            }

            @Override
            public void validate() {
                mode();
                if (!(density > 0 && density < 1)) {
                    throw new IllegalArgumentException("--density must be in (0, 1); got " + density);
                }
                if (regrowEvery < 1) {
                    throw new IllegalArgumentException("--regrow-every must be >= 1; got " + regrowEvery);
                }
            }

            @Override
            public AdapterConfig config(Run run) {
                return SpielConfig.builder()
                        .optTargets(run.targets())
                        .optDensity(density)
                        .optGradient(mode())
                        .optRegrowth(regrowEvery, Math.min(5, regrowEvery))
                        .optDrop(0.2, Math.max(1, run.totalSteps()))
                        .build();
            }

            @Override
            public boolean trains(AdapterConfig config) {
                return config instanceof SpielConfig;
            }

            @Override
            public String describe(List<String> targets) {
                return "spiel density=" + density + ", regrowth every " + regrowEvery + " steps, gradient="
                        + mode().name().toLowerCase(Locale.ROOT) + ", targets=" + targets;
            }
        };
    }
}
