package dev.yulan.topology.processor;

import dev.yulan.inference.engine.Engine;
import dev.yulan.inference.engine.EngineClosedException;
import dev.yulan.inference.engine.FinishReason;
import dev.yulan.inference.engine.GenerationRequest;
import dev.yulan.inference.engine.GenerationResult;
import dev.yulan.inference.engine.InvalidRequestException;
import dev.yulan.inference.engine.Prompt;
import dev.yulan.schemas.Completion;
import dev.yulan.schemas.CompletionChunk;
import dev.yulan.schemas.DeadLetter;
import dev.yulan.schemas.PromptRequest;
import dev.yulan.schemas.Timings;
import dev.yulan.schemas.Usage;
import dev.yulan.schemas.codec.AvroCodec;
import dev.yulan.schemas.codec.RecordCodec;
import dev.yulan.schemas.state.ConversationHistory;
import dev.yulan.schemas.state.InflightRequest;
import dev.yulan.topology.config.OperatorConfig;
import dev.yulan.topology.store.InflightKey;
import dev.yulan.topology.store.StoreNames;
import dev.yulan.topology.store.TokenIds;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.Cancellable;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The durable inbox of one task (one partition of the prompt topic). {@code process()} validates a prompt, writes it to
 * the changelogged {@code inflight} store and, if its conversation is idle and the task below its limit, submits it to
 * the engine with the partition as KV shard; it never waits for generation. Engine threads fill the task's
 * {@link EngineEvents}; a wall-clock punctuator drains them on the stream thread, forwards chunks and final completions,
 * records how many tokens were sent, and on completion removes the request, stores the turn's token ids in
 * {@code history} and submits the conversation's next request. On init every request left in {@code inflight} is
 * submitted again: sampling is deterministic, so it regenerates the same tokens, and those already sent are skipped.
 */
final class GenerationProcessor implements Processor<byte[], byte[], byte[], byte[]> {

    private final Engine engine;
    private final OperatorConfig config;
    private final PromptReader reader;
    private final AvroCodec<PromptRequest> requestCodec = AvroCodec.of(PromptRequest.class);
    private final RecordCodec<Completion> completionCodec;
    private final RecordCodec<CompletionChunk> chunkCodec;
    private final RecordCodec<DeadLetter> deadLetterCodec;
    private final String modelId;
    private final DeadLetterListener deadLetters;
    private final RunningGenerations instance;

    private ProcessorContext<byte[], byte[]> context;
    private KeyValueStore<String, InflightRequest> inflight;
    private KeyValueStore<String, ConversationHistory> history;
    private int shard;
    private EngineEvents events;
    private Cancellable punctuation;
    /** Set once the engine cancelled one of this task's requests: it is shutting down, so nothing more is submitted. */
    private boolean engineReleased;

    /** Submitted to the engine, by request id. */
    private final Map<String, Submission> running = new HashMap<>();
    /** Conversations with at least one request in the store. */
    private final Set<String> activeConversations = new HashSet<>();
    /** Request ids in the store (to refuse duplicates). */
    private final Set<String> storedRequestIds = new HashSet<>();
    /** Heads of idle conversations waiting for a free slot: highest priority first, then arrival. */
    private final PriorityQueue<Waiting> waiting = new PriorityQueue<>(Comparator.comparingInt(Waiting::priority)
            .reversed()
            .thenComparingLong(w -> w.key().offset()));

    private record Waiting(InflightKey key, int priority) {}

    GenerationProcessor(
            Engine engine, OperatorConfig config, RunningGenerations instance, DeadLetterListener deadLetters) {
        this.engine = engine;
        this.deadLetters = deadLetters;
        this.config = config;
        this.instance = instance;
        int limit = Math.min(config.maxTokensLimit(), engine.model().contextLength());
        this.reader = new PromptReader(Math.min(config.defaultMaxTokens(), limit), limit);
        this.completionCodec = RecordCodec.of(Completion.class, config.outputFormat());
        this.chunkCodec = RecordCodec.of(CompletionChunk.class, config.outputFormat());
        this.deadLetterCodec = RecordCodec.of(DeadLetter.class, config.outputFormat());
        this.modelId =
                config.modelId() != null ? config.modelId() : engine.model().id();
    }

