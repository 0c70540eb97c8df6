package dev.yulan.topology.broker;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.Feature;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * The real Kafka broker, in this process: one node in KRaft combined mode (broker and controller) on loopback.
 *
 * <p>Single-node settings (replication factor and min ISR 1 for the offsets, transaction-state and share-state
 * topics) make transactions and therefore {@code exactly_once_v2} work. The log directory is formatted on first
 * use only, so a broker started again on the same directory keeps its topics and data.
 */
public final class EmbeddedBroker implements AutoCloseable {

    private static final int NODE_ID = 1;
    private static final String HOST = "127.0.0.1";
    private static final String META_PROPERTIES = "meta.properties";

    /**
     * How to start the broker.
     *
     * @param port client port; 0 picks a free one
     * @param controllerPort KRaft controller port; 0 picks a free one
     * @param logDir where the log lives; empty for a temporary directory deleted on close
     * @param overrides broker properties applied last (for tests and tuning)
     */
    public record Settings(int port, int controllerPort, Optional<Path> logDir, Map<String, String> overrides) {

        public Settings {
            if (port < 0 || port > 65535 || controllerPort < 0 || controllerPort > 65535) {
                throw new IllegalArgumentException(
                        "broker ports must be in 0..65535, got " + port + " and " + controllerPort);
            }
            overrides = Map.copyOf(overrides);
        }

        /** Free ports, a temporary directory, no overrides. */
        public static Settings defaults() {
            return new Settings(0, 0, Optional.empty(), Map.of());
        }

        public Settings withPort(int newPort) {
            return new Settings(newPort, controllerPort, logDir, overrides);
        }

        public Settings withLogDir(Path dir) {
            return new Settings(port, controllerPort, Optional.of(dir), overrides);
        }

        public Settings withOverride(String key, String value) {
            Map<String, String> merged = new LinkedHashMap<>(overrides);
            merged.put(key, value);
            return new Settings(port, controllerPort, logDir, merged);
        }
    }

    private final KafkaRaftServer server;
    private final Path logDir;
    private final boolean temporaryDir;
    private final int port;
    private final String clusterId;
    private boolean closed;

    private EmbeddedBroker(KafkaRaftServer server, Path logDir, boolean temporaryDir, int port, String clusterId) {
        this.server = server;
        this.logDir = logDir;
        this.temporaryDir = temporaryDir;
        this.port = port;
        this.clusterId = clusterId;
    }

    /** Starts a broker on free ports with a temporary log directory. */
    public static EmbeddedBroker start() {
        return start(Settings.defaults());
    }

    /** Starts a broker and returns once it accepts clients. */
    public static EmbeddedBroker start(Settings settings) {
        int port = settings.port() == 0 ? freePort() : requireFree(settings.port());
        int controllerPort = settings.controllerPort() == 0 ? freePort() : requireFree(settings.controllerPort());
        boolean temporaryDir = settings.logDir().isEmpty();
        Path logDir;
        try {
            logDir = temporaryDir
                    ? Files.createTempDirectory("yulan-broker-")
                    : Files.createDirectories(settings.logDir().get());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the broker log directory: " + e.getMessage(), e);
        }
        try {
            Properties props = brokerProperties(port, controllerPort, logDir, settings.overrides());
            KafkaConfig config = KafkaConfig.fromProps(props, false);
            String clusterId = formatIfNeeded(logDir);
            KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
            try {
                server.startup();
            } catch (RuntimeException e) {
                shutdownQuietly(server);
                throw e;
            }
            return new EmbeddedBroker(server, logDir, temporaryDir, port, clusterId);
        } catch (RuntimeException e) {
            if (temporaryDir) {
                deleteRecursively(logDir);
            }
            throw new IllegalStateException(
                    "cannot start the embedded broker on " + HOST + ":" + port + ": " + rootMessage(e), e);
        }
    }

