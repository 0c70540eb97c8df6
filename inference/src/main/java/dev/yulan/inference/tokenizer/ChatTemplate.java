package dev.yulan.inference.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.yulan.inference.engine.ChatMessage;
import dev.yulan.inference.engine.InvalidRequestException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A model's chat template ({@code chat_template} of {@code tokenizer_config.json}, or {@code chat_template.jinja})
 * rendered with Jinjava the way Hugging Face's {@code apply_chat_template} renders it with Jinja2: {@code trim_blocks}
 * and {@code lstrip_blocks} on, one trailing newline of the template dropped, variables {@code messages} (maps with
 * {@code role} and {@code content}), {@code add_generation_prompt}, {@code bos_token}, {@code eos_token}, and the
 * function {@code raise_exception(message)}. Python string methods common in templates ({@code strip}, {@code lstrip},
 * {@code rstrip}, {@code upper}, {@code lower}, {@code startswith}, {@code endswith}) are mapped to their Java
 * equivalents inside template tags, and filtered loops ({@code for x in xs if cond}) are supported.
 *
 * <p>A model without a template gets the {@linkplain #isFallback() fallback}: BOS (if the tokenizer adds one to
 * prompts), then one {@code "role: content\n"} line per message, then {@code "assistant:"} as generation prompt.
 *
 * <p>Rendered text contains BOS when the template writes it; encode it with {@code addBos=false}. Template syntax inside
 * message text is never interpreted.
 *
 * <p>Known differences from Jinja2 (none in the tested templates; see ChatTemplateTest): {@code not a == b} parses as
 * {@code (not a) == b} (write {@code a != b}); booleans print as {@code true}; {@code tojson} is compact
 * ({@code {"a":1}}, Hugging Face's prints {@code {"a": 1}}); Python string methods with arguments
 * ({@code strip('x')}, {@code split(...)[-1]}) are not available.
 */
public final class ChatTemplate {

    static final String FALLBACK_SOURCE = "{{ bos_token }}{% for message in messages %}"
            + "{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}"
            + "{% if add_generation_prompt %}assistant:{% endif %}";

    private static final List<ChatMessage> PLACEHOLDER_TURNS = List.of(
            new ChatMessage("user", "placeholder user message"),
            new ChatMessage("assistant", "placeholder assistant message"));

    private static final Pattern TAG = Pattern.compile("\\{\\{.*?}}|\\{%.*?%}", Pattern.DOTALL);
    private static final Pattern FILTERED_FOR =
            Pattern.compile("\\{%(-?)\\s*for\\s+(\\w+)\\s+in\\s+(.+?)\\s+if\\s+(.+?)\\s*(-?)%}", Pattern.DOTALL);
    private static final Map<String, String> PYTHON_STRING_METHODS = Map.of(
            ".lstrip()", ".stripLeading()",
            ".rstrip()", ".stripTrailing()",
            ".upper()", ".toUpperCase()",
            ".lower()", ".toLowerCase()",
            ".startswith(", ".startsWith(",
            ".endswith(", ".endsWith(");

    private final String source;
    private final String jinjavaSource;
    private final String bosToken;
    private final String eosToken;
    private final boolean fallback;
    private final Jinjava jinjava;

    private ChatTemplate(String source, String bosToken, String eosToken, boolean fallback) {
        this.source = source;
        this.jinjavaSource = toJinjava(source);
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        this.fallback = fallback;
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                // Message text is data: never render "{{ ... }}" found in it (Jinjava's nested interpretation).
                .withNestedInterpretationEnabled(false)
                // Jinja2's behaviour where Jinjava's default differs: "{{- x -}}" trims whitespace, a for loop over
                // a dict gives its keys, lists print Python-style.
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withIterateOverMapKeys(true)
                        .withUsePyishObjectMapper(true)
                        .build())
                .build());
        jinjava.getGlobalContext()
                .registerFunction(new ELFunctionDefinition(
                        "", "raise_exception", ChatTemplate.class, "raiseException", String.class));
    }

    /**
     * The chat template of a model directory, with the tokenizer's BOS/EOS texts; the fallback if it has none.
     *
     * @throws TokenizerException if the template is unreadable or does not render a one-message conversation
     */
    public static ChatTemplate load(Path modelDir, Tokenizer tokenizer) {
        TokenizerConfigFile config = TokenizerConfigFile.read(modelDir);
        ChatTemplate template;
        if (config.chatTemplate() == null) {
            template = fallback(tokenizer.addBosByDefault() ? tokenizer.bosToken() : "", tokenizer.eosToken());
        } else {
            template = of(config.chatTemplate(), tokenizer.bosToken(), tokenizer.eosToken());
        }
        template.check(modelDir);
        return template;
    }

    /** A template from its Jinja source. */
    public static ChatTemplate of(String source, String bosToken, String eosToken) {
        return new ChatTemplate(source, bosToken, eosToken, false);
    }

    /** The fallback template for models without one; {@code bosToken} may be empty or null for none. */
    public static ChatTemplate fallback(String bosToken, String eosToken) {
        return new ChatTemplate(FALLBACK_SOURCE, bosToken, eosToken, true);
    }

    /** True when the model had no chat template and the plain "role: content" fallback is used. */
    public boolean isFallback() {
        return fallback;
    }

    /** The template's Jinja source as found in the model directory. */
    public String source() {
        return source;
    }

    /**
     * Renders a conversation.
     *
     * @throws InvalidRequestException if the template rejects the conversation ({@code raise_exception}) or fails on
     *     it; the message is one line
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> maps = new ArrayList<>(messages.size());
        for (ChatMessage message : messages) {
            maps.add(Map.of("role", message.role(), "content", message.content()));
        }
        Map<String, Object> context = new HashMap<>();
        context.put("messages", maps);
        context.put("add_generation_prompt", addGenerationPrompt);
        context.put("bos_token", bosToken);
        context.put("eos_token", eosToken);
        RenderResult result = jinjava.renderForResult(jinjavaSource, context);
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new InvalidRequestException("chat template: " + describe(error));
            }
        }
        return result.getOutput();
    }

    /**
     * The text to append to the token ids of an earlier, finished conversation (whose last turn is the assistant's)
     * so that the whole equals rendering the whole conversation with {@code newMessages} and the generation prompt.
     *
     * <p>Technique: render a placeholder user and assistant turn followed by {@code newMessages} with the generation
     * prompt, and take what follows the rendering of the placeholder turns alone. That requires the placeholder
     * rendering to be a true prefix, which holds for templates that render each turn independently of later ones;
     * otherwise this fails rather than guess.
     *
     * <p>Caveat: the continuation starts right after what the template writes at the end of an assistant turn, so the
     * earlier conversation's ids must end with that too. Many templates end the turn with the EOS token (Llama 2:
     * {@code " answer </s>"}), some with more ({@code "<|im_end|>\n"}): after a generated assistant turn the engine
     * appends the model's EOS token id when generation stopped without emitting it, and the rest of
     * {@link #afterAssistantTurn()}.
     *
     * @throws InvalidRequestException if the template rejects the messages or cannot be continued
     */
    public String renderContinuation(List<ChatMessage> newMessages) {
        List<ChatMessage> all = new ArrayList<>(PLACEHOLDER_TURNS);
        all.addAll(newMessages);
        String prefix = render(PLACEHOLDER_TURNS, false);
        String whole = render(all, true);
        if (!whole.startsWith(prefix)) {
            throw new InvalidRequestException("chat template cannot continue a conversation: rendering further"
                    + " messages changes the text of the earlier turns");
        }
        return whole.substring(prefix.length());
    }

    /**
     * What the template writes after the content of the conversation's last assistant message (Llama 2
     * {@code " </s>"}, ChatML {@code "<|im_end|>\n"}, Llama 3 {@code "<|eot_id|>"}); empty if the template changes
     * the content so that it cannot be found.
     */
    public Optional<String> afterAssistantTurn() {
        String rendered = render(PLACEHOLDER_TURNS, false);
        String content = PLACEHOLDER_TURNS.getLast().content();
        int at = rendered.lastIndexOf(content);
        return at < 0 ? Optional.empty() : Optional.of(rendered.substring(at + content.length()));
    }

    /** Called by templates as {@code raise_exception(message)}. */
    public static String raiseException(String message) {
        throw new RaisedByTemplate(message);
    }

    /** A template that cannot even render one user message is broken: fail at load, not per request. */
    private void check(Path modelDir) {
        try {
            render(List.of(new ChatMessage("user", "hello")), true);
        } catch (InvalidRequestException e) {
            if (!e.getMessage().startsWith("chat template: raised: ")) {
                throw new TokenizerException(modelDir + ": " + e.getMessage(), e);
            }
        }
    }

    private static String describe(TemplateError error) {
        for (Throwable t = error.getException(); t != null; t = t.getCause()) {
            if (t instanceof RaisedByTemplate raised) {
                return "raised: " + raised.getMessage();
            }
            if (t.getCause() == t) {
                break;
            }
        }
        String message = error.getMessage() == null ? error.getReason().toString() : error.getMessage();
        return message.lines().findFirst().orElse("").strip()
                + (error.getLineno() > 0 ? " (template line " + error.getLineno() + ")" : "");
    }

    /**
     * Jinja2 drops one trailing newline of a template; Python string methods become Java ones inside tags; filtered
     * loops ({@code for x in xs if cond}, which Jinjava ignores the condition of) first collect the matching items.
     */
    static String toJinjava(String source) {
        String trimmed = source.endsWith("\n") ? source.substring(0, source.length() - 1) : source;
        Matcher tags = TAG.matcher(trimmed);
        StringBuilder out = new StringBuilder(trimmed.length());
        int filteredLoops = 0;
        while (tags.find()) {
            String tag = tags.group();
            for (Map.Entry<String, String> method : PYTHON_STRING_METHODS.entrySet()) {
                tag = tag.replace(method.getKey(), method.getValue());
            }
            Matcher loop = FILTERED_FOR.matcher(tag);
            if (loop.matches() && !loop.group(4).contains(" else ")) {
                String list = "__yulan_filtered_" + filteredLoops++;
                tag = "{%" + loop.group(1) + " set " + list + " = [] %}"
                        + "{% for " + loop.group(2) + " in " + loop.group(3) + " %}"
                        + "{% if " + loop.group(4) + " %}{% do " + list + ".append(" + loop.group(2) + ") %}{% endif %}"
                        + "{% endfor %}"
                        + "{% for " + loop.group(2) + " in " + list + " " + loop.group(5) + "%}";
            }
            tags.appendReplacement(out, Matcher.quoteReplacement(tag));
        }
        tags.appendTail(out);
        return out.toString();
    }

    /** The exception {@code raise_exception} throws; Jinjava wraps it, {@link #describe} finds it again. */
    private static final class RaisedByTemplate extends RuntimeException {
        RaisedByTemplate(String message) {
            super(message, null, false, false);
        }
    }
}
