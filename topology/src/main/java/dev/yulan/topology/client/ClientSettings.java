package dev.yulan.topology.client;

import dev.yulan.topology.config.ConfigLoader.EffectiveConfig;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.StreamsConfig;

/**
 * The Kafka client settings of the effective configuration that a plain producer or consumer understands (the cluster
 * address, security, ...): Kafka Streams-only keys are left out, {@code producer.}/{@code consumer.} prefixed ones
 * apply unprefixed.
 */
public final class ClientSettings {

    private ClientSettings() {}

    public static Map<String, Object> producer(EffectiveConfig config) {
        return select(config, ProducerConfig.configNames(), StreamsConfig.PRODUCER_PREFIX);
    }

    public static Map<String, Object> consumer(EffectiveConfig config) {
        return select(config, ConsumerConfig.configNames(), StreamsConfig.CONSUMER_PREFIX);
    }

    private static Map<String, Object> select(EffectiveConfig config, Set<String> names, String prefix) {
        Map<String, Object> settings = new HashMap<>();
        for (var entry : config.kafka().entrySet()) {
            if (names.contains(entry.getKey())) {
                settings.put(entry.getKey(), entry.getValue());
            }
        }
        for (var entry : config.kafka().entrySet()) {
            if (entry.getKey().startsWith(prefix)) {
                String key = entry.getKey().substring(prefix.length());
                if (names.contains(key)) {
                    settings.put(key, entry.getValue());
                }
            }
        }
        settings.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        settings.remove(ProducerConfig.TRANSACTIONAL_ID_CONFIG);
        return settings;
    }
}
