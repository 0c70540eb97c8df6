package dev.yulan.topology.integration;

import dev.yulan.inference.engine.EngineOptions;
import dev.yulan.inference.engine.ServingEngine;
import dev.yulan.inference.scheduler.SchedulerConfig;
import dev.yulan.inference.tensor.DType;
import dev.yulan.topology.broker.EmbeddedBroker;
import java.nio.file.Path;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * What the Kafka integration and scaling tests share: a real broker, a producer of raw bytes (acks=all), and a
 * reference engine that generates every request alone, to compare what came through Kafka with.
 */
public final class KafkaFixture implements AutoCloseable {

    private static final Path MODEL = Path.of("../models/stories260K");

    private final EmbeddedBroker broker;
    private final ServingEngine reference;
    private final KafkaProducer<byte[], byte[]> producer;

    private KafkaFixture(EmbeddedBroker broker, ServingEngine reference, KafkaProducer<byte[], byte[]> producer) {
        this.broker = broker;
        this.reference = reference;
        this.producer = producer;
    }

    public static KafkaFixture start() {
        EmbeddedBroker broker = EmbeddedBroker.start();
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(
                Map.of(
                        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                        broker.bootstrapServers(),
                        ProducerConfig.ACKS_CONFIG,
                        "all"),
                new ByteArraySerializer(),
                new ByteArraySerializer());
        return new KafkaFixture(broker, openEngine(), producer);
    }

    /** The engine of one instance: the bundled tiny model, one compute thread, a small KV cache. */
    public static ServingEngine openEngine() {
        SchedulerConfig scheduler = SchedulerConfig.defaults(512).withKvCache(8L << 20, DType.BF16);
        return ServingEngine.open(MODEL, new EngineOptions(null, 1, scheduler, null));
    }

    public EmbeddedBroker broker() {
        return broker;
    }

    public ServingEngine reference() {
        return reference;
    }

    public KafkaProducer<byte[], byte[]> producer() {
        return producer;
    }

    @Override
    public void close() {
        producer.close();
        reference.close();
        broker.close();
    }
}
