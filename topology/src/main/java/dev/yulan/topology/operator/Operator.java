package dev.yulan.topology.operator;

import dev.yulan.inference.engine.Engine;
import dev.yulan.topology.config.OperatorConfig;
import dev.yulan.topology.processor.DeadLetterListener;
import dev.yulan.topology.processor.TopologyFactory;
import dev.yulan.topology.store.StoreSuppliers;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;

/**
 * The operator as a running thing: the topology from {@link TopologyFactory}, an engine, and Kafka Streams settings.
 * Everything else (loading configuration, the model, metrics, the CLI) is the caller's.
 */
public final class Operator implements AutoCloseable {

    /** Application id when none is given: instances with the same id share the partitions. */
    public static final String DEFAULT_APPLICATION_ID = "yulan-operator";

    private final Topology topology;
    private final KafkaStreams streams;
    private final boolean staticMember;

    /**
     * @param streamsSettings Kafka Streams settings ({@code bootstrap.servers} at least); they override
     *     {@link #streamsDefaults()}
     */
    public Operator(OperatorConfig config, Engine engine, Map<String, ?> streamsSettings) {
        this(config, engine, streamsSettings, DeadLetterListener.NONE);
    }

    /** As above, telling {@code deadLetters} of every record sent to the dead-letter topic (for metrics). */
    public Operator(
            OperatorConfig config, Engine engine, Map<String, ?> streamsSettings, DeadLetterListener deadLetters) {
        this.topology = TopologyFactory.build(config, engine, StoreSuppliers.persistent(), deadLetters);
        Properties properties = streamsDefaults();
        properties.putAll(streamsSettings);
        this.staticMember = properties.containsKey(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG)
                || properties.containsKey(StreamsConfig.consumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG))
                || properties.containsKey(StreamsConfig.mainConsumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG));
        this.streams = new KafkaStreams(topology, properties);
    }

    /**
     * Defaults the operator needs: exactly-once v2 (store writes, offsets and outputs commit together, which is what
     * makes a resubmitted request emit nothing twice), a short commit interval (outputs become visible to read_committed
     * consumers at each commit), one stream thread (the engine does the heavy work on its own threads), internal topics
     * replicated as the broker defaults, and a poll interval that tolerates a slow punctuation on a busy machine.
     */
    public static Properties streamsDefaults() {
        Properties properties = new Properties();
        properties.put(StreamsConfig.APPLICATION_ID_CONFIG, DEFAULT_APPLICATION_ID);
        properties.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        properties.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
        properties.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
        properties.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, -1);
        properties.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        properties.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG), 300_000);
        properties.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), 5);
        // The operator has no global state; this only opts in to Kafka 5.0's behaviour now (and silences its warning).
        properties.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, true);
        return properties;
    }

    /** Creates the operator's missing topics with the configured partitions and replication factor. */
    public static List<String> createTopics(Admin admin, OperatorConfig config) throws InterruptedException {
        return config.topics().createMissing(admin, config.topicPartitions(), config.topicReplicationFactor());
    }

    public Topology topology() {
        return topology;
    }

    public KafkaStreams streams() {
        return streams;
    }

    public void start() {
        streams.start();
    }

    public KafkaStreams.State state() {
        return streams.state();
    }

    /**
     * Stops the stream threads (committing, closing tasks and so dropping their KV shards). A dynamic member leaves the
     * group, so that its partitions move at once (to a restarted instance too) instead of after the session timeout; a
     * static member stays, so that it gets its partitions back when it returns within the session timeout.
     */
    public boolean close(Duration timeout) {
        return streams.close(CloseOptions.timeout(timeout)
                .withGroupMembershipOperation(
                        staticMember
                                ? CloseOptions.GroupMembershipOperation.REMAIN_IN_GROUP
                                : CloseOptions.GroupMembershipOperation.LEAVE_GROUP));
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(30));
    }
}
