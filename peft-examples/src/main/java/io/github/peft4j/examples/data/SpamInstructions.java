package io.github.peft4j.examples.data;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.models.bert.MiniLm;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Builds the small instruction-tuning set the instruction example ships ({@code spam-instructions/train.jsonl} and
 * {@code validation.jsonl}) from the SpamAssassin public corpus (Apache-2.0): chat examples of two tasks on real
 * mail, "spam or ham?" (answer: one word) and "write a subject line for this mail" (answer: the mail's own
 * subject). Run it to remake the files: {@code java -cp peft.jar io.github.peft4j.examples.data.SpamInstructions DIR}.
 */
public final class SpamInstructions {

    /** Examples per task in the training file. */
    static final int TRAIN_PER_TASK = 120;

    /** The characters of a mail's body an instruction quotes (short enough for the tiny test models' 128 positions). */
    static final int EXCERPT = 90;

    /** Examples per task in the validation file. */
    static final int VALIDATION_PER_TASK = 20;

    private SpamInstructions() {}

    /**
     * Writes {@code train.jsonl} and {@code validation.jsonl}.
     *
     * @param args the output directory
     * @throws IOException if the corpus cannot be fetched or the files written
     */
    public static void main(String[] args) throws IOException {
        Path out = Path.of(args.length > 0 ? args[0] : "spam-instructions");
        LabeledTexts corpus = SpamAssassin.load(MiniLm.cacheRoot());
        List<ObjectNode> classify = new ArrayList<>();
        List<ObjectNode> subject = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(7);
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < corpus.size(); i++) {
            order.add(i);
        }
        for (int i = order.size() - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            Integer t = order.get(i);
            order.set(i, order.get(j));
            order.set(j, t);
        }
        int spam = 0;
        int ham = 0;
        int need = TRAIN_PER_TASK + VALIDATION_PER_TASK;
        for (int i : order) {
            String text = corpus.texts().get(i);
            String label = corpus.labels().get(i);
            int nl = text.indexOf('\n');
            String subj = nl > 9 ? text.substring(9, nl).strip() : "";
            String body = nl >= 0 ? text.substring(nl + 1).strip() : text;
            if (body.length() < 40) {
                continue;
            }
            String excerpt = body.substring(0, Math.min(EXCERPT, body.length()));
            boolean isSpam = "spam".equals(label);
            if (classify.size() < need && (isSpam ? spam < need / 2 : ham < need / 2)) {
                classify.add(chat("Spam or ham?\n\nSubject: " + subj + "\n" + excerpt, label));
                if (isSpam) {
                    spam++;
                } else {
                    ham++;
                }
            } else if (subject.size() < need && subj.length() >= 8 && subj.length() <= 70) {
                subject.add(chat("Write a subject line for this email:\n" + excerpt, subj));
            }
            if (classify.size() == need && subject.size() == need) {
                break;
            }
        }
        Files.createDirectories(out);
        write(out.resolve("train.jsonl"), classify.subList(0, TRAIN_PER_TASK), subject.subList(0, TRAIN_PER_TASK));
        write(
                out.resolve("validation.jsonl"),
                classify.subList(TRAIN_PER_TASK, need),
                subject.subList(TRAIN_PER_TASK, need));
        System.out.println("wrote " + out.toAbsolutePath());
    }

    private static ObjectNode chat(String user, String assistant) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        ArrayNode messages = o.putArray("messages");
        messages.addObject().put("role", "user").put("content", user);
        messages.addObject().put("role", "assistant").put("content", assistant);
        return o;
    }

    private static void write(Path file, List<ObjectNode> a, List<ObjectNode> b) throws IOException {
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (int i = 0; i < a.size(); i++) {
                w.write(Json.MAPPER.writeValueAsString(a.get(i)));
                w.newLine();
                w.write(Json.MAPPER.writeValueAsString(b.get(i)));
                w.newLine();
            }
        }
    }
}
