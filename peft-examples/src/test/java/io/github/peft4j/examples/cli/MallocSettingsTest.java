package io.github.peft4j.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The allocator settings apply through glibc's mallopt unless the environment says otherwise. */
class MallocSettingsTest {

    @Test
    void glibcAcceptsBothSettings() {
        assumeTrue(System.getProperty("os.name").toLowerCase(Locale.ROOT).contains("linux"), "Linux only");
        assertEquals("applied", MallocSettings.apply(Map.of()));
    }

    @Test
    void theUsersChoiceWins() {
        assertEquals(
                "left to MALLOC_MMAP_THRESHOLD_ / MALLOC_ARENA_MAX",
                MallocSettings.apply(Map.of("MALLOC_ARENA_MAX", "8")));
        assertEquals(
                "left to MALLOC_MMAP_THRESHOLD_ / MALLOC_ARENA_MAX",
                MallocSettings.apply(Map.of("MALLOC_MMAP_THRESHOLD_", "131072")));
        assertEquals("off (PEFT4J_MALLOC)", MallocSettings.apply(Map.of("PEFT4J_MALLOC", "off")));
    }
}
