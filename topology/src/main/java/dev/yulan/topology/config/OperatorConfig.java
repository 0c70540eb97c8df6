package dev.yulan.topology.config;

import dev.yulan.schemas.codec.RecordFormat;
import dev.yulan.topology.topics.Topics;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigDef.ValidString;
import org.apache.kafka.common.config.ConfigException;

/**
 * The operator's own settings (the topology's; Kafka Streams settings are separate). Every key is defined once in
 * {@link #configDef()} with its type, default, validator and documentation; a loader merges file, environment and flags
 * and hands the result to {@link #OperatorConfig(Map)}.
 */
public final class OperatorConfig extends AbstractConfig {

    public static final String TOPIC_PROMPTS = "topic.prompts";
    public static final String TOPIC_COMPLETIONS = "topic.completions";
    public static final String TOPIC_CHUNKS = "topic.chunks";
    public static final String TOPIC_DEAD_LETTER = "topic.dead.letter";
    public static final String TOPIC_PARTITIONS = "topic.partitions";
    public static final String TOPIC_REPLICATION_FACTOR = "topic.replication.factor";
    public static final String TOPIC_CREATE_MISSING = "topic.create.missing";
    public static final String OUTPUT_FORMAT = "output.format";
    public static final String PUNCTUATION_INTERVAL_MS = "punctuation.interval.ms";
    public static final String MAX_INFLIGHT_PER_TASK = "max.inflight.per.task";
    public static final String DEFAULT_MAX_TOKENS = "default.max.tokens";
    public static final String MAX_TOKENS_LIMIT = "max.tokens.limit";
    public static final String MODEL_ID = "model.id";
    public static final String SHUTDOWN_GRACE_MS = "shutdown.grace.ms";

    /**
     * Every key of the operator with its type, default, validator and documentation (a new instance each call:
     * {@link ConfigDef} is mutable).
     */
    public static ConfigDef configDef() {
        return new ConfigDef()
                .define(
                        TOPIC_PROMPTS,
                        Type.STRING,
                        Topics.DEFAULT_PROMPTS,
                        new ConfigDef.NonEmptyString(),
                        Importance.HIGH,
                        "Input topic of prompt requests (Avro single-object encoding or JSON), keyed by conversation id.")
                .define(
                        TOPIC_COMPLETIONS,
                        Type.STRING,
                        Topics.DEFAULT_COMPLETIONS,
                        new ConfigDef.NonEmptyString(),
                        Importance.HIGH,
                        "Output topic of final completions: one record per request, keyed by conversation id.")
                .define(
                        TOPIC_CHUNKS,
                        Type.STRING,
                        Topics.DEFAULT_CHUNKS,
                        new ConfigDef.NonEmptyString(),
                        Importance.HIGH,
                        "Output topic of streamed token chunks (requests with stream true), keyed by conversation id.")
                .define(
                        TOPIC_DEAD_LETTER,
                        Type.STRING,
                        Topics.DEFAULT_DEAD_LETTER,
                        new ConfigDef.NonEmptyString(),
                        Importance.HIGH,
                        "Output topic of rejected input records, with the reason and the original key and value bytes.")
                .define(
                        TOPIC_PARTITIONS,
                        Type.INT,
                        6,
                        Range.atLeast(1),
                        Importance.MEDIUM,
                        "Partitions of the topics the operator creates when they are missing; the prompt topic's partition"
                                + " count bounds how many instances share the work.")
                .define(
                        TOPIC_REPLICATION_FACTOR,
                        Type.SHORT,
                        (short) -1,
                        Importance.MEDIUM,
                        "Replication factor of the topics the operator creates; -1 takes the broker's default.")
                .define(
                        TOPIC_CREATE_MISSING,
                        Type.BOOLEAN,
                        true,
                        Importance.MEDIUM,
                        "Create the operator's topics at startup when they are missing (needs the CreateTopics ACL);"
                                + " false expects them to exist.")
                .define(
                        OUTPUT_FORMAT,
                        Type.STRING,
                        RecordFormat.AVRO.configName(),
                        ValidString.in("avro", "json"),
                        Importance.MEDIUM,
                        "Encoding of the output topics (completions, chunks, dead letters): avro (single-object encoding,"
                                + " no registry needed) or json (same field names).")
                .define(
                        PUNCTUATION_INTERVAL_MS,
                        Type.LONG,
                        25L,
                        Range.between(1L, 10_000L),
                        Importance.MEDIUM,
                        "How often (wall-clock milliseconds) each task drains the engine's token events and forwards chunks"
                                + " and completions; lower means lower latency and more small chunks.")
                .define(
                        MAX_INFLIGHT_PER_TASK,
                        Type.INT,
                        16,
                        Range.atLeast(1),
                        Importance.MEDIUM,
                        "Requests one task (one partition) keeps submitted to the engine at a time; the rest wait in the"
                                + " inflight store, which keeps memory bounded.")
                .define(
                        DEFAULT_MAX_TOKENS,
                        Type.INT,
                        256,
                        Range.atLeast(1),
                        Importance.MEDIUM,
                        "max_tokens of a request that does not set it.")
                .define(
                        MAX_TOKENS_LIMIT,
                        Type.INT,
                        4096,
                        Range.atLeast(1),
                        Importance.LOW,
                        "The largest max_tokens a request may ask for (the model's context length caps it too).")
                .define(
                        MODEL_ID,
                        Type.STRING,
                        "",
                        Importance.LOW,
                        "Model id reported in completions; empty reports the engine's own model id.")
                .define(
                        SHUTDOWN_GRACE_MS,
                        Type.LONG,
                        30_000L,
                        Range.atLeast(0L),
                        Importance.MEDIUM,
                        "On shutdown (SIGTERM), how long (milliseconds) the instance stops starting generations and lets"
                                + " running ones finish before it closes; what is unfinished then stays in the inflight"
                                + " store and resumes on the partition's next owner.");
    }

