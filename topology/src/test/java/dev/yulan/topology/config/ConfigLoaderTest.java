package dev.yulan.topology.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

    private static final ConfigDef OPERATOR_KEYS = new ConfigDef()
            .define("topic.prompts", ConfigDef.Type.STRING, "yulan.prompts", ConfigDef.Importance.HIGH, "Prompts.")
            .define("max.inflight", ConfigDef.Type.INT, 100, ConfigDef.Importance.LOW, "Limit.");

    private final ConfigLoader loader = new ConfigLoader(RuntimeConfig.configDef(), OPERATOR_KEYS);

    @TempDir
    Path dir;

    @Test
    void defaultsApplyWhenNothingIsSet() {
        var config = loader.load(Optional.empty(), Map.of(), List.of());

        assertThat(config.getInt(RuntimeConfig.METRICS_PORT)).isEqualTo(9464);
        assertThat(config.getString(RuntimeConfig.APPLICATION_ID)).isEqualTo("yulan-stream");
        assertThat(config.getString(RuntimeConfig.MODEL)).isEqualTo(RuntimeConfig.BUNDLED_MODEL);
        assertThat(config.getLong(RuntimeConfig.KV_CACHE_BYTES)).isEqualTo(1L << 30);
        assertThat(config.getString("topic.prompts")).isEqualTo("yulan.prompts");
        assertThat(config.origin(RuntimeConfig.METRICS_PORT)).isEqualTo("default");
    }

    @Test
    void fileThenEnvironmentThenFlagsTakePrecedence() throws Exception {
        Path file = properties("metrics.port=1000\nengine.threads=3\nmodel=/models/a\nmax.inflight=7\n");
        Map<String, String> env = Map.of("YULAN_METRICS_PORT", "2000", "YULAN_ENGINE_THREADS", "4");
        List<String> flags = List.of("metrics.port=3000");

        var config = loader.load(Optional.of(file), env, flags);

        assertThat(config.getInt(RuntimeConfig.METRICS_PORT)).isEqualTo(3000);
        assertThat(config.origin(RuntimeConfig.METRICS_PORT)).isEqualTo("--set");
        assertThat(config.getInt(RuntimeConfig.ENGINE_THREADS)).isEqualTo(4);
        assertThat(config.origin(RuntimeConfig.ENGINE_THREADS)).isEqualTo("environment variable YULAN_ENGINE_THREADS");
        assertThat(config.getString(RuntimeConfig.MODEL)).isEqualTo("/models/a");
        assertThat(config.origin(RuntimeConfig.MODEL)).isEqualTo("properties file " + file);
        assertThat(config.getInt("max.inflight")).isEqualTo(7);
    }

    @Test
    void environmentVariablesMapDotsAndDashesToUnderscores() {
        assertThat(ConfigLoader.environmentName("metrics.port")).isEqualTo("YULAN_METRICS_PORT");
        assertThat(ConfigLoader.environmentName("a-b.c")).isEqualTo("YULAN_A_B_C");

        var config = loader.load(
                Optional.empty(),
                Map.of(
                        "YULAN_ENGINE_MAX_RUNNING", "8",
                        "YULAN_TOPIC_PROMPTS", "my.prompts",
                        "YULAN_NUM_STREAM_THREADS", "2",
                        "YULAN_PRODUCER_LINGER_MS", "5"),
                List.of());

        assertThat(config.getInt(RuntimeConfig.ENGINE_MAX_RUNNING)).isEqualTo(8);
        assertThat(config.getString("topic.prompts")).isEqualTo("my.prompts");
        assertThat(config.kafka()).containsEntry("num.stream.threads", "2").containsEntry("producer.linger.ms", "5");
    }

    @Test
    void ignoresForeignEnvironmentVariablesAndTheLaunchersOwn() {
        var config = loader.load(
                Optional.empty(),
                Map.of(
                        "PATH", "/usr/bin",
                        "METRICS_PORT", "1",
                        "BOOTSTRAP_SERVERS", "elsewhere:9092",
                        "YULAN_HOME", "/opt/yulan",
                        "YULAN_JAVA_OPTS", "-Xmx1g"),
                List.of());

        assertThat(config.getInt(RuntimeConfig.METRICS_PORT)).isEqualTo(9464);
        assertThat(config.getString(RuntimeConfig.BOOTSTRAP_SERVERS)).isEqualTo("localhost:9092");
    }

    @Test
    void unknownFlagKeyNamesTheSourceAndSuggestsTheClosestKey() {
        assertThatThrownBy(() -> loader.load(Optional.empty(), Map.of(), List.of("metrics.prot=1")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("unknown configuration key 'metrics.prot' (from --set); did you mean 'metrics.port'?;"
                        + " see ./yulan config --list");
    }

    @Test
    void unknownFileKeyNamesTheFile() throws Exception {
        Path file = properties("enigne.threads=2\n");
        assertThatThrownBy(() -> loader.load(Optional.of(file), Map.of(), List.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("'enigne.threads'")
                .hasMessageContaining("properties file " + file)
                .hasMessageContaining("did you mean 'engine.threads'?")
                .hasMessageNotContaining("\n");
    }

    @Test
    void unknownYulanEnvironmentVariableIsAnError() {
        assertThatThrownBy(() -> loader.load(Optional.empty(), Map.of("YULAN_METRICS_PROT", "1"), List.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("environment variable YULAN_METRICS_PROT")
                .hasMessageContaining("did you mean YULAN_METRICS_PORT?");
    }

    @Test
    void kafkaSettingsPassThroughBareAndPrefixed() {
        var config = loader.load(
                Optional.empty(),
                Map.of(),
                List.of(
                        "num.stream.threads=2",
                        "processing.guarantee=exactly_once_v2",
                        "acks=all",
                        "producer.linger.ms=5",
                        "main.consumer.max.poll.records=10",
                        "restore.consumer.fetch.max.bytes=1000",
                        "admin.retries=3",
                        "topic.segment.bytes=1048576",
                        "bootstrap.servers=broker:9092"));

        assertThat(config.kafka())
                .containsEntry("num.stream.threads", "2")
                .containsEntry("processing.guarantee", "exactly_once_v2")
                .containsEntry("acks", "all")
                .containsEntry("producer.linger.ms", "5")
                .containsEntry("main.consumer.max.poll.records", "10")
                .containsEntry("restore.consumer.fetch.max.bytes", "1000")
                .containsEntry("admin.retries", "3")
                .containsEntry("topic.segment.bytes", "1048576")
                .containsEntry("bootstrap.servers", "broker:9092")
                // Our keys Kafka also knows reach it with their defaults; ours that it does not know stay out.
                .containsEntry("application.id", "yulan-stream")
                .containsKey("state.dir")
                .doesNotContainKeys("metrics.port", "model", "topic.prompts", "max.inflight");
        assertThat(config.values()).doesNotContainKey("num.stream.threads");
        assertThat(config.kafkaProperties().getProperty("producer.linger.ms")).isEqualTo("5");
        assertThat(config.origin("producer.linger.ms")).isEqualTo("--set");
    }

    @Test
    void misspelledTopicKeyIsAnErrorNotATopicSetting() {
        assertThatThrownBy(() -> loader.load(Optional.empty(), Map.of(), List.of("topic.prompt=mine")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("did you mean 'topic.prompts'?");
    }

    @Test
    void misspelledPrefixedKafkaKeyIsAnErrorWithSuggestion() {
        assertThatThrownBy(() -> loader.load(Optional.empty(), Map.of(), List.of("producer.lingr.ms=5")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("did you mean 'producer.linger.ms'?");
    }

    @Test
    void invalidValuesAreErrorsNamingKeyAndSource() {
        assertThatThrownBy(() -> loader.load(Optional.empty(), Map.of("YULAN_METRICS_PORT", "abc"), List.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(
                        "invalid value 'abc' for metrics.port (from environment variable YULAN_METRICS_PORT): ");
        assertThatThrownBy(() -> loader.load(Optional.empty(), Map.of(), List.of("metrics.port=70000")))
                .hasMessageContaining("metrics.port")
                .hasMessageContaining("--set");
        assertThatThrownBy(() -> loader.load(Optional.empty(), Map.of(), List.of("quantize=q3_k")))
                .hasMessageContaining("quantize");
        assertThatThrownBy(() -> loader.load(Optional.empty(), Map.of(), List.of("producer.linger.ms=soon")))
                .hasMessageContaining("producer.linger.ms");
        assertThatThrownBy(() -> loader.load(Optional.empty(), Map.of(), List.of("num.stream.threads")))
                .hasMessage("--set expects key=value, got 'num.stream.threads'");
    }

    @Test
    void missingRequiredKeyIsAnError() {
        var required = new ConfigDef().define("model.path", ConfigDef.Type.STRING, ConfigDef.Importance.HIGH, "x");
        assertThatThrownBy(() -> new ConfigLoader(required).load(Optional.empty(), Map.of(), List.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("missing required configuration 'model.path'")
                .hasMessageContaining("YULAN_MODEL_PATH");
    }

    @Test
    void keyDefinedTwiceIsRejected() {
        assertThatThrownBy(() -> new ConfigLoader(RuntimeConfig.configDef(), RuntimeConfig.configDef()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("defined twice");
    }

    @Test
    void missingPropertiesFileIsAClearError() {
        Path missing = dir.resolve("nope.properties");
        assertThatThrownBy(() -> loader.load(Optional.of(missing), Map.of(), List.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessage("cannot read properties file " + missing + ": no such file");
    }

    @Test
    void describeListsEveryKeyWithTypeDefaultAndMeaning() {
        String table = loader.describe();

        assertThat(loader.list()).hasSize(RuntimeConfig.configDef().names().size() + 2);
        assertThat(table.lines().findFirst())
                .hasValueSatisfying(header -> assertThat(header).contains("KEY", "TYPE", "DEFAULT", "MEANING"));
        for (String key : RuntimeConfig.configDef().names()) {
            assertThat(table).contains(key);
        }
        assertThat(table)
                .containsPattern("metrics\\.port +int +9464 +Port of the HTTP endpoint")
                .contains("topic.prompts")
                .contains("YULAN_METRICS_PORT");
        assertThat(loader.list().stream().filter(k -> k.name().equals("quantize")))
                .singleElement()
                .satisfies(k -> assertThat(k.validValues()).contains("q8_0"));
    }

    private Path properties(String text) throws Exception {
        Path file = dir.resolve("yulan.properties");
        Files.writeString(file, text);
        return file;
    }
}
