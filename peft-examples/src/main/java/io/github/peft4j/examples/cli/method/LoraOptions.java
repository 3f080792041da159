package io.github.peft4j.examples.cli.method;

import ai.djl.training.loss.Loss;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.Targets;
import io.github.peft4j.lora.LoraConfig;
import io.github.peft4j.lora.LoraInit;
import io.github.peft4j.lora.init.Corda;
import io.github.peft4j.lora.init.Eva;
import io.github.peft4j.lora.init.LoraGa;
import io.github.peft4j.lora.init.Pissa;
import io.github.peft4j.methods.hydra.HydraConfig;
import io.github.peft4j.methods.loha.LohaConfig;
import io.github.peft4j.methods.lokr.LokrConfig;
import io.github.peft4j.methods.lokr.LokrInit;
import io.github.peft4j.methods.vera.VeraConfig;
import io.github.peft4j.train.TrainingData;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import picocli.CommandLine.Option;

/** The options of {@code --method lora} and {@code --method dora}, and the two methods built from them. */
public final class LoraOptions {

    @Option(
            names = "--rank",
            description = "rank of lora, dora and loha (default: 8); of vera's shared projections" + " (default: 256)")
    Integer rankOption;

    int rank;

    @Option(names = "--alpha", defaultValue = "16", description = "LoRA alpha (default: ${DEFAULT-VALUE})")
    double alpha;

    @Option(names = "--dropout", defaultValue = "0.1", description = "LoRA dropout (default: ${DEFAULT-VALUE})")
    double dropout;

    @Option(
            names = "--rslora",
            description = "rank-stabilised LoRA: scale the update by alpha/sqrt(r) instead of alpha/r")
    boolean rslora;

    @Option(
            names = "--init",
            defaultValue = "default",
            description = "LoRA/DoRA initialisation: default (Kaiming A, B = 0), gaussian, pissa (weight SVD),"
                    + " lora-ga (gradient SVD over --init-batches batches of 2), eva (PCA of layer inputs, ranks"
                    + " redistributed; reads up to --init-batches batches of 16), corda-ipm / corda-kpm (SVD of W"
                    + " times the input covariance of up to --init-batches examples, default 256; the largest or the"
                    + " smallest components) (default: ${DEFAULT-VALUE})")
    String init;

    @Option(
            names = "--init-batches",
            description = "batches LoRA-GA averages (default 64) or EVA reads at most" + " (default 100)")
    Integer initBatches;

    private static final Set<String> OPTIONS =
            Set.of("--rank", "--alpha", "--dropout", "--rslora", "--init", "--init-batches");

    /**
     * Returns LoRA ({@code --method lora}) or DoRA ({@code --method dora}) over these options.
     *
     * @param dora whether DoRA
     * @return the method
     */
    public TrainMethod method(boolean dora) {
        return new Method(dora);
    }

    /**
     * The rank {@code --rank} gives, 8 by default (AdaLoRA's target rank).
     *
     * @return the rank
     */
    int targetRank() {
        return rank(8);
    }

    /** The rank the methods read: --rank, or the default given. */
    private int rank(int absent) {
        int r = rankOption != null ? rankOption : absent;
        if (r < 1) {
            throw new IllegalArgumentException("--rank must be ≥ 1; got " + r);
        }
        return r;
    }

    /**
     * Returns {@code --method vera}, which takes {@code --rank} (the shared projections' width, default 256 as
     * Python's) and keeps Python's other defaults (key 0, projections saved, no dropout).
     *
     * @return the method
     */
    public TrainMethod vera() {
        return new TrainMethod() {
            @Override
            public String name() {
                return "vera";
            }

            @Override
            public Set<String> options() {
                return Set.of("--rank");
            }

            @Override
            public List<String> defaultTargets() {
                return List.of("query", "value");
            }

            @Override
            public void validate() {
                rank(256);
            }

            @Override
            public AdapterConfig config(Run run) {
                return new VeraConfig(run.targets(), rank(256), 0, true, 0, 0.1, true);
            }

            @Override
            public boolean trains(AdapterConfig config) {
                return config instanceof VeraConfig;
            }

            @Override
            public String describe(List<String> targets) {
                return "VeRA r=" + rank(256) + ", targets=" + targets;
            }
        };
    }

    /**
     * Returns {@code --method loha}, which takes {@code --rank} and {@code --alpha} with their LoRA defaults.
     *
     * @return the method
     */
    public TrainMethod loha() {
        return rankAlpha("loha", "LoHa", (t, r, a) -> new LohaConfig(t, r, a, true), LohaConfig.class);
    }

    /**
     * Returns {@code --method lokr}, which takes {@code --rank} and {@code --alpha} with their LoRA defaults (Python's
     * other defaults: w1 full, factors near square roots).
     *
     * @return the method
     */
    public TrainMethod lokr() {
        return rankAlpha(
                "lokr", "LoKr", (t, r, a) -> new LokrConfig(t, r, a, false, -1, LokrInit.DEFAULT), LokrConfig.class);
    }

    /**
     * Returns {@code --method hydra}: parallel and sequential branches of rank {@code --rank}, scaling
     * {@code --alpha} / r.
     *
     * @return the method
     */
    public TrainMethod hydra() {
        return rankAlpha("hydra", "Hydra", (t, r, a) -> new HydraConfig(t, r, a, true), HydraConfig.class);
    }

