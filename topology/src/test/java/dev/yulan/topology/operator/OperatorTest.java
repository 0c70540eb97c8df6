package dev.yulan.topology.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.yulan.inference.engine.Engine;
import dev.yulan.inference.engine.GenerationHandle;
import dev.yulan.inference.engine.GenerationListener;
import dev.yulan.inference.engine.GenerationRequest;
import dev.yulan.inference.engine.ModelInfo;
import dev.yulan.topology.config.OperatorConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OperatorTest {

    /** Never asked to generate: the operator is built but not started. */
    private static final class IdleEngine implements Engine {
        @Override
        public GenerationHandle submit(GenerationRequest request, GenerationListener listener) {
            throw new UnsupportedOperationException("not started");
        }

        @Override
        public boolean cancel(String requestId) {
            return false;
        }

        @Override
        public void dropShard(int shard) {}

        @Override
        public ModelInfo model() {
            return new ModelInfo("idle", 128, 32);
        }

        @Override
        public void close() {}
    }

    @Test
    void defaultsToExactlyOnceV2() {
        Properties defaults = Operator.streamsDefaults();
        assertThat(defaults.get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG)).isEqualTo(StreamsConfig.EXACTLY_ONCE_V2);
        assertThat(defaults.get(StreamsConfig.APPLICATION_ID_CONFIG)).isEqualTo(Operator.DEFAULT_APPLICATION_ID);
    }

    @Test
    void buildsKafkaStreamsFromConfigAndEngineWithoutConnecting(@TempDir Path stateDir) {
        try (Operator operator = new Operator(
                OperatorConfig.defaults(),
                new IdleEngine(),
                Map.of(
                        StreamsConfig.BOOTSTRAP_SERVERS_CONFIG,
                        "localhost:1",
                        StreamsConfig.STATE_DIR_CONFIG,
                        stateDir.toString()))) {
            assertThat(operator.state()).isEqualTo(KafkaStreams.State.CREATED);
            assertThat(operator.topology().describe().toString()).contains("yulan.prompts");
            operator.close(Duration.ofSeconds(5));
        }
    }
}