    @Override
    public void init(ProcessorContext<byte[], byte[]> context) {
        this.context = context;
        this.inflight = context.getStateStore(StoreNames.INFLIGHT);
        this.history = context.getStateStore(StoreNames.HISTORY);
        this.shard = context.taskId().partition();
        this.events = new EngineEvents();
        this.engineReleased = false;
        recoverInflight();
        this.punctuation =
                context.schedule(config.punctuationInterval(), PunctuationType.WALL_CLOCK_TIME, now -> drain());
    }

    /** Rebuilds the in-memory view of the store; the first punctuation (or record) submits the heads again. */
    private void recoverInflight() {
        try (KeyValueIterator<String, InflightRequest> all = inflight.all()) {
            while (all.hasNext()) {
                KeyValue<String, InflightRequest> entry = all.next();
                InflightKey key = InflightKey.decode(entry.key);
                storedRequestIds.add(entry.value.getRequestId());
                if (activeConversations.add(key.conversationId())) {
                    waiting.add(new Waiting(key, entry.value.getPriority()));
                }
            }
        }
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        RecordMetadata source = context.recordMetadata().orElseThrow();
        AcceptedPrompt accepted;
        try {
            accepted = reader.read(record.key(), record.value(), source.topic(), source.partition(), source.offset());
            if (storedRequestIds.contains(accepted.requestId())) {
                throw new RejectedInputException(
                        "request_id '" + accepted.requestId() + "' is already in flight", accepted.requestId());
            }
        } catch (RejectedInputException e) {
            deadLetter(
                    source.topic(),
                    source.partition(),
                    source.offset(),
                    record.timestamp(),
                    record.key(),
                    record.value(),
                    e.getMessage(),
                    e.requestId(),
                    record.timestamp());
            return;
        }
        InflightKey key = new InflightKey(accepted.conversationId(), source.offset());
        PromptRequest request = accepted.request();
        InflightRequest entry = InflightRequest.newBuilder()
                .setRequestId(accepted.requestId())
                .setConversationId(accepted.conversationId())
                .setRequest(ByteBuffer.wrap(requestCodec.encode(request)))
                .setPriority(request.getPriority())
                .setSourceTopic(source.topic())
                .setSourcePartition(source.partition())
                .setSourceOffset(source.offset())
                .setSourceTimestamp(record.timestamp())
                .setSourceKey(record.key() == null ? null : ByteBuffer.wrap(record.key()))
                .setSourceValue(ByteBuffer.wrap(record.value()))
                .setReceivedMs(context.currentSystemTimeMs())
                .setEmittedTokens(0)
                .setNextSeq(0)
                .build();
        inflight.put(key.encode(), entry);
        storedRequestIds.add(accepted.requestId());
        if (activeConversations.add(accepted.conversationId())) {
            waiting.add(new Waiting(key, request.getPriority()));
        }
        fillSlots(record.timestamp());
    }

    /** Submits waiting conversation heads while the task is below its limit. */
    private void fillSlots(long timestamp) {
        if (engineReleased || !instance.starting()) {
            return; // the engine or the instance is going away: what waits stays in the store for the next owner
        }
        while (running.size() < config.maxInflightPerTask() && !waiting.isEmpty()) {
            submit(waiting.poll().key(), timestamp);
        }
    }

