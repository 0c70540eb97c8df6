package dev.yulan.topology.bench;

import dev.yulan.inference.engine.Engine;
import dev.yulan.inference.engine.GenerationListener;
import dev.yulan.inference.engine.GenerationRequest;
import dev.yulan.inference.engine.GenerationResult;
import dev.yulan.inference.engine.TokenEvent;
import dev.yulan.schemas.Completion;
import dev.yulan.schemas.CompletionChunk;
import dev.yulan.schemas.Message;
import dev.yulan.schemas.PromptRequest;
import dev.yulan.topology.client.CompletionFeed;
import dev.yulan.topology.client.PromptSender;
import dev.yulan.topology.processor.TurnPlanner;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One closed-loop chat workload, run through Kafka (prompt topic, operator, stream and completion topics) or on the bare
 * engine: N conversations at once, each sending its next turn when the previous one has completed, T turns each, every
 * turn greedy with the same token limit. The same {@link PromptRequest}s drive both (the bare run turns them into engine
 * requests exactly as the operator does), so the difference is what Kafka adds.
 *
 * <p>Measured at the client: time to first token (send to first streamed chunk), inter-token latency (per request: first
 * to last token over the tokens between; through Kafka chunks arrive at each commit, so this is what a client sees),
 * end-to-end latency (send to final completion), completions and generated tokens per second of wall time.
 */
public final class EndToEndBenchmark {

    /** N concurrent conversations of T turns of at most G generated tokens. */
    public record Workload(int conversations, int turns, int maxTokens) {
        public Workload {
            if (conversations < 1 || turns < 1 || maxTokens < 1) {
                throw new IllegalArgumentException("conversations, turns and max tokens must be at least 1");
            }
        }

        public int requests() {
            return conversations * turns;
        }
    }

    /** Percentiles of one latency, in milliseconds. */
    public record Percentiles(double p50, double p90, double p99, double mean) {
        static Percentiles of(List<Double> values) {
            if (values.isEmpty()) {
                return new Percentiles(Double.NaN, Double.NaN, Double.NaN, Double.NaN);
            }
            double[] sorted =
                    values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            return new Percentiles(
                    at(sorted, 0.50),
                    at(sorted, 0.90),
                    at(sorted, 0.99),
                    Arrays.stream(sorted).average().orElse(Double.NaN));
        }

        /** Nearest-rank percentile. */
        private static double at(double[] sorted, double q) {
            int rank = (int) Math.ceil(q * sorted.length);
            return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
        }
    }

    /** The numbers of one run. */
    public record Stats(
            int requests,
            long generatedTokens,
            double seconds,
            Percentiles timeToFirstTokenMs,
            Percentiles interTokenLatencyMs,
            Percentiles endToEndMs) {

        public double completionsPerSecond() {
            return requests / seconds;
        }

        public double tokensPerSecond() {
            return generatedTokens / seconds;
        }
    }

    /** One request's client-side times. */
    private static final class Timing {
        final long sentNanos;
        volatile long firstTokenNanos;
        volatile long endNanos;
        volatile int tokens;

        Timing(long sentNanos) {
            this.sentNanos = sentNanos;
        }

        synchronized void token(long now) {
            if (firstTokenNanos == 0) {
                firstTokenNanos = now;
            }
        }
    }

    private static final Duration TIMEOUT = Duration.ofMinutes(30);

    private EndToEndBenchmark() {}

    /** The user message of a turn; {@code run} makes each run's prompts distinct so no run reuses another's cache. */
    static String turnText(String run, int conversation, int turn) {
        return turn == 0
                ? "Story " + run + "-" + conversation + ": once upon a time, a little girl found a ball in the park."
                : "What happened next, in turn " + turn + "?";
    }

    static PromptRequest request(String run, int conversation, int turn, int maxTokens) {
        PromptRequest request = new PromptRequest();
        String conversationId = conversationId(run, conversation);
        request.setRequestId(conversationId + "-t" + turn);
        request.setConversationId(conversationId);
        request.setMessages(List.of(new Message("user", turnText(run, conversation, turn))));
        request.setMaxTokens(maxTokens);
        request.setTemperature(0f);
        request.setStream(true);
        request.setMetadata(new HashMap<>());
        request.setPriority(0);
        return request;
    }

    static String conversationId(String run, int conversation) {
        return "bench-" + run + "-c" + conversation;
    }

    /** Runs the workload on the engine alone. */
    public static Stats bare(Engine engine, Workload workload, String run) throws InterruptedException {
        Map<String, Timing> timings = new ConcurrentHashMap<>();
        ExecutorService submitter = Executors.newSingleThreadExecutor();
        try {
            long start = System.nanoTime();
            List<CompletableFuture<Void>> conversations = new ArrayList<>();
            for (int c = 0; c < workload.conversations(); c++) {
                conversations.add(bareConversation(engine, workload, run, c, 0, null, timings, submitter));
            }
            await(CompletableFuture.allOf(conversations.toArray(CompletableFuture[]::new)));
            return stats(timings, System.nanoTime() - start);
        } finally {
            submitter.shutdownNow();
        }
    }

