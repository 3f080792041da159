package io.github.peft4j.models.text;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A Hugging Face chat template ({@code tokenizer_config.json}'s {@code chat_template}, or {@code chat_template.jinja})
 * rendered with Jinjava under the settings transformers uses ({@code trim_blocks}, {@code lstrip_blocks}), with the
 * variables ({@code messages}, {@code add_generation_prompt}, {@code bos_token}, {@code eos_token}) and functions
 * ({@code raise_exception}, {@code strftime_now}) templates expect.
 */
public final class ChatTemplate {

    private static final Jinjava JINJAVA = newJinjava();

    /** The message of the last {@code raise_exception} on this thread (Jinjava reports only that a function failed). */
    private static final ThreadLocal<String> RAISED = new ThreadLocal<>();

    private final String source;

    /**
     * Wraps a template.
     *
     * @param source the Jinja source
     */
    public ChatTemplate(String source) {
        this.source = source;
    }

    private static Jinjava newJinjava() {
        Jinjava j = new Jinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withFailOnUnknownTokens(false)
                // Jinja2's semantics where Jinjava's defaults differ: {{- -}} trims, operator precedence, map keys
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withUseNaturalOperatorPrecedence(true)
                        .withEvaluateMapKeys(true)
                        .withKeepNullableLoopValues(true)
                        .build())
                .build());
        j.getGlobalContext()
                .registerFunction(new ELFunctionDefinition(
                        "", "raise_exception", ChatTemplate.class, "raiseException", String.class));
        j.getGlobalContext()
                .registerFunction(
                        new ELFunctionDefinition("", "strftime_now", ChatTemplate.class, "strftimeNow", String.class));
        return j;
    }

    /**
     * The template's {@code raise_exception}: fails the rendering with the template's message.
     *
     * @param message the message
     * @return never
     */
    public static String raiseException(String message) {
        RAISED.set(message);
        throw new IllegalArgumentException("the chat template refused the conversation: " + message);
    }

    /**
     * The template's {@code strftime_now}: the local time in a C {@code strftime} format (the common fields).
     *
     * @param format e.g. {@code %d %b %Y}
     * @return the formatted time
     */
    public static String strftimeNow(String format) {
        String java = format.replace("%d", "dd")
                .replace("%m", "MM")
                .replace("%Y", "yyyy")
                .replace("%y", "yy")
                .replace("%B", "MMMM")
                .replace("%b", "MMM")
                .replace("%H", "HH")
                .replace("%M", "mm")
                .replace("%S", "ss");
        return LocalDateTime.now(ZoneId.systemDefault()).format(DateTimeFormatter.ofPattern(java, Locale.ENGLISH));
    }

    /**
     * The template source.
     *
     * @return the Jinja text
     */
    public String source() {
        return source;
    }

    /**
     * Renders a conversation.
     *
     * @param messages the messages, each with {@code role} and {@code content}
     * @param addGenerationPrompt whether to end with the assistant's turn opened
     * @param specialTokens {@code bos_token}, {@code eos_token}, ... as the template may use them
     * @return the prompt text
     * @throws IllegalArgumentException if the template fails (naming the template's error) or refuses the
     *     conversation
     */
    public String render(
            List<Map<String, Object>> messages, boolean addGenerationPrompt, Map<String, String> specialTokens) {
        for (int i = 0; i < messages.size(); i++) {
            Map<String, Object> m = messages.get(i);
            if (!(m.get("role") instanceof String) || !m.containsKey("content")) {
                throw new IllegalArgumentException(
                        "message " + i + " needs a string 'role' and a 'content'; got " + m.keySet());
            }
        }
        Map<String, Object> vars = new HashMap<>(specialTokens);
        vars.put("messages", messages);
        vars.put("add_generation_prompt", addGenerationPrompt);
        RenderResult r;
        RAISED.remove();
        try {
            r = JINJAVA.renderForResult(source, vars);
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (RuntimeException e) {
            Throwable cause = e;
            while (cause.getCause() != null) {
                cause = cause.getCause();
            }
            if (cause instanceof IllegalArgumentException iae) {
                throw iae;
            }
            throw new IllegalArgumentException("the chat template failed: " + e.getMessage(), e);
        }
        List<TemplateError> fatal = r.getErrors().stream()
                .filter(e -> e.getSeverity() == TemplateError.ErrorType.FATAL)
                .collect(Collectors.toList());
        if (!fatal.isEmpty()) {
            String msg = fatal.stream()
                    .map(e -> (e.getLineno() > 0 ? "line " + e.getLineno() + ": " : "") + e.getMessage())
                    .collect(Collectors.joining("; "));
            String raised = RAISED.get();
            RAISED.remove();
            if (raised != null) {
                throw new IllegalArgumentException("the chat template refused the conversation: " + raised);
            }
            throw new IllegalArgumentException("the chat template failed: " + msg);
        }
        return r.getOutput();
    }
}
