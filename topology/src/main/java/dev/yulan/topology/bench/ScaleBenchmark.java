package dev.yulan.topology.bench;

import dev.yulan.inference.engine.Engine;
import dev.yulan.schemas.Completion;
import dev.yulan.schemas.codec.RecordCodec;
import dev.yulan.schemas.codec.RecordFormat;
import dev.yulan.topology.config.OperatorConfig;
import dev.yulan.topology.operator.Operator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.ThreadMetadata;

/**
 * Horizontal scaling measured: the same workload through Kafka on one operator instance, then on several (one
 * application id, one broker, each instance with its own engine and state directory, every engine limited to the same
 * compute threads), all in this JVM. Each run gets fresh topics, so the runs do not share state; a warm-up wave (not
 * measured) precedes the measured one.
 */
public final class ScaleBenchmark {

    /**
     * @param requests of the measured wave, each its own conversation (so the partitioner spreads them)
     * @param maxTokens of each request (greedy; a request may stop earlier at the end of its story)
     * @param partitions of the prompt topic: the most instances that can share the work
     * @param stream whether requests also stream chunks
     */
    public record Workload(int requests, int maxTokens, int partitions, boolean stream) {
        public Workload {
            if (requests < 1 || maxTokens < 1 || partitions < 1) {
                throw new IllegalArgumentException("requests, max tokens and partitions must be at least 1");
            }
        }
    }

    /** One run's numbers. */
    public record Result(int instances, int requests, long completionTokens, double seconds) {
        public double tokensPerSecond() {
            return completionTokens / seconds;
        }

        public double requestsPerSecond() {
            return requests / seconds;
        }
    }

    /** The single-instance run, the multi-instance run, and the second's throughput over the first's. */
    public record Comparison(Result single, Result scaled) {
        public double ratio() {
            return scaled.tokensPerSecond() / single.tokensPerSecond();
        }
    }

    private static final String[] OPENINGS = {
        "Once upon a time", "One day", "Lily and Tom", "The little dog", "There was a big tree", "Sam had a red ball"
    };

    private final String bootstrapServers;
    private final Supplier<Engine> engines;
    private final Workload workload;
    private final Duration timeout;
    private final Consumer<String> progress;

    /**
     * @param engines opens one instance's engine (each with the same compute threads); closed after its run
     * @param timeout for each wave to complete
     * @param progress what the benchmark is doing, one line at a time
     */
    public ScaleBenchmark(
            String bootstrapServers,
            Supplier<Engine> engines,
            Workload workload,
            Duration timeout,
            Consumer<String> progress) {
        this.bootstrapServers = bootstrapServers;
        this.engines = engines;
        this.workload = workload;
        this.timeout = timeout;
        this.progress = progress;
    }

    /** One instance, then {@code instances}. */
    public Comparison compare(int instances) throws InterruptedException {
        Result single = run(1);
        Result scaled = run(instances);
        return new Comparison(single, scaled);
    }