    private void submit(InflightKey key, long timestamp) {
        InflightRequest entry = inflight.get(key.encode());
        if (entry == null) {
            advance(key.conversationId(), timestamp);
            return;
        }
        PromptRequest request = requestCodec.decode(bytes(entry.getRequest()));
        ConversationHistory turns = history.get(key.conversationId());
        Submission submission = new Submission(
                entry.getRequestId(),
                key,
                request.getStream(),
                TurnPlanner.writesHistory(request),
                entry.getEmittedTokens(),
                entry.getNextSeq());
        try {
            Prompt prompt = TurnPlanner.prompt(request, turns == null ? null : TokenIds.unpack(turns.getTokenIds()));
            GenerationRequest generation = new GenerationRequest(
                    entry.getRequestId(), shard, key.conversationId(), prompt, TurnPlanner.sampling(request));
            startRunning(submission);
            engine.submit(generation, events.listenerFor(submission));
        } catch (EngineClosedException e) {
            // The engine went away before this task heard of it: the request stays in the store for the next owner.
            stopRunning(entry.getRequestId());
            engineReleased = true;
        } catch (RejectedInputException | InvalidRequestException e) {
            stopRunning(entry.getRequestId());
            deadLetter(
                    entry.getSourceTopic(),
                    entry.getSourcePartition(),
                    entry.getSourceOffset(),
                    entry.getSourceTimestamp(),
                    entry.getSourceKey() == null ? null : bytes(entry.getSourceKey()),
                    bytes(entry.getSourceValue()),
                    e.getMessage(),
                    entry.getRequestId(),
                    timestamp);
            remove(key, entry.getRequestId());
            advance(key.conversationId(), timestamp);
        }
    }

    /** After a conversation's head is gone: its next request waits for a slot, or the conversation is idle. */
    private void advance(String conversationId, long timestamp) {
        try (KeyValueIterator<String, InflightRequest> next =
                inflight.prefixScan(InflightKey.prefix(conversationId), new StringSerializer())) {
            if (next.hasNext()) {
                KeyValue<String, InflightRequest> head = next.next();
                waiting.add(new Waiting(InflightKey.decode(head.key), head.value.getPriority()));
            } else {
                activeConversations.remove(conversationId);
            }
        }
    }

    private void startRunning(Submission submission) {
        if (running.put(submission.requestId, submission) == null) {
            instance.add(1);
        }
    }

    private void stopRunning(String requestId) {
        if (running.remove(requestId) != null) {
            instance.add(-1);
        }
    }

    private void remove(InflightKey key, String requestId) {
        inflight.delete(key.encode());
        storedRequestIds.remove(requestId);
    }

    /** The punctuator: forwards what the engine produced since the last call, then refills the engine. */
    private void drain() {
        long now = context.currentSystemTimeMs();
        Map<Submission, GenerationResult> finished = new LinkedHashMap<>();
        Set<Submission> touched = new LinkedHashSet<>();
        List<Submission> released = new ArrayList<>();
        for (EngineEvents.Event event : events.drain()) {
            Submission submission = event.submission();
            if (running.get(submission.requestId) != submission) {
                continue; // an earlier submission's event
            }
            switch (event) {
                case EngineEvents.Token token -> {
                    int index = token.token().index();
                    submission.deliveredChars += token.token().textDelta().length();
                    if (index >= submission.emittedTokens + submission.pendingTokenIds.size()) {
                        submission.pendingTokenIds.add(token.token().tokenId());
                        submission.pendingText.append(token.token().textDelta());
                        touched.add(submission);
                    }
                }
                case EngineEvents.Done done -> {
                    if (done.result().finishReason() == FinishReason.CANCELLED) {
                        released.add(submission);
                    } else {
                        finished.put(submission, done.result());
                    }
                }
            }
        }
        for (Submission submission : touched) {
            if (!finished.containsKey(submission)) {
                forwardChunk(submission, null, now);
            }
        }
        for (Map.Entry<Submission, GenerationResult> done : finished.entrySet()) {
            complete(done.getKey(), done.getValue(), now);
        }
        for (Submission submission : released) {
            // This task never cancels: the engine let go of the request (it is closing, or dropped the shard). That is
            // not the request's end: it stays in the store, ahead of its conversation, and runs again on the next
            // init, with the tokens sent so far skipped.
            stopRunning(submission.requestId);
            engineReleased = true;
        }
        fillSlots(now);
    }

