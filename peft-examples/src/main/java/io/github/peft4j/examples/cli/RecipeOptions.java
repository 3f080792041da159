package io.github.peft4j.examples.cli;

import io.github.peft4j.recipes.FreezeBottomLayers;
import io.github.peft4j.recipes.LayerwiseLrDecay;
import io.github.peft4j.recipes.LinearProbeThenFineTune;
import io.github.peft4j.recipes.Lisa;
import io.github.peft4j.recipes.LoraPlus;
import io.github.peft4j.recipes.LoraPro;
import io.github.peft4j.recipes.ReinitTopLayers;
import io.github.peft4j.train.TrainingRecipe;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** The training-recipe options of {@code peft train}, and the recipes they make (checked against the method). */
final class RecipeOptions {

    @Option(
            names = "--llrd",
            description = "layer-wise learning-rate decay: layer l of L trains at lr·d^(L-1-l), the embeddings at"
                    + " lr·d^L (e.g. 0.9)")
    Double llrd;

    @Option(names = "--freeze-bottom", description = "freeze the embeddings and the bottom K layers")
    Integer freezeBottom;

    @Option(
            names = "--reinit-top",
            description = "--method full: re-initialise the top K layers and the pooler (N(0, 0.02²)) before training")
    Integer reinitTop;

    @Option(
            names = "--lisa-layers",
            description = "LISA: train only this many randomly drawn layers (plus embeddings and head) per period")
    Integer lisaLayers;

    @Option(names = "--lisa-period", description = "LISA: steps between draws (default 20)")
    Long lisaPeriod;

    @Option(
            names = "--lp-steps",
            description = "LP-FT: train the classifier head alone for the first N steps, then the method")
    Long lpSteps;

    @Option(names = "--lora-plus-ratio", description = "LoRA+: B trains at this multiple of the learning rate (16)")
    Double loraPlusRatio;

    @Option(
            names = "--lora-pro",
            description = "LoRA-Pro: adjust LoRA's gradients to approximate full fine-tuning's (--method lora)")
    boolean loraPro;

    /**
     * Builds the recipes the options ask for.
     *
     * @param method the {@code --method} name
     * @param task the {@code --task}
     * @param seed the run's seed (LISA's draws, re-initialisation)
     * @return the recipes, in a fixed order
     * @throws IllegalArgumentException naming the option, when it does not fit the method or task
     */
    List<TrainingRecipe> recipes(String method, String task, long seed) {
        List<TrainingRecipe> out = new ArrayList<>();
        if (reinitTop != null) {
            if (!"full".equals(method)) {
                throw new IllegalArgumentException("--reinit-top re-initialises pre-trained layers, which only makes"
                        + " sense when they train: use it with --method full (not " + method + ")");
            }
            out.add(new ReinitTopLayers(reinitTop, 0.02, seed));
        }
        if (freezeBottom != null) {
            out.add(new FreezeBottomLayers(freezeBottom));
        }
        if (lisaPeriod != null && lisaLayers == null) {
            throw new IllegalArgumentException("--lisa-period needs --lisa-layers (the layers trained per period)");
        }
        if (lisaLayers != null) {
            out.add(new Lisa(lisaLayers, lisaPeriod == null ? 20 : lisaPeriod, seed));
        }
        if (lpSteps != null) {
            if (!"seq-cls".equals(task)) {
                throw new IllegalArgumentException(
                        "--lp-steps probes a classifier head first: it applies to --task seq-cls");
            }
            out.add(new LinearProbeThenFineTune(lpSteps, List.of("classifier")));
        }
        if (llrd != null) {
            out.add(new LayerwiseLrDecay(llrd));
        }
        if (loraPlusRatio != null) {
            if (!"lora".equals(method) && !"dora".equals(method)) {
                throw new IllegalArgumentException(
                        "--lora-plus-ratio scales LoRA's B: it applies to --method lora or dora, not " + method);
            }
            out.add(new LoraPlus(loraPlusRatio));
        }
        if (loraPro) {
            if (!"lora".equals(method)) {
                throw new IllegalArgumentException(
                        "--lora-pro adjusts plain LoRA's gradients: it applies to --method lora, not " + method);
            }
            out.add(new LoraPro());
        }
        return out;
    }
}
