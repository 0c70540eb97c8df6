package dev.yulan.topology.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.yulan.inference.scheduler.SchedulerStats;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class EngineStatsPollerTest {

    private static SchedulerStats stats(
            int running,
            int waiting,
            Map<Integer, Integer> shards,
            long queries,
            long hits,
            long preemptions,
            long steps,
            long rows) {
        return new SchedulerStats(running, waiting, 100, 0, shards, queries, hits, preemptions, steps, rows, 0, 0, 0);
    }

    @Test
    void copiesGaugesAndCountsGrowthBetweenPolls() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        ServingMetrics metrics = new ServingMetrics(registry);
        AtomicReference<SchedulerStats> now =
                new AtomicReference<>(stats(3, 2, Map.of(0, 25, 1, 50), 64, 16, 1, 10, 40));
        try (EngineStatsPoller poller = EngineStatsPoller.start(now::get, metrics, Duration.ofHours(1))) {
            poller.poll();
            now.set(stats(1, 0, Map.of(1, 10), 96, 48, 3, 12, 44));
            poller.poll();
        }
        assertThat(registry.get("yulan.num_requests_running").gauge().value()).isEqualTo(1);
        assertThat(registry.get("yulan.num_requests_waiting").gauge().value()).isZero();
        assertThat(registry.get("yulan.kv_cache_usage_perc")
                        .tag("shard", "1")
                        .gauge()
                        .value())
                .isEqualTo(0.10);
        assertThat(registry.find("yulan.kv_cache_usage_perc").tag("shard", "0").gauge())
                .as("a dropped shard's gauge goes")
                .isNull();
        assertThat(registry.get("yulan.prefix_cache_queries").counter().count()).isEqualTo(96);
        assertThat(registry.get("yulan.prefix_cache_hits").counter().count()).isEqualTo(48);
        assertThat(registry.get("yulan.num_preemptions").counter().count()).isEqualTo(3);
        assertThat(registry.get("yulan.batch_size").summary().count()).isEqualTo(12);
        assertThat(registry.get("yulan.batch_size").summary().totalAmount()).isEqualTo(10 * 4 + 2 * 2);
    }
}
