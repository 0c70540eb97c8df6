package dev.yulan.topology.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.yulan.schemas.Completion;
import dev.yulan.schemas.CompletionChunk;
import dev.yulan.schemas.DeadLetter;
import dev.yulan.schemas.Timings;
import dev.yulan.schemas.Usage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TranscriptTest {

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final Transcript transcript =
            new Transcript(new PrintStream(bytes, true, StandardCharsets.UTF_8), false, true, id -> !id.equals("x"));

    private static CompletionChunk chunk(String conversation, String request, int seq, String text) {
        return new CompletionChunk(request, conversation, seq, text, List.of(1), false, null);
    }

    private static Completion completion(String conversation, String request, String text) {
        return new Completion(
                request,
                conversation,
                "m",
                text,
                "stop",
                new Usage(3, 2, 0, 5),
                new Timings(1.0, 10.0, 20.0),
                null,
                Map.of());
    }

    private String out() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void labelsALineWheneverTheConversationChanges() {
        transcript.onChunk(chunk("a", "ra", 0, "Hello"));
        transcript.onChunk(chunk("a", "ra", 1, " there"));
        transcript.onChunk(chunk("b", "rb", 0, "Bye"));
        transcript.onChunk(chunk("a", "ra", 2, "!"));
        assertThat(out()).isEqualTo("[a] Hello there\n[b] Bye\n[a] !");
    }

    @Test
    void aCompletionBeforeItsLastChunksShowsTheRestOnce() {
        transcript.onChunk(chunk("a", "ra", 0, "Once"));
        transcript.onCompletion(completion("a", "ra", "Once upon"));
        transcript.onChunk(chunk("a", "ra", 1, " upon"));
        assertThat(out()).startsWith("[a] Once upon\n[a] -- stop, 3 prompt tokens (0 cached) + 2 generated");
        assertThat(out()).doesNotContain("upon upon");
        assertThat(transcript.completionOf("ra")).isCompleted();
    }

    @Test
    void aDeadLetterOfAnAwaitedRequestFailsItsWaitWithTheReason() {
        var done = transcript.completionOf("r9");
        transcript.onDeadLetter(new DeadLetter("yulan.prompts", 0, 4L, 0L, null, null, "empty prompt", "r9"));
        transcript.onDeadLetter(new DeadLetter("yulan.prompts", 0, 5L, 0L, null, null, "other", "not-awaited"));
        assertThat(out()).isEqualTo("-- rejected: empty prompt\n");
        assertThat(done).isCompletedExceptionally();
    }

    @Test
    void repeatedChunksAndFilteredConversationsAreNotShown() {
        transcript.onChunk(chunk("a", "ra", 0, "One"));
        transcript.onChunk(chunk("a", "ra", 0, "One"));
        transcript.onChunk(chunk("x", "rx", 0, "hidden"));
        assertThat(out()).isEqualTo("[a] One");
    }
}
