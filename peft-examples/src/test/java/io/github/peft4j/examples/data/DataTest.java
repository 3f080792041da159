package io.github.peft4j.examples.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataTest {

    static LabeledTexts synthetic(int ham, int spam) {
        List<String> t = new ArrayList<>();
        List<String> l = new ArrayList<>();
        for (int i = 0; i < ham; i++) {
            t.add("ham " + i);
            l.add("ham");
        }
        for (int i = 0; i < spam; i++) {
            t.add("spam " + i);
            l.add("spam");
        }
        return new LabeledTexts(t, l);
    }

    @Test
    void stratifiedSplitKeepsProportionsAndIsSeeded() {
        LabeledTexts all = synthetic(415, 190);
        Split s = Split.stratified(all, 42);
        assertEquals(Map.of("ham", 41, "spam", 19), s.validation().counts());
        assertEquals(Map.of("ham", 41, "spam", 19), s.test().counts());
        assertEquals(Map.of("ham", 333, "spam", 152), s.train().counts());
        assertEquals(s, Split.stratified(all, 42));
        assertFalse(s.equals(Split.stratified(all, 43)));
        List<String> everything = new ArrayList<>(s.train().texts());
        everything.addAll(s.validation().texts());
        everything.addAll(s.test().texts());
        assertEquals(all.size(), new java.util.HashSet<>(everything).size(), "parts must not overlap");
    }

    @Test
    void csvAndJsonlLoad(@TempDir Path tmp) throws IOException {
        Path csv = tmp.resolve("d.csv");
        Files.writeString(csv, "id,text,label\n1,\"Hello, world\",ham\n2,\"Win \"\"cash\"\" now\",spam\n");
        LabeledTexts c = DataFiles.read(csv);
        assertEquals(List.of("Hello, world", "Win \"cash\" now"), c.texts());
        assertEquals(List.of("ham", "spam"), c.labels());
        Path jsonl = tmp.resolve("d.jsonl");
        Files.writeString(jsonl, "{\"text\": \"a\", \"label\": 1}\n\n{\"text\": \"b\", \"label\": \"0\"}\n");
        LabeledTexts j = DataFiles.read(jsonl);
        assertEquals(List.of("1", "0"), j.labels());
        assertEquals(List.of("0", "1"), j.classes());
    }

    @Test
    void badRowsNameTheLine(@TempDir Path tmp) throws IOException {
        Path csv = tmp.resolve("bad.csv");
        Files.writeString(csv, "text,label\nfine,ham\n,spam\n");
        IOException e = assertThrows(IOException.class, () -> DataFiles.read(csv));
        assertTrue(e.getMessage().endsWith("bad.csv:3: 'text' is missing or empty"), e.getMessage());

        Path noLabel = tmp.resolve("nolabel.csv");
        Files.writeString(noLabel, "text,category\na,b\n");
        e = assertThrows(IOException.class, () -> DataFiles.read(noLabel));
        assertTrue(
                e.getMessage()
                        .contains("the header must name a 'text' and a 'label' column; got [text," + " category]"),
                e.getMessage());

        Path jsonl = tmp.resolve("bad.jsonl");
        Files.writeString(jsonl, "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\"\n");
        e = assertThrows(IOException.class, () -> DataFiles.read(jsonl));
        assertTrue(e.getMessage().contains("bad.jsonl:2: not valid JSON"), e.getMessage());

        Path noText = tmp.resolve("notext.jsonl");
        Files.writeString(noText, "{\"label\": \"x\"}\n");
        e = assertThrows(IOException.class, () -> DataFiles.read(noText));
        assertTrue(e.getMessage().endsWith("notext.jsonl:1: 'text' is missing or empty"), e.getMessage());

        assertThrows(IOException.class, () -> DataFiles.read(tmp.resolve("data.txt")));
    }

    @Test
    void mailCleaningKeepsSubjectAndBody() {
        String raw = "From x@y  Thu Aug 22 13:17:22 2002\nReturn-Path: <x@y>\nSubject: Cheap =\n meds\n"
                + "Content-Transfer-Encoding: quoted-printable\n\n<HTML><BODY><p>Buy n=\now &amp; save =3D 50%"
                + "</p></BODY></HTML>\n--Boundary_123456789\nContent-Type: text/plain\n\nthanks";
        String clean = SpamAssassin.clean(raw);
        assertEquals("Subject: Cheap = meds\nBuy now & save = 50%\nthanks", clean);
        assertFalse(clean.contains("Return-Path"));
    }
}
