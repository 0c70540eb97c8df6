package dev.yulan.schemas.codec;

import dev.yulan.schemas.Completion;
import dev.yulan.schemas.CompletionChunk;
import dev.yulan.schemas.DeadLetter;
import dev.yulan.schemas.Message;
import dev.yulan.schemas.PromptRequest;
import dev.yulan.schemas.Timings;
import dev.yulan.schemas.Usage;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** One record of each type with every field set. */
final class SampleRecords {
    private SampleRecords() {}

    static PromptRequest prompt() {
        return PromptRequest.newBuilder()
                .setRequestId("r-1")
                .setConversationId("c-1")
                .setMessages(List.of(new Message("system", "Be brief."), new Message("user", "Hello")))
                .setContinuation(false)
                .setMaxTokens(32)
                .setTemperature(0.7f)
                .setTopP(0.9f)
                .setTopK(40)
                .setMinP(0.05f)
                .setSeed(42L)
                .setStop(List.of("\n\n"))
                .setStream(true)
                .setMetadata(Map.of("user", "ada"))
                .setPresencePenalty(0.5f)
                .setFrequencyPenalty(0.25f)
                .setRepetitionPenalty(1.1f)
                .setPriority(3)
                .build();
    }

    static CompletionChunk chunk() {
        return new CompletionChunk("r-1", "c-1", 2, "lo", List.of(5, 6), true, "stop");
    }

    static Completion completion() {
        return new Completion(
                "r-1",
                "c-1",
                "yulan-mini",
                "Hello there",
                "stop",
                new Usage(10, 2, 4, 12),
                new Timings(1.5, 20.25, 80.0),
                null,
                Map.of("user", "ada"));
    }

    static DeadLetter deadLetter() {
        return new DeadLetter(
                "yulan.prompts",
                3,
                17L,
                1_700_000_000_000L,
                ByteBuffer.wrap("c-1".getBytes(StandardCharsets.UTF_8)),
                ByteBuffer.wrap(new byte[] {1, 2, 3}),
                "empty prompt",
                "r-1");
    }
}
