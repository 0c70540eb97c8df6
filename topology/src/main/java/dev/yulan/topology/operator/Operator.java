package dev.yulan.topology.operator;

import dev.yulan.inference.engine.Engine;
import dev.yulan.topology.config.OperatorConfig;
import dev.yulan.topology.processor.DeadLetterListener;
import dev.yulan.topology.processor.RunningGenerations;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator as a running thing: the topology from {@link TopologyFactory}, an engine, and Kafka Streams settings.
 * Everything else (loading configuration, the model, metrics, the CLI) is the caller's.
 */
public final class Operator implements AutoCloseable {

    /** Application id when none is given: instances with the same id share the partitions. */
    public static final String DEFAULT_APPLICATION_ID = "yulan-operator";

    /** How long closing waits for the stream threads to commit and stop, after the grace period. */
    public static final Duration STREAMS_CLOSE_TIMEOUT = Duration.ofSeconds(30);

    private static final Logger LOG = LoggerFactory.getLogger(Operator.class);

    private final OperatorConfig config;
    private final Topology topology;
    private final KafkaStreams streams;
    private final boolean staticMember;
    private final RunningGenerations running = new RunningGenerations();
    private final RestoreTracker restores = new RestoreTracker();

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
        this.config = config;
        this.topology = TopologyFactory.build(config, engine, StoreSuppliers.persistent(), running, deadLetters);
        Properties properties = streamsDefaults();
        properties.putAll(streamsSettings);
        this.staticMember = properties.containsKey(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG)
                || properties.containsKey(StreamsConfig.consumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG))
                || properties.containsKey(StreamsConfig.mainConsumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG));
        this.streams = new KafkaStreams(topology, properties);
        streams.setGlobalStateRestoreListener(restores);
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

    /** How far the stores are restored from their changelogs; the instance is not ready while it restores. */
    public RestoreProgress restoreProgress() {
        return restores.progress();
    }

    /** The restore listener, also a Micrometer binder of the restore meters. */
    public RestoreTracker restoreTracker() {
        return restores;
    }

    /** Generations this instance's tasks have running in the engine. */
    public int runningGenerations() {
        return running.running();
    }

    /** Whether the instance serves: its stream threads run and none of its stores is restoring. */
    public boolean serving() {
        return streams.state() == KafkaStreams.State.RUNNING
                && !restores.progress().restoring();
    }

    /** The shutdown on SIGTERM: {@link #close(Duration)} with the configured {@code shutdown.grace.ms}. */
    public boolean shutdown() {
        return close(config.shutdownGrace());
    }

    /**
     * Stops the instance, first letting running generations finish for up to {@code grace}: no task starts a generation
     * any more (new and waiting requests stay in the inflight store), and once nothing runs, or the grace period is
     * over, the stream threads commit what was sent and close their tasks, dropping their KV shards. What did not
     * finish stays in the changelogged inflight store and resumes on the partition's next owner, without repeating
     * what was sent. A dynamic member leaves the group, so that its partitions move at once (to a restarted instance
     * too) instead of after the session timeout; a static member ({@code group.instance.id}) stays, so that it gets
     * its partitions back when it returns within the session timeout.
     *
     * @return whether the stream threads stopped within {@link #STREAMS_CLOSE_TIMEOUT}
     */
    public boolean close(Duration grace) {
        running.stopStarting();
        KafkaStreams.State state = streams.state();
        if (grace.isPositive() && (state == KafkaStreams.State.RUNNING || state == KafkaStreams.State.REBALANCING)) {
            int before = running.running();
            long start = System.nanoTime();
            try {
                boolean finished = running.awaitNoneRunning(grace);
                long millis = (System.nanoTime() - start) / 1_000_000;
                if (finished) {
                    LOG.info("Shutting down: {} running generations finished in {} ms", before, millis);
                } else {
                    LOG.info(
                            "Shutting down: {} of {} running generations did not finish in the grace period of {} ms;"
                                    + " they resume on their partitions' next owners",
                            running.running(),
                            before,
                            grace.toMillis());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return streams.close(CloseOptions.timeout(STREAMS_CLOSE_TIMEOUT)
                .withGroupMembershipOperation(
                        staticMember
                                ? CloseOptions.GroupMembershipOperation.REMAIN_IN_GROUP
                                : CloseOptions.GroupMembershipOperation.LEAVE_GROUP));
    }

    /**
     * Stops at once (no grace period): running generations stay in the inflight store and resume on the partitions'
     * next owners.
     */
    @Override
    public void close() {
        close(Duration.ZERO);
    }
}
