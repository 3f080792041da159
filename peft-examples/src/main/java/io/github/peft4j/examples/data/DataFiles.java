package io.github.peft4j.examples.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.peft4j.core.io.Json;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;

/**
 * User data: CSV (with a header naming {@code text} and {@code label} columns) or JSONL (one object per line with
 * {@code text} and {@code label}). Labels are strings (numbers are read as their text). An optional {@code task}
 * column (an integer ≥ 0, on every row or on none) routes each example to its task for Poly. A bad row fails with its
 * line number.
 */
public final class DataFiles {

    private DataFiles() {}

    /**
     * Reads a CSV or JSONL file, chosen by extension.
     *
     * @param file a {@code .csv} or {@code .jsonl} file
     * @return the examples
     * @throws IOException if the file cannot be read or a row is bad
     */
    public static LabeledTexts read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("data file not found: " + file);
        }
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        LabeledTexts t;
        if (name.endsWith(".csv")) {
            t = csv(file);
        } else if (name.endsWith(".jsonl") || name.endsWith(".ndjson")) {
            t = jsonl(file);
        } else {
            throw new IOException(
                    "unsupported data file " + file + ": expected .csv or .jsonl with 'text' and" + " 'label' columns");
        }
        if (t.size() == 0) {
            throw new IOException(file + " holds no examples");
        }
        return t;
    }

    private static LabeledTexts csv(Path file) throws IOException {
        List<String> texts = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        List<Integer> tasks = new ArrayList<>();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8);
                CSVParser p = CSVFormat.DEFAULT
                        .builder()
                        .setHeader()
                        .setSkipHeaderRecord(true)
                        .get()
                        .parse(r)) {
            List<String> header = p.getHeaderNames();
            if (!header.contains("text") || !header.contains("label")) {
                throw new IOException(file + ": the header must name a 'text' and a 'label' column; got " + header);
            }
            boolean hasTasks = header.contains("task");
            try {
                for (CSVRecord rec : p) {
                    long line = p.getCurrentLineNumber();
                    if (!rec.isConsistent()) {
                        throw new IOException(
                                file + ":" + line + ": expected " + header.size() + " fields, got " + rec.size());
                    }
                    add(file, line, rec.get("text"), rec.get("label"), texts, labels);
                    if (hasTasks) {
                        tasks.add(task(file, line, rec.get("task")));
                    }
                }
            } catch (UncheckedIOException e) {
                throw new IOException(
                        file + ": malformed CSV near line " + p.getCurrentLineNumber() + ": "
                                + e.getCause().getMessage(),
                        e);
            }
        }
        return new LabeledTexts(texts, labels, tasks);
    }

    private static LabeledTexts jsonl(Path file) throws IOException {
        List<String> texts = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        List<Integer> tasks = new ArrayList<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i).strip();
            if (l.isEmpty()) {
                continue;
            }
            JsonNode n;
            try {
                n = Json.MAPPER.readTree(l);
            } catch (JsonProcessingException e) {
                throw new IOException(file + ":" + (i + 1) + ": not valid JSON: " + e.getOriginalMessage(), e);
            }
            if (n == null || !n.isObject()) {
                throw new IOException(file + ":" + (i + 1) + ": expected a JSON object with 'text' and 'label'");
            }
            JsonNode text = n.get("text");
            JsonNode label = n.get("label");
            add(
                    file,
                    i + 1,
                    text == null || !text.isTextual() ? null : text.asText(),
                    label == null || !label.isValueNode() || label.isNull() ? null : label.asText(),
                    texts,
                    labels);
            JsonNode task = n.get("task");
            boolean consistent = task == null ? tasks.isEmpty() : tasks.size() == texts.size() - 1;
            if (!consistent) {
                throw new IOException(file + ":" + (i + 1) + ": 'task' must be on every row or on none");
            }
            if (task != null) {
                tasks.add(task(file, i + 1, task.isValueNode() ? task.asText() : null));
            }
        }
        return new LabeledTexts(texts, labels, tasks);
    }

    private static int task(Path file, long line, String value) throws IOException {
        try {
            int t = Integer.parseInt(value == null ? "" : value.strip());
            if (t >= 0) {
                return t;
            }
        } catch (NumberFormatException e) {
            // the message below
        }
        throw new IOException(file + ":" + line + ": 'task' must be a task id, an integer ≥ 0; got '" + value + "'");
    }

    private static void add(Path file, long line, String text, String label, List<String> texts, List<String> labels)
            throws IOException {
        if (text == null || text.isBlank()) {
            throw new IOException(file + ":" + line + ": 'text' is missing or empty");
        }
        if (label == null || label.isBlank()) {
            throw new IOException(file + ":" + line + ": 'label' is missing or empty");
        }
        texts.add(text);
        labels.add(label.strip());
    }
}
