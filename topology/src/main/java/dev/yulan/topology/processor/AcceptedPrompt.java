package dev.yulan.topology.processor;

import dev.yulan.schemas.PromptRequest;

/** A prompt that passed validation; {@code request} has its request id and conversation id filled in. */
public record AcceptedPrompt(String requestId, String conversationId, PromptRequest request) {}