    public OperatorConfig(Map<?, ?> originals) {
        super(configDef(), originals, false);
        if (getInt(DEFAULT_MAX_TOKENS) > getInt(MAX_TOKENS_LIMIT)) {
            throw new ConfigException(DEFAULT_MAX_TOKENS + " (" + getInt(DEFAULT_MAX_TOKENS) + ") exceeds "
                    + MAX_TOKENS_LIMIT + " (" + getInt(MAX_TOKENS_LIMIT) + ")");
        }
        try {
            topics();
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
    }

    /** Every default. */
    public static OperatorConfig defaults() {
        return new OperatorConfig(Map.of());
    }

    public Topics topics() {
        return new Topics(
                getString(TOPIC_PROMPTS),
                getString(TOPIC_COMPLETIONS),
                getString(TOPIC_CHUNKS),
                getString(TOPIC_DEAD_LETTER));
    }

    public RecordFormat outputFormat() {
        return RecordFormat.parse(getString(OUTPUT_FORMAT));
    }

    public Duration punctuationInterval() {
        return Duration.ofMillis(getLong(PUNCTUATION_INTERVAL_MS));
    }

    public int maxInflightPerTask() {
        return getInt(MAX_INFLIGHT_PER_TASK);
    }

    public int defaultMaxTokens() {
        return getInt(DEFAULT_MAX_TOKENS);
    }

    public int maxTokensLimit() {
        return getInt(MAX_TOKENS_LIMIT);
    }

    /** The configured model id, or null to report the engine's. */
    public String modelId() {
        String id = getString(MODEL_ID);
        return id.isBlank() ? null : id;
    }

    /** How long a shutdown lets running generations finish. */
    public Duration shutdownGrace() {
        return Duration.ofMillis(getLong(SHUTDOWN_GRACE_MS));
    }

    public int topicPartitions() {
        return getInt(TOPIC_PARTITIONS);
    }

    public boolean createMissingTopics() {
        return getBoolean(TOPIC_CREATE_MISSING);
    }

    public short topicReplicationFactor() {
        return getShort(TOPIC_REPLICATION_FACTOR);
    }
}
