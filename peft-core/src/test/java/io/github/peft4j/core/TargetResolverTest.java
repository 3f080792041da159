package io.github.peft4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import io.github.peft4j.core.testing.ManagedTest;
import io.github.peft4j.core.testing.TestModels;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Target selection with Python PEFT's rules and the suggestions for a selection that matches nothing. */
class TargetResolverTest extends ManagedTest {

    private static final AdapterMethod<?, ?> METHOD = new RowScale.Method();

    private static List<String> resolve(Block model, Targets t) {
        return TargetResolver.resolve(ModuleTree.walk(model), t, METHOD, "ROW_SCALE").stream()
                .map(ModuleTree.Node::path)
                .toList();
    }

    private static Block encoder() {
        return TestModels.tinyEncoder(manager, 1, DataType.FLOAT32);
    }

    @Test
    void namesMatchExactPathsOrSuffixes() {
        assertEquals(
                List.of("encoder.0.query", "encoder.1.query"),
                resolve(encoder(), Targets.of(ModuleSelector.names("query"))));
        assertEquals(List.of("encoder.1.query"), resolve(encoder(), Targets.of(ModuleSelector.names("1.query"))));
    }

    @Test
    void regexMatchesWholePaths() {
        assertEquals(
                List.of("encoder.0.key", "encoder.0.value"),
                resolve(encoder(), Targets.of(ModuleSelector.regex("encoder\\.0\\.(key|value)"))));
        assertEquals(
                List.of(),
                TargetResolver.resolve(
                                ModuleTree.walk(encoder()),
                                Targets.of(ModuleSelector.regex("encoder\\.0\\.(key|value)")),
                                METHOD,
                                "X")
                        .stream()
                        .filter(n -> n.path().equals("key"))
                        .toList());
    }

    @Test
    void allLinearTakesEveryLinearLayerButThoseExcludedOrSavedWhole() {
        Targets t = new Targets(
                ModuleSelector.allLinear(), ModuleSelector.names("dense"), List.of("classifier"), null, null);
        List<String> paths = resolve(encoder(), t);
        assertEquals(6, paths.size(), paths.toString()); // 2 blocks x query, key, value
        assertTrue(paths.stream().noneMatch(p -> p.endsWith("dense") || p.equals("classifier")), paths.toString());
    }

    @Test
    void nothingInsideAModuleSavedWholeIsTargeted() {
        Targets t = new Targets(ModuleSelector.names("query"), null, List.of("encoder.1"), null, null);
        assertEquals(List.of("encoder.0.query"), resolve(encoder(), t));
    }

    @Test
    void aMatchThatMatchesNothingNamesTheClosestPaths() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> resolve(encoder(), Targets.of(ModuleSelector.names("querry"))));
        assertTrue(e.getMessage().contains("matched no module of the model"), e.getMessage());
        assertTrue(e.getMessage().contains("Closest module paths: [encoder.0.query"), e.getMessage());
        assertTrue(
                e.getMessage().contains("linear layer names: [classifier, dense, key, query, value]"), e.getMessage());
    }

    @Test
    void aMatchedLeafTheMethodCannotAdaptIsAnError() {
        Block mlp = TestModels.mlp(manager, 1, DataType.FLOAT32);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> resolve(mlp, Targets.of(ModuleSelector.names("1")))); // the tanh between the linear layers
        assertTrue(
                e.getMessage().contains("matched '1', a LambdaBlock; ROW_SCALE adapts linear layers"), e.getMessage());
    }

    @Test
    void anEmptySelectionIsAnError() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> resolve(encoder(), Targets.of(ModuleSelector.none())));
        assertTrue(e.getMessage().startsWith("target_modules is empty"), e.getMessage());
    }

    @Test
    void editDistance() {
        assertEquals(0, TargetResolver.distance("query", "query"));
        assertEquals(1, TargetResolver.distance("querry", "query"));
        assertEquals(5, TargetResolver.distance("", "value"));
        assertEquals(3, TargetResolver.distance("kitten", "sitting"));
    }
}