    private static Properties brokerProperties(
            int port, int controllerPort, Path logDir, Map<String, String> overrides) {
        Properties props = new Properties();
        props.put("process.roles", "broker,controller");
        props.put("node.id", Integer.toString(NODE_ID));
        props.put("controller.quorum.voters", NODE_ID + "@" + HOST + ":" + controllerPort);
        props.put("listeners", "PLAINTEXT://" + HOST + ":" + port + ",CONTROLLER://" + HOST + ":" + controllerPort);
        props.put("advertised.listeners", "PLAINTEXT://" + HOST + ":" + port);
        props.put("controller.listener.names", "CONTROLLER");
        props.put("inter.broker.listener.name", "PLAINTEXT");
        props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        props.put("log.dirs", logDir.toString());
        props.put("metadata.log.dir", logDir.toString());
        // One node: every internal topic has one replica, or transactions and group commits never complete.
        props.put("offsets.topic.replication.factor", "1");
        props.put("offsets.topic.num.partitions", "5");
        props.put("transaction.state.log.replication.factor", "1");
        props.put("transaction.state.log.min.isr", "1");
        props.put("transaction.state.log.num.partitions", "5");
        props.put("share.coordinator.state.topic.replication.factor", "1");
        props.put("share.coordinator.state.topic.min.isr", "1");
        props.put("default.replication.factor", "1");
        props.put("min.insync.replicas", "1");
        // No point waiting for more members on a development broker.
        props.put("group.initial.rebalance.delay.ms", "0");
        props.putAll(overrides);
        return props;
    }

    /** Formats the directory unless it already holds a broker's metadata; returns the cluster id. */
    private static String formatIfNeeded(Path logDir) {
        Path meta = logDir.resolve(META_PROPERTIES);
        if (Files.exists(meta)) {
            Properties existing = new Properties();
            try (var in = Files.newInputStream(meta)) {
                existing.load(in);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return existing.getProperty("cluster.id", "unknown");
        }
        String clusterId = Uuid.randomUuid().toString();
        Formatter formatter = new Formatter()
                .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                .setNodeId(NODE_ID)
                .setClusterId(clusterId)
                .setDirectories(List.of(logDir.toString()))
                .setMetadataLogDirectory(logDir.toString())
                .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
                .setSupportedFeatures(Feature.PRODUCTION_FEATURES)
                .setControllerListenerName("CONTROLLER");
        try {
            formatter.run();
        } catch (Exception e) {
            throw new IllegalStateException("cannot format " + logDir + ": " + rootMessage(e), e);
        }
        return clusterId;
    }

    /** The address clients connect to, {@code host:port}. */
    public String bootstrapServers() {
        return HOST + ":" + port;
    }

    public int port() {
        return port;
    }

    public Path logDir() {
        return logDir;
    }

    public String clusterId() {
        return clusterId;
    }

    /** Creates topics with one replica each; topics that already exist are left as they are. */
    public void createTopics(int partitions, String... names) {
        createTopics(Stream.of(names)
                .map(name -> new NewTopic(name, partitions, (short) 1))
                .toList());
    }

    /** Creates the given topics; topics that already exist are left as they are. */
    public void createTopics(Collection<NewTopic> topics) {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers()))) {
            var results = admin.createTopics(topics).values();
            for (var entry : results.entrySet()) {
                try {
                    entry.getValue().get();
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException(
                                "cannot create topic " + entry.getKey() + ": "
                                        + e.getCause().getMessage(),
                                e.getCause());
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        }
    }

    /** Blocks until the broker stops (after {@link #close()} from another thread). */
    public void awaitShutdown() {
        server.awaitShutdown();
    }

    /** Stops the broker; deletes the log directory if it was a temporary one. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        shutdownQuietly(server);
        if (temporaryDir) {
            deleteRecursively(logDir);
        }
    }

    private static void shutdownQuietly(KafkaRaftServer server) {
        try {
            server.shutdown();
            server.awaitShutdown();
        } catch (RuntimeException ignored) {
            // Shutting down a half-started server can fail; the process keeps going either way.
        }
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 0, InetAddress.getByName(HOST))) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot find a free port on " + HOST, e);
        }
    }

    private static int requireFree(int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(InetAddress.getByName(HOST), port));
            return port;
        } catch (IOException e) {
            throw new IllegalStateException(
                    "cannot start the embedded broker: port " + port + " on " + HOST + " is in use", e);
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() != null ? root.getMessage() : root.toString();
    }

    private static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.deleteIfExists(path);
                } catch (IOException ignored) {
                    // A file still held open on shutdown is left behind in the temp directory.
                }
            });
        } catch (IOException ignored) {
            // Best effort: the directory is under the system temp directory.
        }
    }
}