    private void forwardChunk(Submission submission, FinishReason finish, long now) {
        if (!submission.stream || (submission.pendingTokenIds.isEmpty() && finish == null)) {
            submission.pendingTokenIds.clear();
            submission.pendingText.setLength(0);
            return;
        }
        String conversationId = submission.key.conversationId();
        CompletionChunk chunk = new CompletionChunk(
                submission.requestId,
                conversationId,
                submission.nextSeq,
                submission.pendingText.toString(),
                List.copyOf(submission.pendingTokenIds),
                finish != null,
                finish == null ? null : finish.wireName());
        context.forward(new Record<>(utf8(conversationId), chunkCodec.encode(chunk), now), TopologyFactory.CHUNKS_SINK);
        submission.emittedTokens += submission.pendingTokenIds.size();
        submission.nextSeq++;
        submission.pendingTokenIds.clear();
        submission.pendingText.setLength(0);
        if (finish == null) {
            InflightRequest entry = inflight.get(submission.key.encode());
            if (entry != null) {
                entry.setEmittedTokens(submission.emittedTokens);
                entry.setNextSeq(submission.nextSeq);
                inflight.put(submission.key.encode(), entry);
            }
        }
    }

    private void complete(Submission submission, GenerationResult result, long now) {
        String text = result.text() == null ? "" : result.text();
        if (text.length() > submission.deliveredChars) {
            submission.pendingText.append(text, submission.deliveredChars, text.length());
        }
        forwardChunk(submission, result.finishReason(), now);
        InflightRequest entry = inflight.get(submission.key.encode());
        stopRunning(submission.requestId);
        if (entry == null) {
            return;
        }
        PromptRequest request = requestCodec.decode(bytes(entry.getRequest()));
        String conversationId = submission.key.conversationId();
        Completion completion = new Completion(
                submission.requestId,
                conversationId,
                modelId,
                result.text() == null ? "" : result.text(),
                result.finishReason().wireName(),
                new Usage(
                        result.promptTokens(),
                        result.completionTokens(),
                        result.cachedTokens(),
                        result.promptTokens() + result.completionTokens()),
                new Timings(
                        millis(result.queueNanos()),
                        millis(result.timeToFirstTokenNanos()),
                        millis(result.totalNanos())),
                result.error(),
                request.getMetadata());
        context.forward(
                new Record<>(utf8(conversationId), completionCodec.encode(completion), now),
                TopologyFactory.COMPLETIONS_SINK);
        boolean finishedNormally =
                result.finishReason() == FinishReason.STOP || result.finishReason() == FinishReason.LENGTH;
        if (submission.writesHistory && finishedNormally && result.conversationTokens() != null) {
            ConversationHistory previous = history.get(conversationId);
            history.put(
                    conversationId,
                    new ConversationHistory(
                            TokenIds.pack(result.conversationTokens()),
                            previous == null ? 1 : previous.getTurns() + 1,
                            now));
        }
        remove(submission.key, submission.requestId);
        advance(conversationId, now);
    }

    private void deadLetter(
            String topic,
            int partition,
            long offset,
            long sourceTimestamp,
            byte[] key,
            byte[] value,
            String reason,
            String requestId,
            long timestamp) {
        DeadLetter letter = new DeadLetter(
                topic,
                partition,
                offset,
                sourceTimestamp,
                key == null ? null : ByteBuffer.wrap(key),
                value == null ? null : ByteBuffer.wrap(value),
                reason,
                requestId);
        context.forward(new Record<>(key, deadLetterCodec.encode(letter), timestamp), TopologyFactory.DEAD_LETTER_SINK);
        deadLetters.deadLettered(reason);
    }

    @Override
    public void close() {
        if (punctuation != null) {
            punctuation.cancel();
        }
        if (events != null) {
            events.close();
        }
        instance.add(-running.size());
        running.clear();
        waiting.clear();
        activeConversations.clear();
        storedRequestIds.clear();
        // The task's KV cache lives and dies with it; a new owner rebuilds it from history by prefill.
        engine.dropShard(shard);
    }

    private static double millis(long nanos) {
        return nanos / 1e6;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] bytes(ByteBuffer buffer) {
        ByteBuffer view = buffer.duplicate();
        byte[] bytes = new byte[view.remaining()];
        view.get(bytes);
        return bytes;
    }
}
