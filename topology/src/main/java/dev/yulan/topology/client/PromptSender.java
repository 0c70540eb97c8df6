package dev.yulan.topology.client;

import dev.yulan.schemas.PromptRequest;
import dev.yulan.schemas.codec.RecordCodec;
import dev.yulan.schemas.codec.RecordFormat;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Writes prompt requests to the prompt topic, keyed by conversation id, as Avro or JSON. */
public final class PromptSender implements AutoCloseable {

    private final KafkaProducer<byte[], byte[]> producer;
    private final String topic;
    private final RecordCodec<PromptRequest> codec;

    /**
     * @param clientSettings Kafka client settings, {@code bootstrap.servers} at least
     */
    public PromptSender(Map<String, Object> clientSettings, String topic, RecordFormat format) {
        Map<String, Object> settings = new HashMap<>(clientSettings);
        settings.putIfAbsent(ProducerConfig.ACKS_CONFIG, "all");
        settings.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, 0);
        // A broker that cannot be reached is a clear error after a while, not a hang.
        settings.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, 15_000);
        settings.putIfAbsent(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000);
        settings.putIfAbsent(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15_000);
        this.producer = new KafkaProducer<>(settings, new ByteArraySerializer(), new ByteArraySerializer());
        this.topic = topic;
        this.codec = RecordCodec.of(PromptRequest.class, format);
    }

    /** Sends without waiting. */
    public Future<RecordMetadata> sendAsync(String conversationId, PromptRequest request) {
        byte[] key = conversationId == null ? null : conversationId.getBytes(StandardCharsets.UTF_8);
        return producer.send(new ProducerRecord<>(topic, key, codec.encode(request)));
    }

    /** Sends and waits for the broker's acknowledgement. */
    public RecordMetadata send(String conversationId, PromptRequest request) {
        try {
            return sendAsync(conversationId, request).get();
        } catch (ExecutionException e) {
            throw new IllegalStateException(
                    "cannot send to " + topic + ": " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while sending to " + topic, e);
        } catch (org.apache.kafka.common.KafkaException e) {
            throw new IllegalStateException("cannot send to " + topic + ": " + e.getMessage(), e);
        }
    }

    public void flush() {
        producer.flush();
    }

    @Override
    public void close() {
        producer.close(java.time.Duration.ofSeconds(5));
    }
}
