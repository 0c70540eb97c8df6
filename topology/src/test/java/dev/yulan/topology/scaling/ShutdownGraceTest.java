package dev.yulan.topology.scaling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.yulan.topology.config.OperatorConfig;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

class ShutdownGraceTest {

    @Test
    void shutdownGraceDefaultsToThirtySecondsAndTakesMilliseconds() {
        assertThat(OperatorConfig.defaults().shutdownGrace()).isEqualTo(Duration.ofSeconds(30));
        assertThat(new OperatorConfig(Map.of(OperatorConfig.SHUTDOWN_GRACE_MS, "0")).shutdownGrace())
                .isZero();
        assertThat(new OperatorConfig(Map.of(OperatorConfig.SHUTDOWN_GRACE_MS, 1500L)).shutdownGrace())
                .isEqualTo(Duration.ofMillis(1500));
    }

    @Test
    void rejectsANegativeShutdownGrace() {
        assertThatThrownBy(() -> new OperatorConfig(Map.of(OperatorConfig.SHUTDOWN_GRACE_MS, "-1")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(OperatorConfig.SHUTDOWN_GRACE_MS);
    }
}
