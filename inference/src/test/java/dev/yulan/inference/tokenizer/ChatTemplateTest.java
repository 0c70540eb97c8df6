package dev.yulan.inference.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.yulan.inference.engine.ChatMessage;
import dev.yulan.inference.engine.InvalidRequestException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Chat templates against Jinja2's own rendering (fixture {@code tokenizer/chat-templates.json}, made by
 * {@code generate_chat_templates.py} with Hugging Face's Jinja2 settings).
 */
class ChatTemplateTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNode FIXTURE = readFixture();
    /** Built once per template: the fixture has many cases per template. */
    private static final Map<String, ChatTemplate> TEMPLATES = new ConcurrentHashMap<>();

    private static Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizer.load(Stories260K.dir(), 1, new int[] {2});
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    static Stream<JsonNode> cases() {
        List<JsonNode> cases = new ArrayList<>();
        FIXTURE.get("cases").forEach(cases::add);
        return cases.stream();
    }

    @ParameterizedTest
    @MethodSource("cases")
    void rendersWhatJinja2Renders(JsonNode testCase) {
        ChatTemplate template = template(testCase.get("template").asText());
        List<ChatMessage> messages = messages(testCase.get("messages"));
        boolean addGenerationPrompt = testCase.get("add_generation_prompt").asBoolean();

        if (testCase.get("error").isNull()) {
            assertThat(template.render(messages, addGenerationPrompt))
                    .isEqualTo(testCase.get("expected").asText());
        } else {
            assertThatThrownBy(() -> template.render(messages, addGenerationPrompt))
                    .isInstanceOf(InvalidRequestException.class)
                    .hasMessage(
                            "chat template: raised: " + testCase.get("error").asText());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama2", "chatml", "llama3", "zephyr", "mistral", "indented"})
    void continuationIsWhatRenderingTheWholeConversationAdds(String name) {
        ChatTemplate template = template(name);
        List<ChatMessage> history = List.of(
                new ChatMessage("user", "Hello, who are you?"),
                new ChatMessage("assistant", "I am YuLan."),
                new ChatMessage("user", "讲个故事"),
                new ChatMessage("assistant", "从前有座山。"));
        List<ChatMessage> next = List.of(new ChatMessage("user", "And then? 🙂"));
        List<ChatMessage> whole = new ArrayList<>(history);
        whole.addAll(next);

        String continuation = template.renderContinuation(next);

        assertThat(template.render(history, false) + continuation).isEqualTo(template.render(whole, true));
    }

    @Test
    void continuationStartsAfterTheEosThatEndsAnAssistantTurn() {
        assertThat(template("llama2").renderContinuation(List.of(new ChatMessage("user", "More"))))
                .isEqualTo("<s>[INST] More [/INST]");
        assertThat(template("chatml").renderContinuation(List.of(new ChatMessage("user", "More"))))
                .isEqualTo("<|im_start|>user\nMore<|im_end|>\n<|im_start|>assistant\n");
    }

    @Test
    void knowsWhatEndsAnAssistantTurn() {
        assertThat(template("llama2").afterAssistantTurn()).contains(" </s>");
        assertThat(template("chatml").afterAssistantTurn()).contains("<|im_end|>\n");
        assertThat(template("llama3").afterAssistantTurn()).contains("<|eot_id|>");
        assertThat(template("zephyr").afterAssistantTurn()).contains("</s>\n");
        assertThat(ChatTemplate.fallback("<s>", "</s>").afterAssistantTurn()).contains("\n");
        assertThat(ChatTemplate.of("{% for m in messages %}{{ m.content | upper }}{% endfor %}", "", "")
                        .afterAssistantTurn())
                .isEmpty();
    }

    // Not llama2/mistral: their assistant content follows "[/INST] " with a space that the generation prompt lacks and
    // the model's first SentencePiece token ("▁I") carries.
    @ParameterizedTest
    @ValueSource(strings = {"chatml", "llama3", "zephyr", "indented"})
    void generatedTextPlusTheTurnEndIsTheRenderedHistory(String name) {
        ChatTemplate template = template(name);
        List<ChatMessage> question = List.of(new ChatMessage("user", "Who are you?"));
        String answer = "I am YuLan.";
        List<ChatMessage> history = List.of(question.getFirst(), new ChatMessage("assistant", answer));

        // What the engine holds after a turn: the prompt, the generated answer, then the end of the turn.
        String held = template.render(question, true)
                + answer
                + template.afterAssistantTurn().orElseThrow();

        assertThat(held).isEqualTo(template.render(history, false));
    }

    @Test
    void refusesContinuationWhenLaterMessagesChangeEarlierTurns() {
        ChatTemplate marksLast = ChatTemplate.of(
                "{% for m in messages %}{{ m.role }}: {{ m.content }}{% if loop.last %}<end>{% endif %}\n{% endfor %}",
                "<s>", "</s>");

        assertThatThrownBy(() -> marksLast.renderContinuation(List.of(new ChatMessage("user", "Hi"))))
                .isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("cannot continue a conversation");
        // Separators between turns and a message count at the end: also not continuable.
        assertThatThrownBy(() -> template("idioms").renderContinuation(List.of(new ChatMessage("user", "Hi"))))
                .isInstanceOf(InvalidRequestException.class);
    }

    @Test
    void neverInterpretsTemplateSyntaxInMessages() {
        String content = "{{ 7 * 7 }} {% if true %}x{% endif %} {{ raise_exception('boom') }}";
        ChatTemplate template = template("chatml");

        assertThat(template.render(List.of(new ChatMessage("user", content)), false))
                .contains("<|im_start|>user\n" + content + "<|im_end|>");
    }

    @Test
    void raiseExceptionBecomesAOneLineRequestError() {
        List<ChatMessage> twoUsers = List.of(new ChatMessage("user", "a"), new ChatMessage("user", "b"));
        assertThatThrownBy(() -> template("llama2").render(twoUsers, true))
                .isInstanceOf(InvalidRequestException.class)
                .hasMessage("chat template: raised: Conversation roles must alternate"
                        + " user/assistant/user/assistant/...");
    }

    @Test
    void modelWithoutTemplateGetsTheFallback() {
        ChatTemplate template = ChatTemplate.load(Stories260K.dir(), tokenizer);
        List<ChatMessage> messages = List.of(new ChatMessage("system", "Be kind."), new ChatMessage("user", "Hi"));

        String text = template.render(messages, true);

        assertThat(template.isFallback()).isTrue();
        assertThat(text).isEqualTo("<s>system: Be kind.\nuser: Hi\nassistant:");
        // The BOS text becomes the BOS id, as if the tokenizer had added it.
        assertThat(tokenizer.encode(text, false))
                .containsExactly(tokenizer.encode("system: Be kind.\nuser: Hi\nassistant:", true));
        assertThat(template.renderContinuation(List.of(new ChatMessage("user", "More"))))
                .isEqualTo("user: More\nassistant:");
    }

    @Test
    void loadsTheTemplateOfTokenizerConfig(@TempDir Path dir) throws IOException {
        writeModel(dir, FIXTURE.get("templates").get("chatml"));

        ChatTemplate template = ChatTemplate.load(dir, tokenizer);

        assertThat(template.isFallback()).isFalse();
        assertThat(template.render(List.of(new ChatMessage("user", "Hi")), true))
                .isEqualTo("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                        + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    }

    @Test
    void picksTheDefaultOfNamedTemplatesAndPrefersChatTemplateJinja(@TempDir Path dir) throws IOException {
        ObjectNode tool = JSON.createObjectNode().put("name", "tool_use").put("template", "tools!");
        ObjectNode standard = JSON.createObjectNode().put("name", "default").put("template", "{{ bos_token }}default");
        writeModel(dir, JSON.createArrayNode().add(tool).add(standard));
        assertThat(ChatTemplate.load(dir, tokenizer).render(List.of(), true)).isEqualTo("<s>default");

        Files.writeString(dir.resolve("chat_template.jinja"), "from jinja file{{ eos_token }}\n");
        assertThat(ChatTemplate.load(dir, tokenizer).render(List.of(), true)).isEqualTo("from jinja file</s>");
    }

    @Test
    void rejectsABrokenTemplateAtLoadWithOneLine(@TempDir Path dir) throws IOException {
        writeModel(dir, JSON.getNodeFactory().textNode("{% for m in messages %}{{ m.content }}"));

        assertThatThrownBy(() -> ChatTemplate.load(dir, tokenizer))
                .isInstanceOf(TokenizerException.class)
                .hasMessageContaining("chat template")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    private static void writeModel(Path dir, JsonNode chatTemplate) throws IOException {
        Files.copy(Stories260K.dir().resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        ObjectNode config = JSON.createObjectNode().put("bos_token", "<s>").put("eos_token", "</s>");
        config.set("chat_template", chatTemplate);
        Files.writeString(dir.resolve("tokenizer_config.json"), JSON.writeValueAsString(config));
    }

    private static ChatTemplate template(String name) {
        return TEMPLATES.computeIfAbsent(
                name, n -> ChatTemplate.of(FIXTURE.get("templates").get(n).asText(), "<s>", "</s>"));
    }

    private static List<ChatMessage> messages(JsonNode array) {
        List<ChatMessage> messages = new ArrayList<>();
        for (JsonNode m : array) {
            messages.add(
                    new ChatMessage(m.get("role").asText(), m.get("content").asText()));
        }
        return messages;
    }

    private static JsonNode readFixture() {
        try (InputStream in = ChatTemplateTest.class.getResourceAsStream("/tokenizer/chat-templates.json")) {
            return JSON.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
