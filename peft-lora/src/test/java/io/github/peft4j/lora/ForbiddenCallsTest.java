package io.github.peft4j.lora;

import io.github.peft4j.core.testing.ForbiddenCalls;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** No Java-backed scalar arithmetic or buffer re-pointing in this module (see {@link ForbiddenCalls}). */
class ForbiddenCallsTest {
    @Test
    void noJavaBackedTensorOperations() throws Exception {
        assertEquals(List.of(), ForbiddenCalls.in(LoraLayer.class));
    }
}
