package dev.yulan.topology.scaling;

import static org.assertj.core.api.Assertions.assertThat;

import dev.yulan.topology.bench.ScaleBenchmark;
import dev.yulan.topology.broker.EmbeddedBroker;
import dev.yulan.topology.integration.KafkaFixture;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ScaleBenchmarkTest {

    @Test
    void runsTheSameWorkloadOnOneAndTwoInstancesAndReportsBothThroughputs() throws InterruptedException {
        try (EmbeddedBroker broker = EmbeddedBroker.start()) {
            ScaleBenchmark benchmark = new ScaleBenchmark(
                    broker.bootstrapServers(),
                    KafkaFixture::openEngine,
                    new ScaleBenchmark.Workload(12, 16, 4, false),
                    Duration.ofSeconds(90),
                    line -> {});

            ScaleBenchmark.Comparison comparison = benchmark.compare(2);

            assertThat(comparison.single().instances()).isEqualTo(1);
            assertThat(comparison.scaled().instances()).isEqualTo(2);
            assertThat(comparison.single().completionTokens())
                    .as("greedy requests generate the same tokens however many instances share them")
                    .isEqualTo(comparison.scaled().completionTokens())
                    .isPositive();
            assertThat(comparison.single().tokensPerSecond()).isPositive();
            assertThat(comparison.ratio()).isPositive();
        }
    }
}
