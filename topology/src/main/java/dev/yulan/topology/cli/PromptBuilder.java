package dev.yulan.topology.cli;

import dev.yulan.schemas.Message;
import dev.yulan.schemas.PromptRequest;
import java.util.HashMap;
import java.util.List;
import java.util.UUID;

/** Prompt requests as the CLI sends them. */
final class PromptBuilder {

    private PromptBuilder() {}

    /**
     * @param chat a user message continuing the conversation (continuation absent: continue when it has history), or
     *     else a plain-text completion
     */
    static PromptRequest request(
            String conversation, String text, boolean chat, Integer maxTokens, Float temperature, boolean stream) {
        PromptRequest request = new PromptRequest();
        request.setRequestId(conversation + "-" + UUID.randomUUID().toString().substring(0, 8));
        request.setConversationId(conversation);
        if (chat) {
            request.setMessages(List.of(new Message("user", text)));
        } else {
            request.setPrompt(text);
        }
        request.setMaxTokens(maxTokens);
        request.setTemperature(temperature);
        request.setStream(stream);
        request.setMetadata(new HashMap<>());
        request.setPriority(0);
        return request;
    }
}
