package dev.yulan.topology.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.yulan.schemas.codec.RecordFormat;
import dev.yulan.topology.topics.Topics;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

class OperatorConfigTest {

    @Test
    void defaultsToTheDocumentedTopicsAndAvro() {
        OperatorConfig config = OperatorConfig.defaults();
        assertThat(config.topics())
                .isEqualTo(new Topics(
                        "yulan.prompts", "yulan.completions", "yulan.completions.stream", "yulan.dead-letter"));
        assertThat(config.outputFormat()).isEqualTo(RecordFormat.AVRO);
        assertThat(config.punctuationInterval()).isEqualTo(Duration.ofMillis(25));
        assertThat(config.modelId()).isNull();
    }

    @Test
    void documentsEveryKey() {
        assertThat(OperatorConfig.configDef().configKeys().values())
                .isNotEmpty()
                .allSatisfy(key -> assertThat(key.documentation).isNotBlank());
    }

    @Test
    void readsOverridesGivenAsStrings() {
        OperatorConfig config = new OperatorConfig(Map.of(
                OperatorConfig.OUTPUT_FORMAT, "json",
                OperatorConfig.TOPIC_PROMPTS, "in",
                OperatorConfig.MAX_INFLIGHT_PER_TASK, "3",
                OperatorConfig.MODEL_ID, "yulan-mini"));
        assertThat(config.outputFormat()).isEqualTo(RecordFormat.JSON);
        assertThat(config.topics().prompts()).isEqualTo("in");
        assertThat(config.maxInflightPerTask()).isEqualTo(3);
        assertThat(config.modelId()).isEqualTo("yulan-mini");
    }

    @Test
    void rejectsAnUnknownOutputFormatInOneLine() {
        assertThatThrownBy(() -> new OperatorConfig(Map.of(OperatorConfig.OUTPUT_FORMAT, "xml")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("output.format")
                .hasMessageNotContaining("\n");
    }

    @Test
    void rejectsADefaultMaxTokensAboveTheLimit() {
        assertThatThrownBy(() -> new OperatorConfig(
                        Map.of(OperatorConfig.DEFAULT_MAX_TOKENS, 500, OperatorConfig.MAX_TOKENS_LIMIT, 100)))
                .isInstanceOf(ConfigException.class)
                .hasMessage("default.max.tokens (500) exceeds max.tokens.limit (100)");
    }

    @Test
    void rejectsTwoTopicsWithTheSameName() {
        assertThatThrownBy(() -> new OperatorConfig(Map.of(OperatorConfig.TOPIC_COMPLETIONS, "yulan.prompts")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("the operator's four topics must have four different names");
    }
}
