package dev.yulan.topology.integration;

import dev.yulan.schemas.codec.RecordCodec;
import dev.yulan.schemas.codec.RecordFormat;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Everything committed to one topic, as a read_committed consumer sees it (aborted transactions never show), decoded.
 * Reads every partition from the beginning; records accumulate across calls.
 */
public final class CommittedRecords<T extends SpecificRecord> implements AutoCloseable {

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final RecordCodec<T> codec;
    private final String topic;
    private final List<T> records = new ArrayList<>();
    private final List<ConsumerRecord<byte[], byte[]>> raw = new ArrayList<>();

    public CommittedRecords(String bootstrapServers, String topic, Class<T> type) {
        this.topic = topic;
        this.codec = RecordCodec.of(type, RecordFormat.AVRO);
        this.consumer = new KafkaConsumer<>(
                Map.of(
                        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                        bootstrapServers,
                        ConsumerConfig.GROUP_ID_CONFIG,
                        "test-reader-" + UUID.randomUUID(),
                        ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                        "read_committed",
                        ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
                        false),
                new ByteArrayDeserializer(),
                new ByteArrayDeserializer());
        List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(10)).stream()
                .map(info -> new TopicPartition(topic, info.partition()))
                .toList();
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
    }

    /** Polls once for at most {@code timeout}; returns everything read so far. */
    public List<T> poll(Duration timeout) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(timeout)) {
            raw.add(record);
            records.add(codec.decode(record.value()));
        }
        return List.copyOf(records);
    }

    /** Polls until {@code done} holds for everything read so far, failing with {@code what} after {@code timeout}. */
    public List<T> awaitUntil(Predicate<List<T>> done, Duration timeout, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<T> seen = poll(Duration.ZERO);
        while (!done.test(seen)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("waited " + timeout.toSeconds() + " s on " + topic + " for " + what + "; read "
                        + seen.size() + " records: " + seen);
            }
            seen = poll(Duration.ofMillis(100));
        }
        return seen;
    }

    /** Keeps reading for {@code quiet} (to catch anything that would arrive late, such as a duplicate). */
    public List<T> settle(Duration quiet) {
        long deadline = System.nanoTime() + quiet.toNanos();
        List<T> seen = poll(Duration.ZERO);
        while (System.nanoTime() < deadline) {
            seen = poll(Duration.ofMillis(100));
        }
        return seen;
    }

    public List<ConsumerRecord<byte[], byte[]>> raw() {
        return List.copyOf(raw);
    }

    @Override
    public void close() {
        consumer.close();
    }
}
