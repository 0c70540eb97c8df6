package dev.yulan.inference.engine;

import java.util.concurrent.CompletableFuture;

/** A submitted request: its id, prompt length, and the result to come. */
public record GenerationHandle(String requestId, int promptTokens, CompletableFuture<GenerationResult> result) {}
