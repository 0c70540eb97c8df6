package dev.yulan.topology.processor;

import dev.yulan.inference.engine.ChatMessage;
import dev.yulan.inference.engine.Engine;
import dev.yulan.inference.engine.FinishReason;
import dev.yulan.inference.engine.GenerationHandle;
import dev.yulan.inference.engine.GenerationListener;
import dev.yulan.inference.engine.GenerationRequest;
import dev.yulan.inference.engine.GenerationResult;
import dev.yulan.inference.engine.InvalidRequestException;
import dev.yulan.inference.engine.ModelInfo;
import dev.yulan.inference.engine.Prompt;
import dev.yulan.inference.engine.TokenEvent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;

/**
 * A deterministic engine for topology tests. Its "tokenizer" maps each character of the rendered prompt to one token;
 * its generated tokens are lowercase letters, a pure function of (prompt tokens, seed, index), so a request submitted
 * twice generates the same tokens. Generation happens only when the test says so ({@link #step}, {@link #finish}), on
 * the test's thread or on another one ({@link #finishAllOnAnotherThread}), so tests control timing exactly.
 */
final class FakeEngine implements Engine {

    static final int CONTEXT = 200;

    private final List<GenerationRequest> submitted = new ArrayList<>();
    private final Map<String, Job> running = new LinkedHashMap<>();
    private final List<Integer> droppedShards = new ArrayList<>();
    private final Map<String, String> failing = new LinkedHashMap<>();

    private static final class Job {
        final GenerationRequest request;
        final GenerationListener listener;
        final int[] promptTokens;
        final int[] tokens;
        final int cached;
        final CompletableFuture<GenerationResult> result = new CompletableFuture<>();
        int next;

        Job(GenerationRequest request, GenerationListener listener, int[] promptTokens, int cached) {
            this.request = request;
            this.listener = listener;
            this.promptTokens = promptTokens;
            this.cached = cached;
            this.tokens = generate(request, promptTokens);
        }
    }

    @Override
    public synchronized GenerationHandle submit(GenerationRequest request, GenerationListener listener) {
        if (running.containsKey(request.requestId())) {
            throw new InvalidRequestException("request id " + request.requestId() + " is already running");
        }
        int[] prompt = tokenize(request.prompt());
        if (prompt.length == 0) {
            throw new InvalidRequestException("empty prompt");
        }
        if (prompt.length + 1 > CONTEXT) {
            throw new InvalidRequestException("prompt is " + prompt.length + " tokens, the context holds " + CONTEXT);
        }
        int cached = request.prompt() instanceof Prompt.Continue c ? c.history().length : 0;
        submitted.add(request);
        Job job = new Job(request, listener, prompt, cached);
        running.put(request.requestId(), job);
        return new GenerationHandle(request.requestId(), prompt.length, job.result);
    }

    /** Makes the request with this id finish with an error after its tokens. */
    synchronized void failWith(String requestId, String error) {
        failing.put(requestId, error);
    }

    /** Emits the next {@code count} tokens of a running request on the caller's thread. */
    synchronized void step(String requestId, int count) {
        Job job = job(requestId);
        for (int i = 0; i < count && job.next < job.tokens.length; i++, job.next++) {
            job.listener.onToken(
                    new TokenEvent(requestId, job.next, job.tokens[job.next], text(job.tokens[job.next]), Float.NaN));
        }
    }

    /** Emits a running request's remaining tokens and completes it. */
    synchronized void finish(String requestId) {
        Job job = job(requestId);
        step(requestId, job.tokens.length);
        running.remove(requestId);
        String error = failing.remove(requestId);
        complete(job, error == null ? FinishReason.LENGTH : FinishReason.ERROR, error);
    }

    synchronized void finishAll() {
        for (String id : List.copyOf(running.keySet())) {
            finish(id);
        }
    }

    /** Like {@link #finishAll()}, with every event delivered on an engine thread as the real engine does. */
    void finishAllOnAnotherThread() throws InterruptedException {
        Thread thread = Thread.ofPlatform().name("fake-engine").start(this::finishAll);
        thread.join();
    }

    @Override
    public synchronized boolean cancel(String requestId) {
        Job job = running.remove(requestId);
        if (job == null) {
            return false;
        }
        complete(job, FinishReason.CANCELLED, null);
        return true;
    }

    @Override
    public synchronized void dropShard(int shard) {
        droppedShards.add(shard);
        for (Job job : List.copyOf(running.values())) {
            if (job.request.shard() == shard) {
                cancel(job.request.requestId());
            }
        }
    }

    @Override
    public ModelInfo model() {
        return new ModelInfo("fake-model", CONTEXT, 128);
    }

    @Override
    public void close() {}

    synchronized List<GenerationRequest> submitted() {
        return List.copyOf(submitted);
    }

    synchronized List<String> runningIds() {
        return List.copyOf(running.keySet());
    }

    synchronized List<Integer> droppedShards() {
        return List.copyOf(droppedShards);
    }

    /** The tokens a request would generate in full, for assertions. */
    static int[] expectedTokens(GenerationRequest request) {
        return generate(request, tokenize(request.prompt()));
    }

    static String text(int token) {
        return String.valueOf((char) token);
    }

    static String text(int[] tokens) {
        StringBuilder s = new StringBuilder();
        for (int t : tokens) {
            s.append(text(t));
        }
        return s.toString();
    }

    private void complete(Job job, FinishReason reason, String error) {
        int[] generated = Arrays.copyOf(job.tokens, job.next);
        int[] conversation = IntStream.concat(Arrays.stream(job.promptTokens), Arrays.stream(generated))
                .toArray();
        GenerationResult result = new GenerationResult(
                job.request.requestId(),
                text(generated),
                reason,
                job.promptTokens.length,
                job.cached,
                generated.length,
                conversation,
                1_000_000L,
                2_000_000L,
                3_000_000L,
                error);
        job.listener.onComplete(result);
        job.result.complete(result);
    }

    private Job job(String requestId) {
        Job job = running.get(requestId);
        if (job == null) {
            throw new IllegalStateException("not running: " + requestId + " (running: " + running.keySet() + ")");
        }
        return job;
    }

    static int[] tokenize(Prompt prompt) {
        return switch (prompt) {
            case Prompt.Text text -> text.text().chars().toArray();
            case Prompt.Chat chat -> render(chat.messages()).chars().toArray();
            case Prompt.Tokens tokens -> tokens.ids().clone();
            case Prompt.Continue next ->
                IntStream.concat(
                                Arrays.stream(next.history()),
                                render(next.messages()).chars())
                        .toArray();
        };
    }

    private static String render(List<ChatMessage> messages) {
        StringBuilder s = new StringBuilder();
        for (ChatMessage m : messages) {
            s.append('<').append(m.role()).append('>').append(m.content());
        }
        return s.append("<assistant>").toString();
    }

    private static int[] generate(GenerationRequest request, int[] prompt) {
        long seed = request.sampling().seed() != null
                ? request.sampling().seed()
                : request.requestId().hashCode();
        long mix = seed * 31 + Arrays.hashCode(prompt);
        int[] tokens = new int[request.sampling().maxTokens()];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = 'a' + (int) Math.floorMod(mix + 7L * i * i + 3L * i, 26L);
        }
        return tokens;
    }
}
