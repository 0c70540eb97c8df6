package dev.yulan.topology.scaling;

import dev.yulan.topology.config.OperatorConfig;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.streams.StreamsConfig;

/**
 * One operator deployment of a test: its topics, application id and settings, the same for every instance, whether it
 * runs in the test's JVM or in a child JVM.
 *
 * @param prefix of the topic names and the application id
 * @param partitions of the topics
 */
record Deployment(String prefix, int partitions) {

    String prompts() {
        return prefix + ".prompts";
    }

    String completions() {
        return prefix + ".completions";
    }

    String chunks() {
        return prefix + ".chunks";
    }

    String applicationId() {
        return prefix + "-operator";
    }

    OperatorConfig config() {
        return new OperatorConfig(Map.of(
                OperatorConfig.TOPIC_PROMPTS, prompts(),
                OperatorConfig.TOPIC_COMPLETIONS, completions(),
                OperatorConfig.TOPIC_CHUNKS, chunks(),
                OperatorConfig.TOPIC_DEAD_LETTER, prefix + ".dead-letter",
                OperatorConfig.TOPIC_PARTITIONS, partitions));
    }

    /**
     * Settings of one instance: its own state directory, and a crashed member noticed after 6 s (the broker's minimum
     * session timeout) instead of the default 45 s.
     */
    Map<String, Object> streamsSettings(String bootstrapServers, Path stateDirectory, Map<String, Object> extra) {
        Map<String, Object> settings = new HashMap<>();
        settings.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        settings.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId());
        settings.put(StreamsConfig.STATE_DIR_CONFIG, stateDirectory.toString());
        settings.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 6000);
        settings.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), 1000);
        settings.putAll(extra);
        return settings;
    }
}
