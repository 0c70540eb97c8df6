package dev.yulan.topology.operator;

import dev.yulan.topology.store.StoreNames;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows the restoration of the operator's stores from their changelogs: logs it (start, progress at most every few
 * seconds per partition, end) and keeps the numbers {@link #progress()} and the meters report. Kafka Streams calls it
 * from its restoring thread; anyone reads it.
 */
public final class RestoreTracker implements StateRestoreListener, MeterBinder {

    private static final Logger LOG = LoggerFactory.getLogger(RestoreTracker.class);
    private static final long LOG_EVERY_NANOS = 5_000_000_000L;

    /** One changelog partition restoring now. */
    private static final class Restoring {
        final long endOffset;
        final long startNanos = System.nanoTime();
        volatile long remaining;
        volatile long restored;
        volatile long loggedNanos = startNanos;

        Restoring(long startOffset, long endOffset) {
            this.endOffset = endOffset;
            this.remaining = Math.max(0, endOffset - startOffset);
        }
    }

    private record Key(String store, TopicPartition partition) {}

    private final Map<Key, Restoring> restoring = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> restoredTotals = new ConcurrentHashMap<>();

    public RestoreTracker() {
        for (String store : List.of(StoreNames.INFLIGHT, StoreNames.HISTORY)) {
            restoredTotals.put(store, new AtomicLong());
        }
    }

    @Override
    public void onRestoreStart(TopicPartition partition, String store, long startingOffset, long endingOffset) {
        Restoring entry = new Restoring(startingOffset, endingOffset);
        restoring.put(new Key(store, partition), entry);
        LOG.info("Restoring store {} from {}: up to {} records", store, partition, entry.remaining);
    }

    @Override
    public void onBatchRestored(TopicPartition partition, String store, long batchEndOffset, long numRestored) {
        Restoring entry = restoring.get(new Key(store, partition));
        totalOf(store).addAndGet(numRestored);
        if (entry == null) {
            return;
        }
        entry.restored += numRestored;
        entry.remaining = Math.max(0, entry.endOffset - batchEndOffset - 1);
        long now = System.nanoTime();
        if (now - entry.loggedNanos >= LOG_EVERY_NANOS) {
            entry.loggedNanos = now;
            LOG.info(
                    "Restoring store {} from {}: {} records restored, up to {} remaining",
                    store,
                    partition,
                    entry.restored,
                    entry.remaining);
        }
    }

    @Override
    public void onRestoreEnd(TopicPartition partition, String store, long totalRestored) {
        Restoring entry = restoring.remove(new Key(store, partition));
        long millis = entry == null ? 0 : (System.nanoTime() - entry.startNanos) / 1_000_000;
        LOG.info("Restored store {} from {}: {} records in {} ms", store, partition, totalRestored, millis);
    }

    @Override
    public void onRestoreSuspended(TopicPartition partition, String store, long totalRestored) {
        // The task moved on (revoked, or closed) before it finished restoring.
        restoring.remove(new Key(store, partition));
        LOG.info("Stopped restoring store {} from {} after {} records", store, partition, totalRestored);
    }

    private AtomicLong totalOf(String store) {
        return restoredTotals.computeIfAbsent(store, s -> new AtomicLong());
    }

    public RestoreProgress progress() {
        Map<String, long[]> byStore = new HashMap<>(); // remaining, partitions
        restoredTotals.keySet().forEach(store -> byStore.put(store, new long[2]));
        restoring.forEach((key, entry) -> {
            long[] sums = byStore.computeIfAbsent(key.store(), s -> new long[2]);
            sums[0] += entry.remaining;
            sums[1]++;
        });
        Map<String, RestoreProgress.Store> stores = new HashMap<>();
        byStore.forEach((store, sums) ->
                stores.put(store, new RestoreProgress.Store(totalOf(store).get(), sums[0], (int) sums[1])));
        return new RestoreProgress(stores);
    }

    /**
     * {@code yulan_state_restore_records_total{store}} (restored since start), {@code
     * yulan_state_restore_remaining_records{store}} and {@code yulan_state_restoring} (store partitions restoring now).
     */
    @Override
    public void bindTo(MeterRegistry registry) {
        for (String store : restoredTotals.keySet()) {
            FunctionCounter.builder("yulan.state_restore_records", totalOf(store), AtomicLong::get)
                    .description("Records restored into a state store from its changelog.")
                    .tag("store", store)
                    .register(registry);
            Gauge.builder("yulan.state_restore_remaining_records", this, t -> t.remainingOf(store))
                    .description("Records of a state store's changelog still to restore (an upper bound).")
                    .tag("store", store)
                    .register(registry);
        }
        Gauge.builder("yulan.state_restoring", restoring, Map::size)
                .description("State store partitions restoring now; the instance is not ready while above 0.")
                .register(registry);
    }

    private double remainingOf(String store) {
        return restoring.entrySet().stream()
                .filter(e -> e.getKey().store().equals(store))
                .mapToLong(e -> e.getValue().remaining)
                .sum();
    }
}
