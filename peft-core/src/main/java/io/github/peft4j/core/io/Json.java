package io.github.peft4j.core.io;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** JSON as Python PEFT writes it: 2-space indent, keys sorted. */
public final class Json {

    /** The shared mapper (thread-safe once configured). */
    public static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

    private Json() {}

    /**
     * Writes a JSON value with sorted keys and a 2-space indent.
     *
     * @param node the value
     * @return the text, ending in a newline
     */
    public static String write(JsonNode node) {
        try {
            // Python's json.dumps(indent=2, sort_keys=True): "key": value, empty containers as {} and []
            DefaultPrettyPrinter pp = new DefaultPrettyPrinter()
                    .withSeparators(Separators.createDefaultInstance()
                            .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                            .withObjectEmptySeparator("")
                            .withArrayEmptySeparator(""))
                    .withObjectIndenter(new DefaultIndenter("  ", "\n"))
                    .withArrayIndenter(new DefaultIndenter("  ", "\n"));
            return MAPPER.writer(pp).writeValueAsString(sorted(node)) + "\n";
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Reads a JSON object from a file.
     *
     * @param file the file
     * @return the object
     * @throws IOException if the file cannot be read or is not a JSON object; the message names the file
     */
    public static ObjectNode readObject(Path file) throws IOException {
        JsonNode node;
        try {
            node = MAPPER.readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(
                    file + " is not valid JSON: " + e.getOriginalMessage() + " (line "
                            + e.getLocation().getLineNr() + ")",
                    e);
        }
        if (node == null || !node.isObject()) {
            throw new IOException(
                    file + " must hold a JSON object; got " + (node == null ? "nothing" : node.getNodeType()));
        }
        return (ObjectNode) node;
    }

    private static JsonNode sorted(JsonNode node) {
        if (node.isObject()) {
            Map<String, JsonNode> m = new TreeMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                m.put(e.getKey(), sorted(e.getValue()));
            }
            ObjectNode o = MAPPER.createObjectNode();
            m.forEach(o::set);
            return o;
        }
        if (node.isArray()) {
            List<JsonNode> l = new ArrayList<>();
            node.forEach(e -> l.add(sorted(e)));
            return MAPPER.createArrayNode().addAll(l);
        }
        return node;
    }
}
