package dev.yulan.inference.engine;

/**
 * The end of a request. {@code conversationTokens} is the prompt's token ids followed by the generated ones (the
 * history to pass to the next turn's {@link Prompt.Continue}); {@code error} is null unless {@code finishReason} is
 * {@link FinishReason#ERROR}. Times are nanoseconds: queue (submit to first scheduled), time to first token (submit to
 * first token), total (submit to completion).
 */
public record GenerationResult(
        String requestId,
        String text,
        FinishReason finishReason,
        int promptTokens,
        int cachedTokens,
        int completionTokens,
        int[] conversationTokens,
        long queueNanos,
        long timeToFirstTokenNanos,
        long totalNanos,
        String error) {}
