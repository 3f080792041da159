package io.github.peft4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;
import io.github.peft4j.core.testing.ManagedTest;
import io.github.peft4j.core.testing.TestModels;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class ModuleTreeTest extends ManagedTest {

    @Test
    void pathsAreHuggingFaceStyleNamesNotDjlKeys() {
        List<String> paths = ModuleTree.walk(TestModels.tinyEncoder(manager, 1, DataType.FLOAT32)).stream()
                .map(ModuleTree.Node::path)
                .collect(Collectors.toList());
        assertEquals(
                List.of(
                        "",
                        "encoder",
                        "encoder.0",
                        "encoder.0.query",
                        "encoder.0.key",
                        "encoder.0.value",
                        "encoder.0.dense",
                        "encoder.1",
                        "encoder.1.query",
                        "encoder.1.key",
                        "encoder.1.value",
                        "encoder.1.dense",
                        "classifier"),
                paths);
    }

    @Test
    void sequentialChildrenAreNumberedFromZero() {
        List<String> paths = ModuleTree.walk(TestModels.mlp(manager, 1, DataType.FLOAT32)).stream()
                .map(ModuleTree.Node::path)
                .collect(Collectors.toList());
        assertEquals(List.of("", "0", "1", "2", "3", "4"), paths);
    }

    @Test
    void namedParametersUseRelativePaths() {
        var params = ModuleTree.namedParameters(TestModels.tinyEncoder(manager, 1, DataType.FLOAT32));
        assertTrue(params.containsKey("encoder.0.query.weight"));
        assertTrue(params.containsKey("classifier.bias"));
        assertEquals(2 * 4 * 2 + 2, params.size()); // 2 blocks × 4 linear × (weight, bias) + classifier
    }

    @Test
    void selectorMatchesLikePythonPeft() {
        ModuleSelector names = ModuleSelector.names("query", "attention.output.dense");
        assertTrue(names.matches("encoder.layer.0.attention.self.query"));
        assertTrue(names.matches("query"));
        assertFalse(names.matches("encoder.layer.0.attention.self.xquery"));
        assertTrue(names.matches("encoder.layer.0.attention.output.dense"));
        assertFalse(names.matches("encoder.layer.0.output.dense"));
        ModuleSelector regex = ModuleSelector.regex(".*\\.(query|value)");
        assertTrue(regex.matches("a.value"));
        assertFalse(regex.matches("a.value.x"), "a regex must match the whole path");
        assertEquals(ModuleSelector.names("b", "a", "b"), ModuleSelector.names("a", "b"));
        assertEquals("[\"a\",\"b\"]", ModuleSelector.names("b", "a").toJson().toString());
        assertEquals(
                ModuleSelector.allLinear(),
                ModuleSelector.fromJson(
                        com.fasterxml.jackson.databind.node.TextNode.valueOf("all-linear"), "target_modules"));
    }
}
