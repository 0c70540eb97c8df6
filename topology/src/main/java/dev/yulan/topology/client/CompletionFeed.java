package dev.yulan.topology.client;

import dev.yulan.schemas.Completion;
import dev.yulan.schemas.CompletionChunk;
import dev.yulan.schemas.DeadLetter;
import dev.yulan.schemas.codec.RecordCodec;
import dev.yulan.schemas.codec.RecordFormat;
import dev.yulan.schemas.codec.RecordFormatException;
import dev.yulan.topology.topics.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Follows the operator's output: chunks from the stream topic and final completions, read committed (so only what the
 * operator committed, exactly once), on a thread of its own. Partitions are assigned, not subscribed: no consumer group,
 * any number of followers. Records that are not a known schema are reported, not fatal.
 */
public final class CompletionFeed implements AutoCloseable {

    /** Receives the feed's records on its thread, in topic order per conversation. */
    public interface Listener {
        void onChunk(CompletionChunk chunk);

        void onCompletion(Completion completion);

        /** A record that could not be read. */
        default void onUnreadable(String topic, String reason) {}

        /** A rejected request (only when the feed follows the dead-letter topic too). */
        default void onDeadLetter(DeadLetter letter) {}
    }

    /** Where to start reading. */
    public enum Start {
        BEGINNING,
        END
    }

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Topics topics;
    private final Listener listener;
    private final RecordCodec<CompletionChunk> chunkCodec = RecordCodec.of(CompletionChunk.class, RecordFormat.AVRO);
    private final RecordCodec<Completion> completionCodec = RecordCodec.of(Completion.class, RecordFormat.AVRO);
    private final RecordCodec<DeadLetter> deadLetterCodec = RecordCodec.of(DeadLetter.class, RecordFormat.AVRO);
    private final Thread thread;
    private final CountDownLatch done = new CountDownLatch(1);
    private final Map<TopicPartition, Long> endOffsets;
    private volatile boolean caughtUp;
    private volatile RuntimeException failure;

    private CompletionFeed(
            Map<String, Object> clientSettings, Topics topics, Start start, boolean deadLetters, Listener listener) {
        Map<String, Object> settings = new HashMap<>(clientSettings);
        settings.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        settings.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        settings.remove(ConsumerConfig.GROUP_ID_CONFIG);
        settings.putIfAbsent(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15_000);
        settings.putIfAbsent(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15_000);
        this.consumer = new KafkaConsumer<>(settings, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        this.topics = topics;
        this.listener = listener;
        try {
            List<TopicPartition> partitions = new ArrayList<>();
            List<String> followed = deadLetters
                    ? List.of(topics.chunks(), topics.completions(), topics.deadLetter())
                    : List.of(topics.chunks(), topics.completions());
            for (String topic : followed) {
                List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(15));
                if (infos == null || infos.isEmpty()) {
                    throw new IllegalStateException("topic " + topic + " does not exist (is the operator running?)");
                }
                for (PartitionInfo info : infos) {
                    partitions.add(new TopicPartition(topic, info.partition()));
                }
            }
            consumer.assign(partitions);
            if (start == Start.BEGINNING) {
                consumer.seekToBeginning(partitions);
            } else {
                consumer.seekToEnd(partitions);
            }
            for (TopicPartition partition : partitions) {
                consumer.position(partition); // resolve now: what is sent after this returns is seen
            }
            this.endOffsets = new HashMap<>(consumer.endOffsets(partitions));
        } catch (RuntimeException e) {
            consumer.close(Duration.ZERO);
            throw e instanceof IllegalStateException ? e : new IllegalStateException(oneLine(e), e);
        }
        this.thread = new Thread(this::loop, "yulan-completion-feed");
        this.thread.setDaemon(true);
    }

    /** Starts following; returns once positions are fixed (anything produced afterwards will be seen). */
    public static CompletionFeed start(
            Map<String, Object> clientSettings, Topics topics, Start start, Listener listener) {
        return start(clientSettings, topics, start, false, listener);
    }

    /** As above; with {@code deadLetters} the dead-letter topic is followed too ({@link Listener#onDeadLetter}). */
    public static CompletionFeed start(
            Map<String, Object> clientSettings, Topics topics, Start start, boolean deadLetters, Listener listener) {
        CompletionFeed feed = new CompletionFeed(clientSettings, topics, start, deadLetters, listener);
        feed.thread.start();
        return feed;
    }

    private void loop() {
        try {
            while (!Thread.currentThread().isInterrupted()) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                    deliver(record);
                }
                if (!caughtUp) {
                    caughtUp = endOffsets.entrySet().stream()
                            .allMatch(end -> consumer.position(end.getKey()) >= end.getValue());
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            failure = e;
        } finally {
            consumer.close(Duration.ofSeconds(2));
            done.countDown();
        }
    }

    private void deliver(ConsumerRecord<byte[], byte[]> record) {
        if (record.value() == null) {
            return;
        }
        try {
            if (record.topic().equals(topics.chunks())) {
                listener.onChunk(chunkCodec.decode(record.value()));
            } else if (record.topic().equals(topics.deadLetter())) {
                listener.onDeadLetter(deadLetterCodec.decode(record.value()));
            } else {
                listener.onCompletion(completionCodec.decode(record.value()));
            }
        } catch (RecordFormatException e) {
            listener.onUnreadable(record.topic(), e.getMessage());
        }
    }

    /** Whether everything that was in the topics when the feed started has been delivered. */
    public boolean caughtUp() {
        return caughtUp;
    }

    /** Waits until {@link #caughtUp()}; false on timeout or if the feed stopped. */
    public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!caughtUp && done.getCount() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        return caughtUp;
    }

    /** Why the feed stopped on its own, or null. */
    public RuntimeException failure() {
        return failure;
    }

    @Override
    public void close() {
        consumer.wakeup();
        try {
            done.await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String oneLine(Throwable e) {
        String message = e.getMessage() != null ? e.getMessage() : e.toString();
        return message.replace('\n', ' ');
    }
}
