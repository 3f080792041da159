package io.github.peft4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.peft4j.core.testing.ForbiddenCalls;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * No peft4j module calls NDArray arithmetic with a Number or re-points a tensor at a Java buffer (see
 * {@link ForbiddenCalls}). This module depends on every other one, so its test class path holds them all.
 */
class ForbiddenCallsTest {
    @Test
    void noModuleUsesJavaBackedTensorOperations() throws Exception {
        assertEquals(List.of(), ForbiddenCalls.inPeft4jModules());
    }

    @Test
    void theScanSeesEveryModule() {
        String cp = System.getProperty("java.class.path");
        for (String m : new String[] {
            "peft-core",
            "peft-models",
            "peft-train",
            "peft-lora",
            "peft-lora-init",
            "peft-ssf",
            "peft-sparse",
            "peft-linalg",
            "peft-examples"
        }) {
            assertTrue(cp.contains(m), m + " is not on the test class path");
        }
    }
}
