package dev.yulan.inference.scheduler;

import dev.yulan.inference.cache.BlockPool;
import dev.yulan.inference.cache.BlockTable;
import dev.yulan.inference.engine.FinishReason;
import dev.yulan.inference.engine.GenerationListener;
import dev.yulan.inference.engine.GenerationRequest;
import dev.yulan.inference.engine.GenerationResult;
import dev.yulan.inference.model.ForwardBatch;
import dev.yulan.inference.model.Transformer;
import dev.yulan.inference.sampling.Sampler;
import dev.yulan.inference.sampling.SamplingState;
import dev.yulan.inference.sampling.StopMatcher;
import dev.yulan.inference.tokenizer.IncrementalDetokenizer;
import dev.yulan.inference.tokenizer.Tokenizer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous batching on one thread. Every step runs every running decode plus as much chunked prefill as the step's
 * token budget allows; requests that arrive join at the next step; when the engine was idle, a short window lets a
 * burst gather first. Waiting requests are admitted round-robin over shards, so one busy partition cannot starve the
 * others. When KV memory runs out the most recently admitted sequence is preempted (its blocks freed, to be recomputed
 * later), which deterministic sampling makes invisible to the client.
 */
public final class Scheduler implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Scheduler.class);

    private final Transformer model;
    private final BlockPool pool;
    private final SchedulerConfig config;
    private final int vocab;
    private final Sampler sampler;
    private final Tokenizer tokenizer;
    private final List<Integer> eosIds;
    private final int[] turnClosing;

    private final LinkedBlockingQueue<Runnable> commands = new LinkedBlockingQueue<>();
    private final Map<Integer, ArrayDeque<Sequence>> waitingByShard = new LinkedHashMap<>();
    private final List<Sequence> running = new ArrayList<>();
    private final Map<String, Sequence> byId = new java.util.HashMap<>();
    private final ForwardBatch batch;
    private final float[] logits;
    private final Sequence[] logitOwner;
    private final Map<Sequence, Integer> planned = new LinkedHashMap<>();
    private final Thread thread;
    private volatile boolean stopping;
    private long admissions;

    private final AtomicLong preemptions = new AtomicLong();
    private final AtomicLong steps = new AtomicLong();
    private final AtomicLong stepRows = new AtomicLong();
    private final AtomicLong promptTokensComputed = new AtomicLong();
    private final AtomicLong tokensGenerated = new AtomicLong();
    private volatile int runningCount;
    private volatile int waitingCount;
    private volatile int lastStepRows;
    private volatile SchedulerStats snapshot;

    /**
     * @param turnClosing the tokens that close an assistant turn in the chat template, appended to each result's
     *     conversation tokens
     */
    public Scheduler(
            Transformer model, BlockPool pool, SchedulerConfig config, Tokenizer tokenizer, int[] turnClosing) {
        this.turnClosing = turnClosing.clone();
        this.tokenizer = tokenizer;
        this.eosIds = java.util.Arrays.stream(tokenizer.eosIds()).boxed().toList();
        this.model = model;
        this.pool = pool;
        this.config = config;
        this.vocab = model.config().vocabSize();
        this.sampler = new Sampler(vocab);
        this.batch = new ForwardBatch(config.maxBatchTokens());
        this.logits = new float[config.maxRunning() * vocab];
        this.logitOwner = new Sequence[config.maxRunning()];
        this.thread = Thread.ofPlatform().name("yulan-scheduler").daemon().unstarted(this::loop);
        updateCounts();
        this.thread.start();
    }

    /**
     * Queues a request whose prompt is already tokenized (and validated); it joins at the next step.
     *
     * @return the result to come; the listener hears every token first
     */
    public CompletableFuture<GenerationResult> submit(
            GenerationRequest request, int[] promptTokens, GenerationListener listener) {
        Sequence sequence = new Sequence(
                request,
                promptTokens,
                listener,
                SamplingState.forRequest(request.sampling(), request.requestId(), promptTokens),
                new IncrementalDetokenizer(tokenizer, promptTokens, true),
                StopMatcher.of(request.sampling(), eosIds),
                turnClosing);
        commands.add(() -> {
            if (byId.putIfAbsent(sequence.request.requestId(), sequence) != null) {
                sequence.finish(FinishReason.ERROR, "request " + sequence.request.requestId() + " is already running");
                return;
            }
            waitingByShard
                    .computeIfAbsent(sequence.shard(), s -> new ArrayDeque<>())
                    .addLast(sequence);
        });
        return sequence.result;
    }

    public void cancel(String requestId) {
        commands.add(() -> {
            Sequence s = byId.get(requestId);
            if (s != null) {
                end(s, FinishReason.CANCELLED, null);
            }
        });
    }

    public void dropShard(int shard) {
        commands.add(() -> {
            for (Sequence s : new ArrayList<>(byId.values())) {
                if (s.shard() == shard) {
                    end(s, FinishReason.CANCELLED, null);
                }
            }
            waitingByShard.remove(shard);
            pool.dropShard(shard);
        });
    }

    /** The latest snapshot, published by the scheduler thread whenever its state changes. Safe from any thread. */
    public SchedulerStats stats() {
        return snapshot;
    }

    private void loop() {
        try {
            while (!stopping) {
                boolean idle = running.isEmpty() && waitingCount == 0;
                if (idle) {
                    Runnable first = commands.poll(100, TimeUnit.MILLISECONDS);
                    if (first == null) {
                        continue;
                    }
                    first.run();
                    // A burst usually arrives together: give it a moment to gather.
                    if (!config.batchingWindow().isZero()) {
                        Thread.sleep(config.batchingWindow());
                    }
                }
                drainCommands();
                admit();
                if (!running.isEmpty()) {
                    step();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            LOG.error("scheduler failed; failing every request", t);
            for (Sequence s : new ArrayList<>(byId.values())) {
                end(s, FinishReason.ERROR, "engine failure: " + t);
            }
        }
    }

    private void drainCommands() {
        for (Runnable c; (c = commands.poll()) != null; ) {
            c.run();
        }
        updateCounts();
    }

    /** Admits waiting sequences round-robin over shards while there is room. */
    private void admit() {
        boolean progress = true;
        while (progress && running.size() < config.maxRunning()) {
            progress = false;
            Iterator<Map.Entry<Integer, ArrayDeque<Sequence>>> shards =
                    waitingByShard.entrySet().iterator();
            while (shards.hasNext() && running.size() < config.maxRunning()) {
                Map.Entry<Integer, ArrayDeque<Sequence>> entry = shards.next();
                ArrayDeque<Sequence> queue = entry.getValue();
                Sequence next = queue.peekFirst();
                if (next == null) {
                    shards.remove();
                    continue;
                }
                // Admit only if the first chunk fits even without a cached prefix; otherwise wait for memory. Checked
                // before the prefix lookup, so a waiting sequence neither counts as a cache query every step nor
                // refreshes its cached blocks' place in the LRU order.
                int firstChunk = Math.min(next.length(), config.maxBatchTokens());
                int blocks = (firstChunk + pool.layout().blockTokens() - 1)
                        / pool.layout().blockTokens();
                if (blocks > pool.availableBlocks(next.shard()) && !running.isEmpty()) {
                    continue;
                }
                BlockTable table = new BlockTable(pool, next.shard());
                table.attachCachedPrefix(next.tokenArray(), next.length() - 1);
                queue.pollFirst();
                next.admitted(table, admissions++);
                running.add(next);
                progress = true;
            }
        }
        // Rotate so the next admission round starts with another shard.
        if (waitingByShard.size() > 1) {
            Map.Entry<Integer, ArrayDeque<Sequence>> first =
                    waitingByShard.entrySet().iterator().next();
            waitingByShard.remove(first.getKey());
            waitingByShard.put(first.getKey(), first.getValue());
        }
        updateCounts();
    }

    /** Builds one batch (decodes first, then prefill chunks), runs it, and samples. */
    private void step() {
        // Plan: decodes first (one row each), then prefill chunks, oldest admission first, within the token budget.
        // Reserving KV may preempt a later sequence, so rows are added only once every reservation is done.
        List<Sequence> order = new ArrayList<>(running);
        order.sort(Comparator.comparingInt((Sequence s) -> s.pending() == 1 ? 0 : 1)
                .thenComparingLong(s -> s.admissionOrder));
        int budget = config.maxBatchTokens();
        planned.clear();
        for (Sequence s : order) {
            if (s.state != Sequence.State.RUNNING || budget == 0) {
                continue;
            }
            int rows = Math.min(s.pending(), budget);
            if (reserve(s, s.computed() + rows)) {
                planned.put(s, rows);
                budget -= rows;
            }
        }
        batch.clear();
        int logitCount = 0;
        for (Map.Entry<Sequence, Integer> plan : planned.entrySet()) {
            Sequence s = plan.getKey();
            if (s.state != Sequence.State.RUNNING) {
                continue;
            }
            int from = s.computed();
            int to = from + plan.getValue();
            for (int p = from; p < to; p++) {
                boolean wantLogits = p == s.length() - 1;
                batch.add(s.table, s.token(p), p, wantLogits);
                if (wantLogits) {
                    logitOwner[logitCount++] = s;
                }
            }
        }
        if (batch.rows() == 0) {
            return;
        }
        model.forward(batch, pool, logits);
        steps.incrementAndGet();
        stepRows.addAndGet(batch.rows());
        lastStepRows = batch.rows();

        // Record the new KV (publishing full blocks to the prefix cache), then sample where a token is due.
        for (Map.Entry<Sequence, Integer> plan : planned.entrySet()) {
            Sequence s = plan.getKey();
            if (s.state == Sequence.State.RUNNING) {
                if (s.pending() > 1) {
                    promptTokensComputed.addAndGet(plan.getValue());
                }
                s.table.advance(s.computed() + plan.getValue(), s.tokenArray());
            }
        }
        planned.clear();
        for (int i = 0; i < logitCount; i++) {
            Sequence s = logitOwner[i];
            logitOwner[i] = null;
            if (s.state != Sequence.State.RUNNING) {
                continue;
            }
            s.sampleAndAppend(sampler, logits, i * vocab, vocab);
            tokensGenerated.incrementAndGet();
            FinishReason done = s.finishReason(config.maxContext());
            if (done != null) {
                end(s, done, null);
            }
        }
        updateCounts();
    }

    /** Makes room in the cache for {@code s} up to {@code tokens}, preempting later sequences if needed. */
    private boolean reserve(Sequence s, int tokens) {
        while (!s.table.reserve(tokens)) {
            Sequence victim = latestAdmittedOtherThan(s);
            if (victim == null) {
                if (running.size() == 1) {
                    end(
                            s,
                            FinishReason.ERROR,
                            "the KV cache cannot hold this sequence (" + tokens + " tokens); raise the KV cache size");
                } else {
                    preempt(s);
                }
                return false;
            }
            preempt(victim);
        }
        return true;
    }

    private Sequence latestAdmittedOtherThan(Sequence s) {
        Sequence latest = null;
        for (Sequence r : running) {
            if (r != s
                    && r.admissionOrder > s.admissionOrder
                    && (latest == null || r.admissionOrder > latest.admissionOrder)) {
                latest = r;
            }
        }
        return latest;
    }

    private void preempt(Sequence s) {
        LOG.debug("preempting {} to free KV memory", s.request.requestId());
        running.remove(s);
        s.preempted();
        waitingByShard.computeIfAbsent(s.shard(), k -> new ArrayDeque<>()).addFirst(s);
        preemptions.incrementAndGet();
    }

    private void end(Sequence s, FinishReason reason, String error) {
        running.remove(s);
        ArrayDeque<Sequence> queue = waitingByShard.get(s.shard());
        if (queue != null) {
            queue.remove(s);
        }
        byId.remove(s.request.requestId());
        try {
            s.finish(reason, error);
        } catch (RuntimeException e) {
            LOG.warn("listener of {} failed", s.request.requestId(), e);
        }
    }

    /** Recounts the queues and publishes a stats snapshot; called on the scheduler thread only. */
    private void updateCounts() {
        runningCount = running.size();
        int waiting = 0;
        for (ArrayDeque<Sequence> q : waitingByShard.values()) {
            waiting += q.size();
        }
        waitingCount = waiting;
        snapshot = new SchedulerStats(
                runningCount,
                waitingCount,
                pool.capacity(),
                pool.usedBlocks(),
                pool.blocksByShard(),
                pool.prefixQueries(),
                pool.prefixHits(),
                preemptions.get(),
                steps.get(),
                stepRows.get(),
                lastStepRows,
                promptTokensComputed.get(),
                tokensGenerated.get());
    }

    @Override
    public void close() {
        stopping = true;
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Sequence s : new ArrayList<>(byId.values())) {
            end(s, FinishReason.CANCELLED, null);
        }
    }
}
