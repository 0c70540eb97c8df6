package dev.yulan.topology.metrics;

import dev.yulan.inference.engine.FinishReason;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.DoubleStream;
import org.apache.kafka.streams.KafkaStreams;

/**
 * The LLM serving meters, named as vLLM's dashboards expect them but under a {@code yulan_} prefix: {@code
 * yulan.time_to_first_token} is scraped as {@code yulan_time_to_first_token_seconds_bucket}, {@code
 * yulan.prompt_tokens} as {@code yulan_prompt_tokens_total}, and so on.
 *
 * <p>Thread-safe: the engine's threads and the stream threads record concurrently.
 */
public final class ServingMetrics implements AutoCloseable {

    public static final String PREFIX = "yulan.";

    // Buckets follow vLLM's, so the same dashboard panels and SLO queries work unchanged.
    private static final double[] TIME_TO_FIRST_TOKEN_BUCKETS = {
        0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
        160.0, 640.0, 2560.0
    };
    private static final double[] INTER_TOKEN_BUCKETS = {
        0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0
    };
    private static final double[] REQUEST_BUCKETS = {
        0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0,
        1920.0, 7680.0
    };
    private static final double[] BATCH_SIZE_BUCKETS = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};

    private final MeterRegistry registry;
    private final Timer timeToFirstToken;
    private final Timer interTokenLatency;
    private final Timer requestLatency;
    private final Timer queueTime;
    private final AtomicLong requestsRunning = new AtomicLong();
    private final AtomicLong requestsWaiting = new AtomicLong();
    private final Map<String, KvShard> kvCacheShards = new ConcurrentHashMap<>();
    private final DistributionSummary batchSize;
    private final Counter promptTokens;
    private final Counter generationTokens;
    private final Counter cachedPromptTokens;
    private final Counter prefixCacheQueries;
    private final Counter prefixCacheHits;
    private final Counter preemptions;
    private final Map<DeadLetterReason, Counter> deadLetters = new EnumMap<>(DeadLetterReason.class);
    private final Map<FinishReason, Counter> completions = new EnumMap<>(FinishReason.class);
    private final List<AutoCloseable> binders = new ArrayList<>();

    private record KvShard(AtomicLong usageBits, Gauge gauge) {}

    public ServingMetrics(MeterRegistry registry) {
        this.registry = registry;
        timeToFirstToken = timer(
                "time_to_first_token",
                "Time from request arrival to its first generated token.",
                TIME_TO_FIRST_TOKEN_BUCKETS);
        interTokenLatency =
                timer("inter_token_latency", "Time between consecutive generated tokens.", INTER_TOKEN_BUCKETS);
        requestLatency =
                timer("e2e_request_latency", "Time from request arrival to its final completion.", REQUEST_BUCKETS);
        queueTime = timer("request_queue_time", "Time a request waited before the engine began it.", REQUEST_BUCKETS);
        Gauge.builder(PREFIX + "num_requests_running", requestsRunning, AtomicLong::get)
                .description("Requests the engine is generating for right now.")
                .register(registry);
        Gauge.builder(PREFIX + "num_requests_waiting", requestsWaiting, AtomicLong::get)
                .description("Requests accepted but waiting for engine capacity.")
                .register(registry);
        batchSize = DistributionSummary.builder(PREFIX + "batch_size")
                .description("Sequences in one engine step.")
                .serviceLevelObjectives(BATCH_SIZE_BUCKETS)
                .register(registry);
        promptTokens = counter("prompt_tokens", "Prompt tokens processed (prefilled or served from cache).");
        generationTokens = counter("generation_tokens", "Tokens generated.");
        cachedPromptTokens = counter("prompt_tokens_cached", "Prompt tokens served from the prefix cache.");
        prefixCacheQueries = counter("prefix_cache_queries", "Prompt tokens looked up in the prefix cache.");
        prefixCacheHits = counter("prefix_cache_hits", "Prompt tokens found in the prefix cache.");
        preemptions = counter("num_preemptions", "Running requests preempted to free KV cache.");
        for (DeadLetterReason reason : DeadLetterReason.values()) {
            deadLetters.put(
                    reason,
                    Counter.builder(PREFIX + "dead_letters")
                            .description("Input records sent to the dead-letter topic.")
                            .tag("reason", reason.label())
                            .register(registry));
        }
        for (FinishReason reason : FinishReason.values()) {
            completions.put(
                    reason,
                    Counter.builder(PREFIX + "request_success")
                            .description("Requests finished, by why they finished.")
                            .tag("finished_reason", reason.wireName())
                            .register(registry));
        }
    }

    private Timer timer(String name, String description, double[] bucketSeconds) {
        return Timer.builder(PREFIX + name)
                .description(description)
                .serviceLevelObjectives(DoubleStream.of(bucketSeconds)
                        .mapToObj(seconds -> Duration.ofNanos(Math.round(seconds * 1e9)))
                        .toArray(Duration[]::new))
                .register(registry);
    }

    private Counter counter(String name, String description) {
        return Counter.builder(PREFIX + name).description(description).register(registry);
    }

    public MeterRegistry registry() {
        return registry;
    }

    public void recordTimeToFirstToken(Duration duration) {
        timeToFirstToken.record(duration);
    }

    public void recordInterTokenLatency(Duration duration) {
        interTokenLatency.record(duration);
    }

    /** End-to-end latency of one request: arrival to final completion. */
    public void recordRequestLatency(Duration duration) {
        requestLatency.record(duration);
    }

    public void recordQueueTime(Duration duration) {
        queueTime.record(duration);
    }

    public void setRequestsRunning(long count) {
        requestsRunning.set(count);
    }

    public void setRequestsWaiting(long count) {
        requestsWaiting.set(count);
    }

    /** KV cache usage of one shard (a stream task's cache), as a fraction in [0, 1]. */
    public void setKvCacheUsage(String shard, double fraction) {
        if (!(fraction >= 0 && fraction <= 1)) {
            throw new IllegalArgumentException("KV cache usage must be a fraction in [0, 1], got " + fraction);
        }
        kvCacheShards
                .computeIfAbsent(shard, this::registerKvShard)
                .usageBits()
                .set(Double.doubleToRawLongBits(fraction));
    }

    private KvShard registerKvShard(String shard) {
        AtomicLong bits = new AtomicLong(Double.doubleToRawLongBits(0));
        Gauge gauge = Gauge.builder(PREFIX + "kv_cache_usage_perc", bits, b -> Double.longBitsToDouble(b.get()))
                .description("Fraction of the shard's KV cache blocks in use (1 = full).")
                .tag("shard", shard)
                .register(registry);
        return new KvShard(bits, gauge);
    }

    /** Drops a shard's gauge, e.g. when its task moves to another instance. */
    public void removeKvCacheShard(String shard) {
        KvShard removed = kvCacheShards.remove(shard);
        if (removed != null) {
            registry.remove(removed.gauge());
        }
    }

    /** Sequences in one engine step. */
    public void recordBatchSize(int sequences) {
        batchSize.record(sequences);
    }

    public void addPromptTokens(long tokens) {
        promptTokens.increment(tokens);
    }

    public void addGenerationTokens(long tokens) {
        generationTokens.increment(tokens);
    }

    /** Prompt tokens of a finished request that came from the prefix cache instead of prefill. */
    public void addCachedPromptTokens(long tokens) {
        cachedPromptTokens.increment(tokens);
    }

    /** One prefix-cache lookup, counted in tokens as vLLM does: hit rate = hits / queries. */
    public void recordPrefixCacheLookup(long queriedTokens, long hitTokens) {
        if (hitTokens > queriedTokens || hitTokens < 0) {
            throw new IllegalArgumentException(
                    "prefix cache hits (" + hitTokens + ") must be within the queried tokens (" + queriedTokens + ")");
        }
        prefixCacheQueries.increment(queriedTokens);
        prefixCacheHits.increment(hitTokens);
    }

    public void recordPreemption() {
        preemptions.increment();
    }

    public void recordDeadLetter(DeadLetterReason reason) {
        deadLetters.get(reason).increment();
    }

    public void recordCompletion(FinishReason reason) {
        completions.get(reason).increment();
    }

    /**
     * Binds the Kafka Streams client metrics (threads, tasks, stores, the embedded clients) under {@code
     * kafka_stream_*} and {@code kafka_*} names. Unbound on {@link #close()} or on closing the returned handle.
     */
    public synchronized AutoCloseable bindKafkaStreams(KafkaStreams streams) {
        KafkaStreamsMetrics binder = new KafkaStreamsMetrics(streams);
        binder.bindTo(registry);
        binders.add(binder);
        return binder;
    }

    /** Binds JVM (memory, GC, threads, classes) and process (CPU, uptime, file descriptors) metrics. */
    public synchronized void bindJvmAndProcess() {
        new JvmMemoryMetrics().bindTo(registry);
        JvmGcMetrics gc = new JvmGcMetrics();
        gc.bindTo(registry);
        binders.add(gc);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
    }

    @Override
    public synchronized void close() {
        for (AutoCloseable binder : binders) {
            try {
                binder.close();
            } catch (Exception ignored) {
                // Unbinding metrics on shutdown must not stop the rest of the shutdown.
            }
        }
        binders.clear();
    }
}
