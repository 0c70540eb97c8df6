package dev.yulan.topology.processor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.yulan.inference.engine.ChatMessage;
import dev.yulan.inference.engine.Prompt;
import dev.yulan.inference.engine.SamplingParams;
import dev.yulan.schemas.Message;
import dev.yulan.schemas.PromptRequest;
import java.util.List;
import org.junit.jupiter.api.Test;

class TurnPlannerTest {

    private static final int[] HISTORY = {1, 5, 9};

    private static PromptRequest chat(Boolean continuation, Message... messages) {
        return PromptRequest.newBuilder()
                .setRequestId("r")
                .setConversationId("c")
                .setMessages(List.of(messages))
                .setContinuation(continuation)
                .setMaxTokens(8)
                .build();
    }

    @Test
    void userMessagesContinueAConversationWithHistory() {
        Prompt prompt = TurnPlanner.prompt(chat(null, new Message("user", "more")), HISTORY);
        assertThat(prompt).isInstanceOfSatisfying(Prompt.Continue.class, c -> {
            assertThat(c.history()).containsExactly(HISTORY);
            assertThat(c.messages()).containsExactly(new ChatMessage("user", "more"));
        });
    }

    @Test
    void userMessagesStartAConversationWithoutHistory() {
        assertThat(TurnPlanner.prompt(chat(null, new Message("user", "hi")), null))
                .isEqualTo(new Prompt.Chat(List.of(new ChatMessage("user", "hi"))));
    }

    @Test
    void aWholeConversationStartsOverDespiteHistory() {
        assertThat(TurnPlanner.prompt(
                        chat(
                                null,
                                new Message("user", "hi"),
                                new Message("assistant", "hello"),
                                new Message("user", "?")),
                        HISTORY))
                .isInstanceOf(Prompt.Chat.class);
        assertThat(TurnPlanner.prompt(chat(null, new Message("system", "s"), new Message("user", "u")), HISTORY))
                .isInstanceOf(Prompt.Chat.class);
        assertThat(TurnPlanner.prompt(chat(false, new Message("user", "u")), HISTORY))
                .isInstanceOf(Prompt.Chat.class);
    }

    @Test
    void anExplicitContinuationContinuesAnyMessagesOrIsRejectedWithoutHistory() {
        assertThat(TurnPlanner.prompt(chat(true, new Message("system", "now be brief")), HISTORY))
                .isInstanceOf(Prompt.Continue.class);
        assertThatThrownBy(() -> TurnPlanner.prompt(chat(true, new Message("user", "u")), null))
                .isInstanceOf(RejectedInputException.class)
                .hasMessage("unknown conversation 'c': no history to continue");
    }

    @Test
    void neutralSamplingForWhatTheRequestLeavesOut() {
        SamplingParams sampling = TurnPlanner.sampling(chat(null, new Message("user", "u")));
        assertThat(sampling)
                .isEqualTo(new SamplingParams(1f, 0, 1f, 0f, 1f, 0f, 0f, null, 8, List.of(), List.of(), false));
    }
}
