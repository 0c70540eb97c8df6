package dev.yulan.topology.operator;

import java.util.Map;

/**
 * How far this instance has rebuilt its state stores from their changelogs (after a start, or when partitions moved
 * here). While {@link #restoring()} the instance is not ready: the moved conversations resume only once restored.
 *
 * @param stores by store name
 */
public record RestoreProgress(Map<String, Store> stores) {

    /**
     * @param restoredRecords records restored into the store since the instance started
     * @param remainingRecords records still to restore, summed over the partitions restoring now (an upper bound: the
     *     changelog's offsets count transaction markers too)
     * @param restoringPartitions partitions of the store restoring now
     */
    public record Store(long restoredRecords, long remainingRecords, int restoringPartitions) {}

    public RestoreProgress {
        stores = Map.copyOf(stores);
    }

    /** Whether any store partition is restoring. */
    public boolean restoring() {
        return stores.values().stream().anyMatch(s -> s.restoringPartitions() > 0);
    }

    public long remainingRecords() {
        return stores.values().stream().mapToLong(Store::remainingRecords).sum();
    }

    public long restoredRecords() {
        return stores.values().stream().mapToLong(Store::restoredRecords).sum();
    }
}
