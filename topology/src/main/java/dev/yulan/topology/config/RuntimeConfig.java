package dev.yulan.topology.config;

import java.nio.file.Path;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.NonEmptyString;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigDef.ValidString;

/**
 * The keys of the running process: where Kafka is, which model, how much memory and how many threads the engine
 * gets, where metrics are served. {@link ConfigLoader} merges this with the operator's own keys.
 */
public final class RuntimeConfig {

    public static final String BOOTSTRAP_SERVERS = "bootstrap.servers";
    public static final String APPLICATION_ID = "application.id";
    public static final String STATE_DIR = "state.dir";
    public static final String METRICS_PORT = "metrics.port";
    public static final String MODEL = "model";
    public static final String QUANTIZE = "quantize";
    public static final String ENGINE_THREADS = "engine.threads";
    public static final String ENGINE_MAX_RUNNING = "engine.max.running";
    public static final String KV_CACHE_BYTES = "kv.cache.bytes";

    /** The value of {@link #MODEL} that means the tiny model shipped in {@code models/stories260K}. */
    public static final String BUNDLED_MODEL = "stories260K";

    /** Every key of the process (a new instance each call: {@link ConfigDef} is mutable). */
    public static ConfigDef configDef() {
        return new ConfigDef()
                .define(
                        BOOTSTRAP_SERVERS,
                        Type.STRING,
                        "localhost:9092",
                        new NonEmptyString(),
                        Importance.HIGH,
                        "Kafka brokers to connect to, host:port[,host:port...].")
                .define(
                        APPLICATION_ID,
                        Type.STRING,
                        "yulan-stream",
                        new NonEmptyString(),
                        Importance.HIGH,
                        "Kafka Streams application id: the consumer group, and the prefix of internal topics. "
                                + "Instances with the same id share the work.")
                .define(
                        STATE_DIR,
                        Type.STRING,
                        Path.of(System.getProperty("java.io.tmpdir"), "yulan-stream")
                                .toString(),
                        new NonEmptyString(),
                        Importance.MEDIUM,
                        "Directory for the local state stores (in-flight requests, conversation history).")
                .define(
                        METRICS_PORT,
                        Type.INT,
                        9464,
                        Range.between(-1, 65535),
                        Importance.MEDIUM,
                        "Port of the HTTP endpoint serving /metrics (Prometheus), /health and /ready; "
                                + "0 picks a free port, -1 turns it off.")
                .define(
                        MODEL,
                        Type.STRING,
                        BUNDLED_MODEL,
                        new NonEmptyString(),
                        Importance.HIGH,
                        "The model: a local Hugging Face directory, a GGUF file, or a hub id owner/name[@revision] "
                                + "(taken from the local Hugging Face cache, else downloaded). The default is the "
                                + "bundled tiny demo model.")
                .define(
                        QUANTIZE,
                        Type.STRING,
                        "none",
                        ValidString.in("none", "q8_0", "q4_0"),
                        Importance.MEDIUM,
                        "Quantize the weights on load: none keeps the checkpoint's precision.")
                .define(
                        ENGINE_THREADS,
                        Type.INT,
                        0,
                        Range.between(0, 4096),
                        Importance.MEDIUM,
                        "Threads the engine computes with; 0 uses every available processor.")
                .define(
                        ENGINE_MAX_RUNNING,
                        Type.INT,
                        16,
                        Range.between(1, 4096),
                        Importance.MEDIUM,
                        "Most sequences the engine decodes together in one step (the micro-batch); more requests "
                                + "wait in the in-flight store.")
                .define(
                        KV_CACHE_BYTES,
                        Type.LONG,
                        1L << 30,
                        Range.atLeast(1L << 20),
                        Importance.MEDIUM,
                        "Memory for KV caches on this instance, in bytes, shared by its tasks' shards.");
    }

    private RuntimeConfig() {}

    /** Where the bundled model lives: {@code models/stories260K} under {@code yulan.home} (set by the launcher). */
    public static Path bundledModelDirectory() {
        return Path.of(System.getProperty("yulan.home", "."), "models", BUNDLED_MODEL);
    }
}