    /** Builds a method's config from the targets, rank and alpha. */
    private interface RankAlphaConfig {
        AdapterConfig create(Targets targets, int rank, double alpha);
    }

    private TrainMethod rankAlpha(String name, String label, RankAlphaConfig factory, Class<?> type) {
        return new TrainMethod() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Set<String> options() {
                return Set.of("--rank", "--alpha");
            }

            @Override
            public List<String> defaultTargets() {
                return List.of("query", "value");
            }

            @Override
            public void validate() {
                rank = rank(8);
            }

            @Override
            public AdapterConfig config(Run run) {
                return factory.create(run.targets(), rank, alpha);
            }

            @Override
            public boolean trains(AdapterConfig config) {
                return type.isInstance(config);
            }

            @Override
            public String describe(List<String> targets) {
                return label + " r=" + rank + ", alpha=" + alpha + ", targets=" + targets;
            }
        };
    }

    private final class Method implements TrainMethod {
        private final boolean dora;

        Method(boolean dora) {
            this.dora = dora;
        }

        @Override
        public String name() {
            return dora ? "dora" : "lora";
        }

        @Override
        public Set<String> options() {
            return OPTIONS;
        }

        @Override
        public List<String> defaultTargets() {
            return List.of("query", "value");
        }

        @Override
        public void validate() {
            rank = rank(8);
            String i = init.toLowerCase(Locale.ROOT);
            if (!List.of("default", "gaussian", "pissa", "lora-ga", "eva", "corda-ipm", "corda-kpm")
                    .contains(i)) {
                throw new IllegalArgumentException("--init must be default, gaussian, pissa, lora-ga, eva, corda-ipm or"
                        + " corda-kpm; got '" + init + "'");
            }
            if (dora && (i.equals("pissa") || i.equals("lora-ga") || i.startsWith("corda"))) {
                throw new IllegalArgumentException("--init " + init + " trains on a residual of the base weights,"
                        + " which DoRA's magnitude is defined on; use it with --method lora");
            }
            if (initBatches != null && initBatches < 1) {
                throw new IllegalArgumentException("--init-batches must be >= 1; got " + initBatches);
            }
            if (initBatches != null && !(i.equals("lora-ga") || i.equals("eva") || i.startsWith("corda"))) {
                throw new IllegalArgumentException(
                        "--init-batches applies to --init lora-ga, eva or corda-*; got --init " + init);
            }
        }

        @Override
        public AdapterConfig config(Run run) {
            return LoraConfig.builder()
                    .optTargets(run.targets())
                    .optRank(rank)
                    .optAlpha(alpha)
                    .optDropout(dropout)
                    .optUseDora(dora)
                    .optUseRslora(rslora)
                    .optInit(init.equalsIgnoreCase("gaussian") ? LoraInit.GAUSSIAN : LoraInit.DEFAULT)
                    .build();
        }

        @Override
        public boolean trains(AdapterConfig config) {
            return config instanceof LoraConfig c && c.useDora() == dora;
        }

        @Override
        public void initialise(PeftModel model, TrainingData train, Loss loss, long seed) {
            String adapter = PeftModel.DEFAULT_ADAPTER;
            long t0 = System.nanoTime();
            switch (init.toLowerCase(Locale.ROOT)) {
                case "pissa" -> Pissa.initialize(model, adapter, Pissa.DEFAULT_POWER_ITERATIONS, seed);
                case "lora-ga" -> {
                    LoraGa.Options d = LoraGa.Options.defaults(seed);
                    LoraGa.initialize(
                            model,
                            adapter,
                            train,
                            new LoraGa.Options(
                                    initBatches != null ? initBatches : d.batches(),
                                    d.batchSize(),
                                    d.gamma(),
                                    d.powerIterations(),
                                    seed,
                                    loss));
                }
                case "eva" -> {
                    Eva.Options d = Eva.Options.defaults(seed);
                    Eva.Result r = Eva.initialize(
                            model,
                            adapter,
                            train,
                            new Eva.Options(
                                    d.rho(),
                                    d.tau(),
                                    d.batchSize(),
                                    initBatches != null ? initBatches : d.maxBatches(),
                                    seed,
                                    d.tokenMask()));
                    System.out.printf(
                            Locale.ROOT,
                            "EVA: %d batches, %s; ranks %s%n",
                            r.batches(),
                            r.converged() ? "converged" : "not converged",
                            r.ranks().values());
                }
                case "corda-ipm", "corda-kpm" ->
                    Corda.initialize(
                            model,
                            adapter,
                            train,
                            init.toLowerCase(Locale.ROOT).endsWith("ipm") ? Corda.Mode.IPM : Corda.Mode.KPM,
                            initBatches != null ? initBatches : 256,
                            in -> in.size() > 1 ? in.get(1) : null);
                default -> {
                    return;
                }
            }
            System.out.printf(Locale.ROOT, "init %s: %.1f s%n", init, (System.nanoTime() - t0) / 1e9);
        }

        @Override
        public String describe(List<String> targets) {
            return (dora ? "DoRA" : "LoRA") + (rslora ? " (rsLoRA)" : "") + " r=" + rank + ", alpha=" + alpha
                    + ", dropout=" + dropout + ", init=" + init.toLowerCase(Locale.ROOT) + ", targets=" + targets;
        }
    }
}
