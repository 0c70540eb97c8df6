package dev.yulan.topology.client;

import dev.yulan.schemas.Completion;
import dev.yulan.schemas.CompletionChunk;
import dev.yulan.schemas.DeadLetter;
import java.io.PrintStream;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * Prints the operator's output as people read it: each request's chunks as they stream in, reassembled in order, then
 * one summary line (finish reason, tokens, timings) from its final completion. Several conversations interleave, so a
 * line starts with the conversation's name whenever the speaker changes ({@code [id]}, in a colour of its own on a
 * terminal). Also lets callers wait for a request's completion.
 */
public final class Transcript implements CompletionFeed.Listener {

    private static final String[] COLOURS = {"36", "33", "35", "32", "34", "31", "96", "93", "95", "92"};
    private static final String RESET = "\u001b[0m";
    private static final String DIM = "\u001b[2m";

    private final PrintStream out;
    private final boolean colour;
    private final boolean prefixes;
    private final Predicate<String> conversationFilter;
    private final Map<String, String> colourByConversation = new HashMap<>();
    /** Text shown so far per request still streaming. */
    private final Map<String, StringBuilder> streamed = new HashMap<>();
    /** Requests already completed (their late chunks are not shown again), the most recent few thousand. */
    private final Set<String> finished = Collections.newSetFromMap(new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > 10_000;
        }
    });

    private final Map<String, Integer> nextSeq = new HashMap<>();
    private final Map<String, CompletableFuture<Completion>> waiting = new ConcurrentHashMap<>();
    private String speaking;
    private boolean atLineStart = true;

    /**
     * @param colour ANSI colours (only when the output is a terminal)
     * @param prefixes start lines with {@code [conversation]} (off for a single known conversation)
     * @param conversationFilter which conversations to show
     */
    public Transcript(PrintStream out, boolean colour, boolean prefixes, Predicate<String> conversationFilter) {
        this.out = out;
        this.colour = colour;
        this.prefixes = prefixes;
        this.conversationFilter = conversationFilter;
    }

    /** Whether stdout is a terminal (colours and live redraws are for people, not pipes). */
    public static boolean stdoutIsTerminal() {
        var console = System.console();
        return console != null && console.isTerminal();
    }

    /** A future completed with the request's final completion when it arrives. */
    public CompletableFuture<Completion> completionOf(String requestId) {
        return waiting.computeIfAbsent(requestId, id -> new CompletableFuture<>());
    }

    @Override
    public synchronized void onChunk(CompletionChunk chunk) {
        if (!conversationFilter.test(chunk.getConversationId())) {
            return;
        }
        String request = chunk.getRequestId();
        if (finished.contains(request)) {
            return; // the completion (read first, from the other topic) already showed the whole text
        }
        int expected = nextSeq.getOrDefault(request, 0);
        if (chunk.getSeq() < expected) {
            return; // already shown
        }
        nextSeq.put(request, chunk.getSeq() + 1);
        streamed.computeIfAbsent(request, r -> new StringBuilder()).append(chunk.getText());
        write(chunk.getConversationId(), chunk.getText());
    }

    @Override
    public synchronized void onCompletion(Completion completion) {
        String conversation = completion.getConversationId();
        if (conversationFilter.test(conversation)) {
            // Chunks and completions are on different topics, so the completion may arrive before the last chunks:
            // show whatever the chunks have not shown yet, and ignore those chunks later.
            StringBuilder shown = streamed.remove(completion.getRequestId());
            String text = completion.getText();
            if (shown == null) {
                write(conversation, text);
            } else if (text.startsWith(shown.toString())) {
                write(conversation, text.substring(shown.length()));
            }
            finished.add(completion.getRequestId());
            nextSeq.remove(completion.getRequestId());
            endLine();
            String summary = summary(completion);
            out.println(prefix(conversation) + (colour ? DIM + summary + RESET : summary));
            atLineStart = true;
            speaking = null;
            out.flush();
        }
        completionOf(completion.getRequestId()).complete(completion);
    }

    /** Thrown into {@link #completionOf} when the operator dead-letters the request; the transcript shows why. */
    public static final class RejectedException extends RuntimeException {
        public RejectedException(String message) {
            super(message);
        }
    }

    @Override
    public synchronized void onDeadLetter(DeadLetter letter) {
        String request = letter.getRequestId();
        CompletableFuture<Completion> waiter = request == null ? null : waiting.get(request);
        if (waiter == null) {
            return;
        }
        endLine();
        String line = "-- rejected: " + letter.getReason();
        out.println(colour ? "\u001b[31m" + line + RESET : line);
        speaking = null;
        out.flush();
        waiter.completeExceptionally(
                new RejectedException("the operator rejected " + request + ": " + letter.getReason()));
    }

    @Override
    public synchronized void onUnreadable(String topic, String reason) {
        endLine();
        out.println("(unreadable record on " + topic + ": " + reason + ")");
        out.flush();
    }

    /** Prints a line of the caller's own (a prompt being sent), keeping the transcript's line discipline. */
    public synchronized void note(String conversation, String text) {
        endLine();
        out.println(prefix(conversation) + (colour ? "\u001b[1m" + text + RESET : text));
        speaking = null;
        out.flush();
    }

    /** One line: why it finished, tokens, timings. */
    public static String summary(Completion c) {
        String text = String.format(
                Locale.ROOT,
                "-- %s, %d prompt tokens (%d cached) + %d generated, queue %.0f ms, first token %.0f ms, total %.0f ms",
                c.getFinishReason(),
                c.getUsage().getPromptTokens(),
                c.getUsage().getCachedTokens(),
                c.getUsage().getCompletionTokens(),
                c.getTimings().getQueueMs(),
                c.getTimings().getTimeToFirstTokenMs(),
                c.getTimings().getTotalMs());
        return c.getError() == null ? text : text + ", error: " + c.getError();
    }

    private void write(String conversation, String text) {
        if (text.isEmpty()) {
            return;
        }
        if (!conversation.equals(speaking)) {
            endLine();
            speaking = conversation;
        }
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            if (i > 0) {
                out.println();
                atLineStart = true;
            }
            if (lines[i].isEmpty()) {
                continue;
            }
            if (atLineStart) {
                out.print(prefix(conversation));
                atLineStart = false;
            }
            out.print(lines[i]);
        }
        out.flush();
    }

    private void endLine() {
        if (!atLineStart) {
            out.println();
            atLineStart = true;
        }
    }

    private String prefix(String conversation) {
        if (!prefixes) {
            return "";
        }
        String label = "[" + conversation + "] ";
        if (!colour) {
            return label;
        }
        String code = colourByConversation.computeIfAbsent(
                conversation, c -> COLOURS[colourByConversation.size() % COLOURS.length]);
        return "\u001b[" + code + "m" + label + RESET;
    }
}
