package dev.yulan.topology.metrics;

import dev.yulan.inference.scheduler.SchedulerStats;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Copies the scheduler's state into the serving metrics at a fixed rate: running and waiting requests, KV cache usage
 * per shard, and the growth since the last poll of prefix-cache lookups, preemptions and steps. Batch sizes are known
 * only as totals (steps and rows), so each poll records its steps at their average size: counts and sums are exact,
 * the distribution within one poll interval is flattened.
 */
public final class EngineStatsPoller implements AutoCloseable {

    /** At most this many step samples per poll (a poll after a long pause must not loop for ever). */
    private static final long MAX_STEP_SAMPLES = 100_000;

    private final Supplier<SchedulerStats> stats;
    private final ServingMetrics metrics;
    private final ScheduledExecutorService timer;
    private final Set<String> shards = new HashSet<>();
    private SchedulerStats last;

    private EngineStatsPoller(Supplier<SchedulerStats> stats, ServingMetrics metrics, ScheduledExecutorService timer) {
        this.stats = stats;
        this.metrics = metrics;
        this.timer = timer;
    }

    /** Polls now and then every {@code interval} on a daemon thread. */
    public static EngineStatsPoller start(Supplier<SchedulerStats> stats, ServingMetrics metrics, Duration interval) {
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "yulan-engine-stats");
            thread.setDaemon(true);
            return thread;
        });
        EngineStatsPoller poller = new EngineStatsPoller(stats, metrics, timer);
        long millis = Math.max(1, interval.toMillis());
        timer.scheduleAtFixedRate(poller::pollQuietly, 0, millis, TimeUnit.MILLISECONDS);
        return poller;
    }

    private void pollQuietly() {
        try {
            poll();
        } catch (RuntimeException e) {
            // A failed poll (the engine closing) must not end the schedule; the next one tries again.
        }
    }

    /** Takes one snapshot into the metrics (also called by the schedule). */
    public synchronized void poll() {
        SchedulerStats now = stats.get();
        metrics.setRequestsRunning(now.running());
        metrics.setRequestsWaiting(now.waiting());
        Set<String> seen = new HashSet<>();
        for (Map.Entry<Integer, Integer> shard : now.kvBlocksByShard().entrySet()) {
            String name = Integer.toString(shard.getKey());
            double total = Math.max(1, now.kvBlocksTotal());
            metrics.setKvCacheUsage(name, Math.min(1.0, shard.getValue() / total));
            seen.add(name);
        }
        for (String gone : shards) {
            if (!seen.contains(gone)) {
                metrics.removeKvCacheShard(gone);
            }
        }
        shards.clear();
        shards.addAll(seen);
        SchedulerStats before = last != null ? last : zero();
        long queries = Math.max(0, now.prefixQueries() - before.prefixQueries());
        long hits = Math.max(0, Math.min(queries, now.prefixHits() - before.prefixHits()));
        if (queries > 0) {
            metrics.recordPrefixCacheLookup(queries, hits);
        }
        for (long p = before.preemptions(); p < now.preemptions(); p++) {
            metrics.recordPreemption();
        }
        long steps = now.steps() - before.steps();
        long rows = now.stepRows() - before.stepRows();
        if (steps > 0 && rows >= 0) {
            long samples = Math.min(steps, MAX_STEP_SAMPLES);
            int average = (int) Math.max(1, Math.round((double) rows / steps));
            for (long s = 0; s < samples; s++) {
                metrics.recordBatchSize(average);
            }
        }
        last = now;
    }

    private static SchedulerStats zero() {
        return new SchedulerStats(0, 0, 0, 0, Map.of(), 0, 0, 0, 0, 0, 0, 0, 0);
    }

    @Override
    public void close() {
        timer.shutdownNow();
        try {
            timer.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
