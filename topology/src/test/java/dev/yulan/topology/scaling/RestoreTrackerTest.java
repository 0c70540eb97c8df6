package dev.yulan.topology.scaling;

import static org.assertj.core.api.Assertions.assertThat;

import dev.yulan.topology.operator.RestoreProgress;
import dev.yulan.topology.operator.RestoreTracker;
import dev.yulan.topology.store.StoreNames;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class RestoreTrackerTest {

    private static final TopicPartition HISTORY_0 = new TopicPartition("app-history-changelog", 0);
    private static final TopicPartition HISTORY_1 = new TopicPartition("app-history-changelog", 1);

    @Test
    void reportsRestoringWithRemainingRecordsUntilEveryPartitionEnds() {
        RestoreTracker tracker = new RestoreTracker();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        tracker.bindTo(registry);
        assertThat(tracker.progress().restoring()).isFalse();

        tracker.onRestoreStart(HISTORY_0, StoreNames.HISTORY, 0, 100);
        tracker.onRestoreStart(HISTORY_1, StoreNames.HISTORY, 10, 60);
        tracker.onBatchRestored(HISTORY_0, StoreNames.HISTORY, 39, 40);

        RestoreProgress progress = tracker.progress();
        assertThat(progress.restoring()).isTrue();
        assertThat(progress.stores().get(StoreNames.HISTORY)).isEqualTo(new RestoreProgress.Store(40, 60 + 50, 2));
        assertThat(progress.stores().get(StoreNames.INFLIGHT)).isEqualTo(new RestoreProgress.Store(0, 0, 0));
        assertThat(registry.get("yulan.state_restoring").gauge().value()).isEqualTo(2);
        assertThat(registry.get("yulan.state_restore_remaining_records")
                        .tag("store", StoreNames.HISTORY)
                        .gauge()
                        .value())
                .isEqualTo(110);

        tracker.onBatchRestored(HISTORY_0, StoreNames.HISTORY, 99, 60);
        tracker.onRestoreEnd(HISTORY_0, StoreNames.HISTORY, 100);
        tracker.onRestoreSuspended(HISTORY_1, StoreNames.HISTORY, 0);

        progress = tracker.progress();
        assertThat(progress.restoring()).isFalse();
        assertThat(progress.restoredRecords()).isEqualTo(100);
        assertThat(progress.remainingRecords()).isZero();
        assertThat(registry.get("yulan.state_restore_records")
                        .tag("store", StoreNames.HISTORY)
                        .functionCounter()
                        .count())
                .isEqualTo(100);
    }
}
