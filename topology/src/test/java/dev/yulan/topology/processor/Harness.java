package dev.yulan.topology.processor;

import dev.yulan.schemas.Completion;
import dev.yulan.schemas.CompletionChunk;
import dev.yulan.schemas.DeadLetter;
import dev.yulan.schemas.PromptRequest;
import dev.yulan.schemas.codec.RecordCodec;
import dev.yulan.schemas.codec.RecordFormat;
import dev.yulan.topology.config.OperatorConfig;
import dev.yulan.topology.store.StoreSuppliers;
import dev.yulan.topology.topics.Topics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;

/** A {@link TopologyTestDriver} around the operator's topology, with its topics and decoders. */
final class Harness implements AutoCloseable {

    final TopologyTestDriver driver;
    final FakeEngine engine;
    final OperatorConfig config;
    private final TestInputTopic<byte[], byte[]> prompts;
    private final TestOutputTopic<byte[], byte[]> completions;
    private final TestOutputTopic<byte[], byte[]> chunks;
    private final TestOutputTopic<byte[], byte[]> deadLetters;
    private final RecordCodec<Completion> completionCodec = RecordCodec.of(Completion.class, RecordFormat.AVRO);
    private final RecordCodec<CompletionChunk> chunkCodec = RecordCodec.of(CompletionChunk.class, RecordFormat.AVRO);
    private final RecordCodec<DeadLetter> deadLetterCodec = RecordCodec.of(DeadLetter.class, RecordFormat.AVRO);
    private final RecordCodec<PromptRequest> promptCodec = RecordCodec.of(PromptRequest.class, RecordFormat.AVRO);

    Harness(FakeEngine engine, StoreSuppliers stores, Path stateDir, Map<String, ?> overrides) {
        this.engine = engine;
        Map<String, Object> settings = new HashMap<>(overrides);
        this.config = new OperatorConfig(settings);
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "yulan-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        this.driver = new TopologyTestDriver(TopologyFactory.build(config, engine, stores), props);
        Topics topics = config.topics();
        this.prompts = driver.createInputTopic(topics.prompts(), new ByteArraySerializer(), new ByteArraySerializer());
        this.completions = driver.createOutputTopic(
                topics.completions(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
        this.chunks =
                driver.createOutputTopic(topics.chunks(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
        this.deadLetters =
                driver.createOutputTopic(topics.deadLetter(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    void sendJson(String key, String json) {
        send(key, json.getBytes(StandardCharsets.UTF_8));
    }

    void sendAvro(String key, PromptRequest request) {
        send(key, promptCodec.encode(request));
    }

    void send(String key, byte[] value) {
        prompts.pipeInput(key == null ? null : key.getBytes(StandardCharsets.UTF_8), value);
    }

    /** One punctuation. */
    void tick() {
        driver.advanceWallClockTime(config.punctuationInterval());
    }

    void tick(Duration duration) {
        driver.advanceWallClockTime(duration);
    }

    List<Completion> completions() {
        return completions.readRecordsToList().stream()
                .map(r -> completionCodec.decode(r.value()))
                .toList();
    }

    List<TestRecord<byte[], byte[]>> rawCompletions() {
        return completions.readRecordsToList();
    }

    List<CompletionChunk> chunks() {
        return chunks.readRecordsToList().stream()
                .map(r -> chunkCodec.decode(r.value()))
                .toList();
    }

    List<DeadLetter> deadLetters() {
        return deadLetters.readRecordsToList().stream()
                .map(r -> deadLetterCodec.decode(r.value()))
                .toList();
    }

    @Override
    public void close() {
        driver.close();
    }
}
