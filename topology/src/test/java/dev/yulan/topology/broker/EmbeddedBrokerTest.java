package dev.yulan.topology.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedBrokerTest {

    @Test
    void committedTransactionsAreReadAndAbortedOnesAreNot(@TempDir Path dir) throws Exception {
        Path logDir = dir.resolve("log");
        try (EmbeddedBroker broker =
                EmbeddedBroker.start(EmbeddedBroker.Settings.defaults().withLogDir(logDir))) {
            broker.createTopics(2, "greetings");
            broker.createTopics(2, "greetings"); // existing topics are fine
            try (var producer = transactionalProducer(broker)) {
                producer.initTransactions();
                producer.beginTransaction();
                producer.send(new ProducerRecord<>("greetings", "a", "hello"));
                producer.send(new ProducerRecord<>("greetings", "b", "world"));
                producer.commitTransaction();
                producer.beginTransaction();
                producer.send(new ProducerRecord<>("greetings", "c", "never seen"));
                producer.abortTransaction();
                producer.beginTransaction();
                producer.send(new ProducerRecord<>("greetings", "d", "again"));
                producer.commitTransaction();
            }
            assertThat(readCommitted(broker, "greetings", 3)).containsExactlyInAnyOrder("hello", "world", "again");
        }
        assertThat(logDir.resolve("meta.properties")).exists();

        // Started again on the same directory: no re-format, the records are still there.
        try (EmbeddedBroker again =
                EmbeddedBroker.start(EmbeddedBroker.Settings.defaults().withLogDir(logDir))) {
            assertThat(readCommitted(again, "greetings", 3)).containsExactlyInAnyOrder("hello", "world", "again");
        }
    }

    @Test
    void temporaryLogDirectoryIsDeletedOnClose() {
        Path logDir;
        try (EmbeddedBroker broker = EmbeddedBroker.start()) {
            logDir = broker.logDir();
            assertThat(broker.bootstrapServers()).startsWith("127.0.0.1:");
            assertThat(Files.isDirectory(logDir)).isTrue();
        }
        assertThat(logDir).doesNotExist();
    }

    @Test
    void portInUseIsAClearError() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 0, InetAddress.getByName("127.0.0.1"))) {
            assertThatThrownBy(() -> EmbeddedBroker.start(
                            EmbeddedBroker.Settings.defaults().withPort(taken.getLocalPort())))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("port " + taken.getLocalPort())
                    .hasMessageContaining("in use");
        }
    }

    private static KafkaProducer<String, String> transactionalProducer(EmbeddedBroker broker) {
        return new KafkaProducer<>(
                Map.of(
                        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                        broker.bootstrapServers(),
                        ProducerConfig.TRANSACTIONAL_ID_CONFIG,
                        "test-" + UUID.randomUUID()),
                new StringSerializer(),
                new StringSerializer());
    }

    private static List<String> readCommitted(EmbeddedBroker broker, String topic, int expected) {
        List<String> values = new ArrayList<>();
        try (var consumer = new KafkaConsumer<>(
                Map.of(
                        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                        broker.bootstrapServers(),
                        ConsumerConfig.GROUP_ID_CONFIG,
                        "reader-" + UUID.randomUUID(),
                        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                        "earliest",
                        ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                        "read_committed"),
                new StringDeserializer(),
                new StringDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            // Poll a little past the expected count so an aborted record would show up if it leaked.
            int extraPolls = 3;
            while (System.nanoTime() < deadline && (values.size() < expected || extraPolls-- > 0)) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                    values.add(record.value());
                }
            }
        }
        return values;
    }
}
