package dev.yulan.topology.runtime;

import dev.yulan.inference.engine.ServingEngine;
import dev.yulan.inference.scheduler.SchedulerConfig;
import dev.yulan.inference.tensor.DType;
import dev.yulan.topology.config.ConfigLoader.EffectiveConfig;
import dev.yulan.topology.config.OperatorConfig;
import dev.yulan.topology.config.RuntimeConfig;
import dev.yulan.topology.metrics.DeadLetterReason;
import dev.yulan.topology.metrics.EngineStatsPoller;
import dev.yulan.topology.metrics.MeteredEngine;
import dev.yulan.topology.metrics.MetricsServer;
import dev.yulan.topology.metrics.Readiness;
import dev.yulan.topology.metrics.ServingMetrics;
import dev.yulan.topology.operator.Operator;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.PrintStream;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;

/**
 * One running operator instance, everything wired: the metrics endpoint (up first, so {@code /health} answers while the
 * model loads), the engine with its metering, the topics, and Kafka Streams. Closing stops them in the safe order:
 * Kafka Streams first (committing and closing tasks, so in-flight work stays in the changelogged stores), then the
 * engine, then the metrics endpoint.
 */
public final class OperatorRuntime implements AutoCloseable {

    private static final Duration STATS_INTERVAL = Duration.ofMillis(500);

    private final ServingMetrics metrics;
    private final PrometheusMeterRegistry registry;
    private final List<String> createdTopics;
    private final OperatorConfig operatorConfig;
    private volatile MetricsServer server;
    private volatile ServingEngine engine;
    private volatile boolean ownsEngine;
    private volatile EngineStatsPoller poller;
    private volatile Operator operator;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile KafkaStreams.State lastState = KafkaStreams.State.CREATED;

    private OperatorRuntime(OperatorConfig operatorConfig, PrometheusMeterRegistry registry, List<String> created) {
        this.operatorConfig = operatorConfig;
        this.registry = registry;
        this.metrics = new ServingMetrics(registry);
        this.createdTopics = created;
    }