    private static CompletableFuture<Void> bareConversation(
            Engine engine,
            Workload workload,
            String run,
            int conversation,
            int turn,
            int[] history,
            Map<String, Timing> timings,
            ExecutorService submitter) {
        if (turn == workload.turns()) {
            return CompletableFuture.completedFuture(null);
        }
        PromptRequest request = request(run, conversation, turn, workload.maxTokens());
        Timing timing = new Timing(System.nanoTime());
        timings.put(request.getRequestId(), timing);
        GenerationRequest generation = new GenerationRequest(
                request.getRequestId(),
                conversation,
                request.getConversationId(),
                TurnPlanner.prompt(request, history),
                TurnPlanner.sampling(request));
        CompletableFuture<GenerationResult> result = engine.submit(generation, new GenerationListener() {
                    @Override
                    public void onToken(TokenEvent event) {
                        timing.token(System.nanoTime());
                    }

                    @Override
                    public void onComplete(GenerationResult done) {
                        timing.endNanos = System.nanoTime();
                        timing.tokens = done.completionTokens();
                    }
                })
                .result();
        return result.thenComposeAsync(
                done -> {
                    if (done.error() != null) {
                        throw new IllegalStateException("benchmark request failed: " + done.error());
                    }
                    return bareConversation(
                            engine,
                            workload,
                            run,
                            conversation,
                            turn + 1,
                            done.conversationTokens(),
                            timings,
                            submitter);
                },
                submitter);
    }

    /**
     * Runs the workload through the operator: prompts to the prompt topic, answers from the stream and completion
     * topics.
     */
    public static Stats throughKafka(
            Map<String, Object> producerSettings,
            Map<String, Object> consumerSettings,
            dev.yulan.topology.topics.Topics topics,
            Workload workload,
            String run)
            throws InterruptedException {
        Map<String, Timing> timings = new ConcurrentHashMap<>();
        Map<String, CompletableFuture<Completion>> completions = new ConcurrentHashMap<>();
        CompletionFeed.Listener listener = new CompletionFeed.Listener() {
            @Override
            public void onChunk(CompletionChunk chunk) {
                Timing timing = timings.get(chunk.getRequestId());
                if (timing != null && !chunk.getTokenIds().isEmpty()) {
                    timing.token(System.nanoTime());
                }
            }

            @Override
            public void onCompletion(Completion completion) {
                Timing timing = timings.get(completion.getRequestId());
                if (timing != null) {
                    long now = System.nanoTime();
                    timing.token(now);
                    timing.endNanos = now;
                    timing.tokens = completion.getUsage().getCompletionTokens();
                }
                completions
                        .computeIfAbsent(completion.getRequestId(), id -> new CompletableFuture<>())
                        .complete(completion);
            }
        };
        ExecutorService submitter = Executors.newSingleThreadExecutor();
        try (CompletionFeed feed = CompletionFeed.start(consumerSettings, topics, CompletionFeed.Start.END, listener);
                PromptSender sender = new PromptSender(
                        producerSettings, topics.prompts(), dev.yulan.schemas.codec.RecordFormat.AVRO)) {
            long start = System.nanoTime();
            List<CompletableFuture<Void>> conversations = new ArrayList<>();
            for (int c = 0; c < workload.conversations(); c++) {
                conversations.add(kafkaConversation(sender, workload, run, c, 0, timings, completions, submitter));
            }
            await(CompletableFuture.allOf(conversations.toArray(CompletableFuture[]::new)));
            if (feed.failure() != null) {
                throw new IllegalStateException(
                        "reading completions failed: " + feed.failure().getMessage());
            }
            return stats(timings, System.nanoTime() - start);
        } finally {
            submitter.shutdownNow();
        }
    }

    private static CompletableFuture<Void> kafkaConversation(
            PromptSender sender,
            Workload workload,
            String run,
            int conversation,
            int turn,
            Map<String, Timing> timings,
            Map<String, CompletableFuture<Completion>> completions,
            ExecutorService submitter) {
        if (turn == workload.turns()) {
            return CompletableFuture.completedFuture(null);
        }
        PromptRequest request = request(run, conversation, turn, workload.maxTokens());
        CompletableFuture<Completion> done =
                completions.computeIfAbsent(request.getRequestId(), id -> new CompletableFuture<>());
        timings.put(request.getRequestId(), new Timing(System.nanoTime()));
        sender.sendAsync(request.getConversationId(), request);
        sender.flush();
        return done.thenComposeAsync(
                completion -> {
                    if (completion.getError() != null) {
                        throw new IllegalStateException("benchmark request failed: " + completion.getError());
                    }
                    return kafkaConversation(
                            sender, workload, run, conversation, turn + 1, timings, completions, submitter);
                },
                submitter);
    }

    private static void await(CompletableFuture<Void> all) throws InterruptedException {
        try {
            all.get(TIMEOUT.toMinutes(), TimeUnit.MINUTES);
        } catch (TimeoutException e) {
            throw new IllegalStateException("the benchmark did not finish within " + TIMEOUT.toMinutes() + " minutes");
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable cause = e.getCause() instanceof java.util.concurrent.CompletionException c && c.getCause() != null
                    ? c.getCause()
                    : e.getCause();
            throw new IllegalStateException(cause.getMessage(), cause);
        }
    }

    private static Stats stats(Map<String, Timing> timings, long wallNanos) {
        List<Double> ttft = new ArrayList<>();
        List<Double> itl = new ArrayList<>();
        List<Double> e2e = new ArrayList<>();
        long tokens = 0;
        for (Timing t : timings.values()) {
            tokens += t.tokens;
            ttft.add((t.firstTokenNanos - t.sentNanos) / 1e6);
            e2e.add((t.endNanos - t.sentNanos) / 1e6);
            if (t.tokens > 1) {
                itl.add((t.endNanos - t.firstTokenNanos) / 1e6 / (t.tokens - 1));
            }
        }
        return new Stats(
                timings.size(),
                tokens,
                wallNanos / 1e9,
                Percentiles.of(ttft),
                Percentiles.of(itl),
                Percentiles.of(e2e));
    }
}
