package io.github.peft4j.train;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Records a run's training recipes in its checkpoints and refuses to resume a checkpoint with other recipes (which
 * would not continue the run exactly).
 */
final class RecipeRecord implements FitListener {

    private final List<String> recipes = new ArrayList<>();

    RecipeRecord(List<TrainingRecipe> recipes) {
        recipes.forEach(r -> this.recipes.add(r.describe()));
    }

    @Override
    public void saveState(ObjectNode state) {
        ArrayNode a = state.putArray("recipes");
        recipes.forEach(a::add);
    }

    /**
     * Fails unless a checkpoint's state was written with these recipes; called before anything is restored (other
     * recipes may train another set of parameters).
     *
     * @param state the checkpoint's {@code trainer_state.json}
     * @throws IllegalArgumentException naming both lists
     */
    void requireSame(ObjectNode state) {
        List<String> saved = new ArrayList<>();
        state.path("recipes").forEach(n -> saved.add(n.asText()));
        if (!saved.equals(recipes)) {
            throw new IllegalArgumentException("the checkpoint was trained with the recipes " + saved + ", not "
                    + recipes + ": resume with the same recipe options");
        }
    }
}