    /**
     * Starts an instance from the effective configuration.
     *
     * @param streamsOverrides Kafka settings that win over the configuration (the demo's short commit interval)
     * @param sharedEngine an engine to serve with and leave open on close, or null to load the configured model
     * @param log where progress and notices go (stderr for the CLI)
     */
    public static OperatorRuntime start(
            EffectiveConfig config, Map<String, ?> streamsOverrides, ServingEngine sharedEngine, PrintStream log) {
        OperatorConfig operatorConfig = operatorConfig(config);
        OperatorRuntime runtime = new OperatorRuntime(
                operatorConfig, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), new java.util.ArrayList<>());
        try {
            runtime.startAll(config, streamsOverrides, sharedEngine, log);
            return runtime;
        } catch (RuntimeException | Error e) {
            runtime.close();
            throw e;
        }
    }

    /** The operator's keys of the effective configuration. */
    public static OperatorConfig operatorConfig(EffectiveConfig config) {
        Map<String, Object> values = new LinkedHashMap<>();
        for (String key : OperatorConfig.configDef().names()) {
            values.put(key, config.get(key));
        }
        return new OperatorConfig(values);
    }

    /**
     * The settings Kafka Streams gets: the operator's defaults ({@code exactly_once_v2}, ...), then every Kafka key of
     * the configuration, then the overrides.
     */
    public static Properties streamsProperties(EffectiveConfig config, Map<String, ?> overrides) {
        Properties properties = Operator.streamsDefaults();
        properties.putAll(config.kafka());
        properties.putAll(overrides);
        return properties;
    }

    /** The engine's limits from the configuration. */
    public static SchedulerConfig schedulerConfig(EffectiveConfig config) {
        return SchedulerConfig.defaults(Integer.MAX_VALUE)
                .withMaxRunning(config.getInt(RuntimeConfig.ENGINE_MAX_RUNNING))
                .withKvCache(config.getLong(RuntimeConfig.KV_CACHE_BYTES), DType.BF16);
    }

    private void startAll(
            EffectiveConfig config, Map<String, ?> streamsOverrides, ServingEngine sharedEngine, PrintStream log) {
        metrics.bindJvmAndProcess();
        int port = config.getInt(RuntimeConfig.METRICS_PORT);
        if (port >= 0) {
            server = MetricsServer.start(port, registry, this::readiness);
        }
        if (sharedEngine != null) {
            engine = sharedEngine;
        } else {
            ModelSource source = ModelSource.of(config.getString(RuntimeConfig.MODEL));
            engine = source.open(
                    ModelSource.quantizeType(config.getString(RuntimeConfig.QUANTIZE)),
                    config.getInt(RuntimeConfig.ENGINE_THREADS),
                    schedulerConfig(config),
                    log);
            ownsEngine = true;
        }
        ServingEngine loaded = engine;
        poller = EngineStatsPoller.start(loaded::stats, metrics, STATS_INTERVAL);
        Properties streams = streamsProperties(config, streamsOverrides);
        if (operatorConfig.createMissingTopics()) {
            createdTopics.addAll(createTopics(streams));
        }
        Map<String, Object> settings = new LinkedHashMap<>();
        streams.forEach((k, v) -> settings.put((String) k, v));
        operator = new Operator(
                operatorConfig,
                new MeteredEngine(loaded, metrics),
                settings,
                reason -> metrics.recordDeadLetter(DeadLetterReason.classify(reason)));
        metrics.bindKafkaStreams(operator.streams());
        operator.restoreTracker().bindTo(registry);
        operator.streams().setStateListener((now, before) -> {
            lastState = now;
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) {
                stopped.countDown();
            }
        });
        operator.start();
    }

    private List<String> createTopics(Properties streams) {
        Map<String, Object> admin = new LinkedHashMap<>();
        for (String key : AdminClientConfig.configNames()) {
            if (streams.containsKey(key)) {
                admin.put(key, streams.get(key));
            }
        }
        streams.forEach((k, v) -> {
            String key = (String) k;
            if (key.startsWith(StreamsConfig.ADMIN_CLIENT_PREFIX)) {
                admin.put(key.substring(StreamsConfig.ADMIN_CLIENT_PREFIX.length()), v);
            }
        });
        // A cluster that cannot be reached is a startup error, not a minute of silence.
        admin.putIfAbsent(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20_000);
        admin.putIfAbsent(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        try (Admin client = Admin.create(admin)) {
            return Operator.createTopics(client, operatorConfig);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        } catch (IllegalStateException e) {
            throw new IllegalStateException(
                    e.getMessage() + " (bootstrap.servers=" + streams.get(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG) + ")",
                    e);
        }
    }

    /** Ready when the model is loaded, Kafka Streams is RUNNING and no store is restoring. */
    public Readiness readiness() {
        if (engine == null) {
            return Readiness.notReady("loading the model");
        }
        Operator running = operator;
        if (running == null) {
            return Readiness.notReady("starting Kafka Streams");
        }
        KafkaStreams.State state = running.state();
        if (state != KafkaStreams.State.RUNNING) {
            return Readiness.notReady("Kafka Streams is " + state);
        }
        if (running.restoreProgress().restoring()) {
            return Readiness.notReady(
                    "restoring state stores: " + running.restoreProgress().remainingRecords() + " records left");
        }
        return Readiness.ok();
    }

    /** Waits until Kafka Streams is RUNNING. */
    public boolean awaitRunning(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (readiness().ready()) {
                return true;
            }
            if (stopped.getCount() == 0) {
                return false;
            }
            Thread.sleep(20);
        }
        return false;
    }

    /** Waits until Kafka Streams stops on its own (a fatal error); true if it did within the timeout. */
    public boolean awaitStopped(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    public KafkaStreams.State state() {
        return lastState;
    }

    public OperatorConfig operatorConfig() {
        return operatorConfig;
    }

    public ServingMetrics metrics() {
        return metrics;
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** Polls the engine's state into the metrics now (tests scrape right after). */
    public void pollEngineStats() {
        if (poller != null) {
            poller.poll();
        }
    }

    /** The metrics endpoint's port, or -1 when it is off. */
    public int metricsPort() {
        return server == null ? -1 : server.port();
    }

    public ServingEngine engine() {
        return engine;
    }

    /** Topics this start created (empty when they existed). */
    public List<String> createdTopics() {
        return List.copyOf(createdTopics);
    }

    @Override
    public synchronized void close() {
        Operator running = operator;
        operator = null;
        if (running != null) {
            // SIGTERM lands here: running generations get shutdown.grace.ms to finish, the rest hand over.
            running.shutdown();
        }
        if (poller != null) {
            poller.close();
            poller = null;
        }
        if (engine != null && ownsEngine) {
            engine.close();
        }
        engine = null;
        metrics.close();
        if (server != null) {
            server.close();
            server = null;
        }
        registry.close();
        stopped.countDown();
    }
}
