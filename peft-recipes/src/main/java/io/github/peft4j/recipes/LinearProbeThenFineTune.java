package io.github.peft4j.recipes;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import io.github.peft4j.train.ParameterNames;
import io.github.peft4j.train.TrainingRecipe;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * LP-FT (Kumar et al., 2022): the first steps train the head alone (a linear probe on the frozen features), then
 * everything the method trains; a head that already fits the features distorts them less when the rest starts to
 * move. The head is the trainable parameters of the named modules (by default {@code classifier} and {@code score},
 * the sequence-classification heads).
 */
public final class LinearProbeThenFineTune implements TrainingRecipe {

    /** The head modules of sequence classification in BERT-like and decoder models. */
    public static final List<String> DEFAULT_HEAD = List.of("classifier", "score");

    private final long probeSteps;
    private final List<String> head;
    private final Set<String> headKeys = new HashSet<>();
    private Boolean probing;

    /**
     * Creates the recipe.
     *
     * @param probeSteps the steps that train the head alone, ≥ 1
     * @param head the head's module names
     * @throws IllegalArgumentException if probeSteps is below 1 or no head module is named
     */
    public LinearProbeThenFineTune(long probeSteps, List<String> head) {
        if (probeSteps < 1 || head.isEmpty()) {
            throw new IllegalArgumentException(
                    "LP-FT: probe steps must be ≥ 1 and a head named; got " + probeSteps + ", " + head);
        }
        this.probeSteps = probeSteps;
        this.head = List.copyOf(head);
    }

    @Override
    public String describe() {
        return "LP-FT: " + head + " alone for " + probeSteps + " steps";
    }

    private boolean isHead(String name) {
        for (String h : head) {
            if (name.equals(h) || name.startsWith(h + ".") || name.contains("." + h + ".")) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void prepare(Block model, Map<String, Parameter> trainable, boolean resumed) {
        ParameterNames names = ParameterNames.of(model);
        headKeys.clear();
        trainable.forEach((k, p) -> {
            if (isHead(names.name(p))) {
                headKeys.add(k);
            }
        });
        if (headKeys.isEmpty()) {
            throw new IllegalArgumentException("LP-FT: no trainable parameter belongs to the head " + head
                    + " (for an adapter, the head must be in modules_to_save)");
        }
        if (headKeys.size() == trainable.size()) {
            throw new IllegalArgumentException(
                    "LP-FT: only the head " + head + " trains, so there is nothing to" + " fine-tune after the probe");
        }
        probing = null;
    }

    @Override
    public void beforeStep(long step, Map<String, Parameter> trainable) {
        boolean probe = step < probeSteps;
        if (probing != null && probing == probe) {
            return;
        }
        probing = probe;
        trainable.forEach((k, p) -> p.freeze(probe && !headKeys.contains(k)));
    }
}