    /** The workload on {@code instances} instances. */
    public Result run(int instances) throws InterruptedException {
        String prefix = "yulan-scale-bench-" + UUID.randomUUID().toString().substring(0, 8);
        OperatorConfig config = new OperatorConfig(Map.of(
                OperatorConfig.TOPIC_PROMPTS, prefix + ".prompts",
                OperatorConfig.TOPIC_COMPLETIONS, prefix + ".completions",
                OperatorConfig.TOPIC_CHUNKS, prefix + ".chunks",
                OperatorConfig.TOPIC_DEAD_LETTER, prefix + ".dead-letter",
                OperatorConfig.TOPIC_PARTITIONS, workload.partitions()));
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers))) {
            Operator.createTopics(admin, config);
        }
        List<Engine> opened = new ArrayList<>();
        List<Operator> operators = new ArrayList<>();
        Path stateRoot = temporaryDirectory();
        try (KafkaProducer<byte[], byte[]> producer = producer();
                CompletionReader reader = new CompletionReader(config.topics().completions())) {
            for (int i = 0; i < instances; i++) {
                Engine engine = engines.get();
                opened.add(engine);
                Map<String, Object> settings = Map.of(
                        StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                        StreamsConfig.APPLICATION_ID_CONFIG, prefix,
                        StreamsConfig.STATE_DIR_CONFIG,
                                stateRoot.resolve("instance-" + i).toString());
                Operator operator = new Operator(config, engine, settings);
                operators.add(operator);
                operator.start();
            }
            progress.accept(instances + " instance(s): waiting for the partitions to spread");
            awaitSpread(operators);
            progress.accept(instances + " instance(s): warm-up wave");
            wave(producer, reader, config, "warmup", Math.max(workload.partitions(), workload.requests() / 4));
            progress.accept(instances + " instance(s): measured wave of " + workload.requests() + " requests");
            long start = System.nanoTime();
            long tokens = wave(producer, reader, config, "measured", workload.requests());
            double seconds = (System.nanoTime() - start) / 1e9;
            return new Result(instances, workload.requests(), tokens, seconds);
        } finally {
            for (Operator operator : operators) {
                operator.close();
            }
            for (Engine engine : opened) {
                engine.close();
            }
            deleteRecursively(stateRoot);
        }
    }

    /** Sends {@code count} requests and waits for their completions; returns the tokens they generated. */
    private long wave(
            KafkaProducer<byte[], byte[]> producer,
            CompletionReader reader,
            OperatorConfig config,
            String wave,
            int count)
            throws InterruptedException {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < count; i++) {
            String id = wave + "-" + i;
            ids.add(id);
            String prompt = OPENINGS[i % OPENINGS.length] + (i >= OPENINGS.length ? " " + i : "");
            String body = "{\"request_id\":\"" + id + "\",\"prompt\":\"" + prompt + "\",\"max_tokens\":"
                    + workload.maxTokens() + ",\"temperature\":0,\"stream\":" + workload.stream() + "}";
            producer.send(
                    new ProducerRecord<>(config.topics().prompts(), utf8(wave + "-conversation-" + i), utf8(body)));
        }
        producer.flush();
        return reader.await(ids, timeout);
    }

    /** Every instance owns a partition (or all of them have one each when there are more instances than partitions). */
    private void awaitSpread(List<Operator> operators) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int wanted = Math.min(operators.size(), workload.partitions());
        while (true) {
            int owning = 0;
            int owned = 0;
            for (Operator operator : operators) {
                int tasks = operator.state() == KafkaStreams.State.RUNNING ? activeTasks(operator) : 0;
                owning += tasks > 0 ? 1 : 0;
                owned += tasks;
            }
            if (owning >= wanted && owned == workload.partitions()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the partitions did not spread over " + operators.size()
                        + " instances in " + timeout.toSeconds() + " s");
            }
            Thread.sleep(100);
        }
    }

    private static int activeTasks(Operator operator) {
        return operator.streams().metadataForLocalThreads().stream()
                .map(ThreadMetadata::activeTasks)
                .mapToInt(Set::size)
                .sum();
    }

    private KafkaProducer<byte[], byte[]> producer() {
        return new KafkaProducer<>(
                Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers, ProducerConfig.LINGER_MS_CONFIG, 5),
                new ByteArraySerializer(),
                new ByteArraySerializer());
    }

    /** Reads the completions topic as clients do (read_committed), from the beginning. */
    private final class CompletionReader implements AutoCloseable {
        private final KafkaConsumer<byte[], byte[]> consumer;
        private final RecordCodec<Completion> codec = RecordCodec.of(Completion.class, RecordFormat.AVRO);
        private final Map<String, Integer> tokensById = new HashMap<>();

        CompletionReader(String topic) {
            consumer = new KafkaConsumer<>(
                    Map.of(
                            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                            bootstrapServers,
                            ConsumerConfig.GROUP_ID_CONFIG,
                            "yulan-scale-bench-reader-" + UUID.randomUUID(),
                            ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                            "read_committed",
                            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
                            false,
                            // Completions are seen as soon as their transaction commits, not up to 500 ms later.
                            ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG,
                            20),
                    new ByteArrayDeserializer(),
                    new ByteArrayDeserializer());
            List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                    .map(info -> new TopicPartition(topic, info.partition()))
                    .toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
        }

        long await(Set<String> ids, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!tokensById.keySet().containsAll(ids)) {
                if (System.nanoTime() > deadline) {
                    long done = ids.stream().filter(tokensById::containsKey).count();
                    throw new IllegalStateException(
                            "only " + done + " of " + ids.size() + " completions in " + timeout.toSeconds() + " s");
                }
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(20))) {
                    Completion completion = codec.decode(record.value());
                    if (completion.getError() != null) {
                        throw new IllegalStateException(
                                "request " + completion.getRequestId() + " failed: " + completion.getError());
                    }
                    tokensById.put(
                            completion.getRequestId(), completion.getUsage().getCompletionTokens());
                }
            }
            return ids.stream().mapToLong(tokensById::get).sum();
        }

        @Override
        public void close() {
            consumer.close();
        }
    }

    private static Path temporaryDirectory() {
        try {
            return Files.createTempDirectory("yulan-scale-bench-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a state directory: " + e.getMessage(), e);
        }
    }

    private static void deleteRecursively(Path root) {
        try (Stream<Path> files = Files.walk(root)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // A leftover temporary directory is not worth failing the benchmark for.
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
