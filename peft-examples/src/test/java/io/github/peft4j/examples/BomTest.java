package io.github.peft4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * peft-bom pins the versions the build is compiled and tested with: every artifact it manages has the parent's
 * version, and every peft4j library module is in it.
 */
class BomTest {

    private static Path root() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isRegularFile(p.resolve("peft-bom/pom.xml"))) {
            p = p.getParent();
        }
        assertTrue(p != null, "peft-bom/pom.xml not found above " + Path.of("").toAbsolutePath());
        return p;
    }

    private static Document read(Path pom) throws Exception {
        return DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(pom.toFile());
    }

    private static String text(Element e, String tag) {
        NodeList l = e.getElementsByTagName(tag);
        return l.getLength() == 0 ? "" : l.item(0).getTextContent().trim();
    }

    private static Map<String, String> properties(Document d) {
        Map<String, String> out = new TreeMap<>();
        NodeList props = d.getElementsByTagName("properties");
        if (props.getLength() > 0) {
            NodeList c = props.item(0).getChildNodes();
            for (int i = 0; i < c.getLength(); i++) {
                if (c.item(i) instanceof Element e) {
                    out.put(e.getTagName(), e.getTextContent().trim());
                }
            }
        }
        out.put("project.version", text(d.getDocumentElement(), "version"));
        return out;
    }

    private static String resolve(String v, Map<String, String> props) {
        String out = v;
        for (Map.Entry<String, String> p : props.entrySet()) {
            out = out.replace("${" + p.getKey() + "}", p.getValue());
        }
        return out;
    }

    /** groupId:artifactId[:classifier] to version, from a pom's dependencyManagement. */
    private static Map<String, String> managed(Document d) {
        Map<String, String> props = properties(d);
        Map<String, String> out = new TreeMap<>();
        NodeList deps =
                ((Element) d.getElementsByTagName("dependencyManagement").item(0)).getElementsByTagName("dependency");
        for (int i = 0; i < deps.getLength(); i++) {
            Element e = (Element) deps.item(i);
            String key = resolve(text(e, "groupId") + ":" + text(e, "artifactId"), props)
                    + (text(e, "classifier").isEmpty() ? "" : ":" + resolve(text(e, "classifier"), props))
                    + (text(e, "type").isEmpty() ? "" : "@" + text(e, "type"));
            out.put(key, resolve(text(e, "version"), props));
        }
        return out;
    }

    @Test
    void bomVersionsAreTheBuildsVersions() throws Exception {
        Path root = root();
        Map<String, String> build = managed(read(root.resolve("pom.xml")));
        Map<String, String> bom = managed(read(root.resolve("peft-bom/pom.xml")));
        List<String> wrong = new ArrayList<>();
        for (Map.Entry<String, String> e : bom.entrySet()) {
            String want = build.get(e.getKey());
            if (e.getKey().contains("pytorch-native-cu128")) {
                want = build.get("ai.djl.pytorch:pytorch-native-cpu:linux-x86_64"); // the cuda profile's natives
            }
            if (!e.getValue().equals(want)) {
                wrong.add(e.getKey() + " is " + e.getValue() + " in peft-bom but " + want + " in the build");
            }
        }
        assertEquals(List.of(), wrong);
    }

    @Test
    void bomListsEveryLibraryModule() throws Exception {
        Path root = root();
        Map<String, String> bom = managed(read(root.resolve("peft-bom/pom.xml")));
        NodeList modules = read(root.resolve("pom.xml")).getElementsByTagName("module");
        for (int i = 0; i < modules.getLength(); i++) {
            String m = modules.item(i).getTextContent().trim();
            // the command line and the fault trials (fuzzing, kills) are applications, not libraries to depend on
            if (m.startsWith("peft-")
                    && !m.equals("peft-bom")
                    && !m.equals("peft-examples")
                    && !m.equals("peft-reliability")) {
                assertTrue(bom.containsKey("io.github.peft4j:" + m), "peft-bom does not manage module " + m);
            }
        }
        assertTrue(new File(root.toFile(), "peft-bom/pom.xml").isFile());
    }
}
