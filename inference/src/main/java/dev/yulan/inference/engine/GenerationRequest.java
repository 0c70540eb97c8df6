package dev.yulan.inference.engine;

import java.util.Objects;

/**
 * One generation. {@code shard} is the owning partition (the KV shard its blocks are charged to); {@code
 * conversationId} may be null.
 */
public record GenerationRequest(
        String requestId, int shard, String conversationId, Prompt prompt, SamplingParams sampling) {

    public GenerationRequest {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(sampling, "sampling");
    }
}
