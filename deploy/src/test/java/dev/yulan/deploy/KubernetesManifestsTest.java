package dev.yulan.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.yulan.topology.cli.ConfigCommand;
import dev.yulan.topology.config.ConfigLoader;
import dev.yulan.topology.config.ConfigLoader.EffectiveConfig;
import dev.yulan.topology.config.OperatorConfig;
import dev.yulan.topology.config.RuntimeConfig;
import dev.yulan.topology.metrics.MetricsServer;
import dev.yulan.topology.metrics.Readiness;
import dev.yulan.topology.metrics.ServingMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.Reader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Checks the Kubernetes manifests (the kustomize base and every overlay, rendered) against the operator's real
 * configuration keys, defaults, endpoints and the image.
 */
class KubernetesManifestsTest {

    /**
     * How long the operator waits for Kafka Streams to close on shutdown: {@code Operator.close()} uses 30 s and no
     * configuration key sets it yet.
     */
    private static final Duration OPERATOR_CLOSE_TIMEOUT = Duration.ofSeconds(30);

    /** What a pod's {@code metadata.name} resolves to, for env vars taken from it. */
    private static final String POD_NAME = "yulan-operator-0";

    private static final String OPERATOR_CONTAINER = "operator";

    static Stream<Path> kustomizations() throws IOException {
        Path overlays = Path.of("k8s", "overlays");
        try (Stream<Path> children = Files.list(overlays)) {
            List<Path> all = new ArrayList<>();
            all.add(Path.of("k8s", "base"));
            children.filter(dir -> Files.isRegularFile(dir.resolve("kustomization.yaml")))
                    .sorted()
                    .forEach(all::add);
            return all.stream();
        }
    }

    /** The loader `yulan run` uses: the runtime's and the topology's keys, plus Kafka's pass-through keys. */
    private static ConfigLoader loader() {
        return ConfigCommand.loader();
    }

    @Test
    void everyManifestParsesAsKubernetesObjects() throws IOException {
        YAMLMapper yaml = new YAMLMapper();
        List<Path> files;
        try (Stream<Path> walk = Stream.concat(Files.walk(Path.of("k8s")), Files.walk(Path.of("prometheus")))) {
            files = walk.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        assertThat(files).isNotEmpty();
        for (Path file : files) {
            List<ObjectNode> documents = Kustomization.readDocuments(yaml, file);
            assertThat(documents).as(file.toString()).isNotEmpty();
            for (ObjectNode document : documents) {
                if (file.getFileName().toString().equals("kustomization.yaml")) {
                    assertThat(document.path("kind").asText()).isEqualTo("Kustomization");
                } else if (!file.startsWith(Path.of("prometheus"))) {
                    assertThat(document.path("apiVersion").asText())
                            .as(file + " apiVersion")
                            .isNotEmpty();
                    assertThat(document.path("kind").asText())
                            .as(file + " kind")
                            .isNotEmpty();
                    assertThat(document.path("metadata").path("name").asText())
                            .as(file + " metadata.name")
                            .isNotEmpty();
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void configurationFileHasOnlyRealKeys(Path directory) throws IOException {
        Kustomization kustomization = Kustomization.load(directory);
        Path file = configurationFile(kustomization);
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(file)) {
            properties.load(reader);
        }
        assertThat(properties.stringPropertyNames()).isNotEmpty();
        // The real loader rejects a key that is neither the operator's nor Kafka's, and a value of the wrong type.
        assertThatCode(() -> loader().load(Optional.of(file), Map.of(), List.of()))
                .doesNotThrowAnyException();
        EffectiveConfig config = loader().load(Optional.of(file), Map.of(), List.of());
        for (String key : properties.stringPropertyNames()) {
            assertThat(config.values().containsKey(key) || config.kafka().containsKey(key))
                    .as("%s: %s is a configuration key", file, key)
                    .isTrue();
        }
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void everyYulanEnvironmentVariableNamesARealKey(Path directory) {
        Kustomization kustomization = Kustomization.load(directory);
        Map<String, String> names = new LinkedHashMap<>();
        for (var key : loader().list()) {
            names.put(key.environmentVariable(), key.name());
        }
        for (JsonNode variable : container(kustomization).path("env")) {
            String name = variable.path("name").asText();
            if (!name.startsWith(ConfigLoader.ENVIRONMENT_PREFIX)) {
                continue;
            }
            // Each one alone through the real loader: an unknown variable is an error naming it.
            assertThatCode(() -> loader().load(Optional.empty(), Map.of(name, environmentValue(variable)), List.of()))
                    .as("%s in %s", name, directory)
                    .doesNotThrowAnyException();
        }
        assertThat(effectiveConfig(kustomization)).isNotNull();
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void podNameIsTheStaticMembershipInstanceId(Path directory) {
        Kustomization kustomization = Kustomization.load(directory);
        EffectiveConfig config = effectiveConfig(kustomization);
        assertThat(config.kafka()).containsEntry(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, POD_NAME);
        assertThat(kustomization.single("StatefulSet").path("kind").asText()).isEqualTo("StatefulSet");
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void probesAndServicesUseTheRealMetricsEndpointsAndPort(Path directory) throws Exception {
        Kustomization kustomization = Kustomization.load(directory);
        JsonNode container = container(kustomization);
        int metricsPort = effectiveConfig(kustomization).getInt(RuntimeConfig.METRICS_PORT);
        assertThat(metricsPort).isPositive();

        for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
            JsonNode http = container.path(probe).path("httpGet");
            assertThat(http.isMissingNode())
                    .as("%s has an httpGet %s", directory, probe)
                    .isFalse();
            assertThat(containerPort(container, http.path("port")))
                    .as(probe + " port")
                    .isEqualTo(metricsPort);
        }
        for (ObjectNode service : kustomization.all("Service")) {
            for (JsonNode port : service.path("spec").path("ports")) {
                assertThat(containerPort(container, port.path("targetPort")))
                        .as("%s targetPort", service.path("metadata").path("name"))
                        .isEqualTo(metricsPort);
            }
        }
        JsonNode annotations = kustomization
                .single("StatefulSet")
                .path("spec")
                .path("template")
                .path("metadata")
                .path("annotations");
        assertThat(annotations.path("prometheus.io/port").asText()).isEqualTo(String.valueOf(metricsPort));

        // The probed paths answer on a real MetricsServer the way the probes expect.
        AtomicReference<Readiness> readiness = new AtomicReference<>(Readiness.notReady("starting"));
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new ServingMetrics(registry);
        try (MetricsServer server = MetricsServer.start(0, registry, readiness::get)) {
            HttpClient client = HttpClient.newHttpClient();
            String liveness =
                    container.path("livenessProbe").path("httpGet").path("path").asText();
            String startup =
                    container.path("startupProbe").path("httpGet").path("path").asText();
            String ready = container
                    .path("readinessProbe")
                    .path("httpGet")
                    .path("path")
                    .asText();
            assertThat(get(client, server, liveness).statusCode()).isEqualTo(200);
            assertThat(get(client, server, startup).statusCode()).isEqualTo(200);
            assertThat(get(client, server, ready).statusCode()).isEqualTo(503);
            readiness.set(Readiness.ok());
            assertThat(get(client, server, ready).statusCode()).isEqualTo(200);
            assertThat(get(client, server, "/no-such-endpoint").statusCode()).isEqualTo(404);
            for (String path : List.of(liveness, startup, ready)) {
                assertThat(servedContext(client, server, path))
                        .as("%s is an endpoint itself, not a longer path under one", path)
                        .isEqualTo(path);
            }

            String scraped = annotations.path("prometheus.io/path").asText();
            HttpResponse<String> metrics = get(client, server, scraped);
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.body()).contains("yulan_");
            for (ObjectNode monitor : kustomization.all("ServiceMonitor")) {
                for (JsonNode endpoint : monitor.path("spec").path("endpoints")) {
                    assertThat(endpoint.path("path").asText()).isEqualTo(scraped);
                    assertThat(metricsServicePortNames(kustomization, monitor))
                            .contains(endpoint.path("port").asText());
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void runsAsTheImagesNonRootUser(Path directory) {
        JsonNode pod = podSpec(Kustomization.load(directory));
        JsonNode security = pod.path("securityContext");
        assertThat(security.path("runAsNonRoot").asBoolean()).isTrue();
        assertThat(security.path("runAsUser").asLong()).isEqualTo(DockerfileTest.imageUserId());
        assertThat(security.path("fsGroup").asLong())
                .as("volumes writable by the user")
                .isPositive();
        JsonNode container = container(Kustomization.load(directory));
        assertThat(container
                        .path("securityContext")
                        .path("allowPrivilegeEscalation")
                        .asBoolean(true))
                .isFalse();
        JsonNode containerSecurity = container.path("securityContext");
        if (containerSecurity.has("runAsUser")) {
            assertThat(containerSecurity.path("runAsUser").asLong()).isEqualTo(DockerfileTest.imageUserId());
        }
        assertThat(containerSecurity.path("runAsNonRoot").asBoolean(true)).isTrue();
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void gracePeriodOutlastsTheOperatorsShutdown(Path directory) {
        long grace = podSpec(Kustomization.load(directory))
                .path("terminationGracePeriodSeconds")
                .asLong(30);
        assertThat(Duration.ofSeconds(grace)).isGreaterThan(OPERATOR_CLOSE_TIMEOUT);
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void stateDirectoryIsOnThePersistentVolumeClaim(Path directory) {
        Kustomization kustomization = Kustomization.load(directory);
        String stateDir = effectiveConfig(kustomization).getString(RuntimeConfig.STATE_DIR);
        List<String> claims = new ArrayList<>();
        kustomization
                .single("StatefulSet")
                .path("spec")
                .path("volumeClaimTemplates")
                .forEach(claim -> claims.add(claim.path("metadata").path("name").asText()));
        String stateMount = mountPath(container(kustomization), stateDir);
        assertThat(claims).as("state dir %s is on a claim template", stateDir).contains(stateMount);
        assertThat(mountPath(container(kustomization), "/models/x"))
                .as("the model volume is mounted at /models")
                .isNotNull();
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void scalingStaysWithinThePromptTopicsPartitions(Path directory) {
        Kustomization kustomization = Kustomization.load(directory);
        EffectiveConfig config = effectiveConfig(kustomization);
        ObjectNode scaledObject = kustomization.single("ScaledObject");
        JsonNode spec = scaledObject.path("spec");
        int partitions = config.getInt(OperatorConfig.TOPIC_PARTITIONS);
        assertThat(spec.path("minReplicaCount").asInt())
                .isBetween(1, spec.path("maxReplicaCount").asInt());
        assertThat(spec.path("maxReplicaCount").asInt()).isLessThanOrEqualTo(partitions);
        assertThat(spec.path("scaleTargetRef").path("kind").asText()).isEqualTo("StatefulSet");
        assertThat(spec.path("scaleTargetRef").path("name").asText())
                .isEqualTo(kustomization
                        .single("StatefulSet")
                        .path("metadata")
                        .path("name")
                        .asText());
        assertThat(kustomization
                        .single("StatefulSet")
                        .path("spec")
                        .path("replicas")
                        .asInt())
                .isLessThanOrEqualTo(partitions);

        List<JsonNode> kafka = new ArrayList<>();
        spec.path("triggers").forEach(t -> {
            if (t.path("type").asText().equals("kafka")) {
                kafka.add(t.path("metadata"));
            }
        });
        assertThat(kafka).as("a kafka lag trigger").hasSize(1);
        JsonNode trigger = kafka.getFirst();
        assertThat(trigger.path("consumerGroup").asText()).isEqualTo(config.getString(RuntimeConfig.APPLICATION_ID));
        assertThat(trigger.path("topic").asText()).isEqualTo(config.getString(OperatorConfig.TOPIC_PROMPTS));
        assertThat(trigger.path("bootstrapServers").asText())
                .isEqualTo(config.getString(RuntimeConfig.BOOTSTRAP_SERVERS));
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void prometheusTriggersQueryExportedMetrics(Path directory) {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new ServingMetrics(registry);
        String scrape = registry.scrape();
        Pattern metric = Pattern.compile("\\byulan_[a-zA-Z0-9_]+\\b");
        for (JsonNode trigger : Kustomization.load(directory)
                .single("ScaledObject")
                .path("spec")
                .path("triggers")) {
            if (!trigger.path("type").asText().equals("prometheus")) {
                continue;
            }
            Matcher names =
                    metric.matcher(trigger.path("metadata").path("query").asText());
            while (names.find()) {
                assertThat(scrape).as("KEDA queries %s", names.group()).contains("\n" + names.group());
            }
        }
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void memoryLimitHoldsTheKvBudgetAndTheHeap(Path directory) {
        Kustomization kustomization = Kustomization.load(directory);
        JsonNode container = container(kustomization);
        long limit =
                bytes(container.path("resources").path("limits").path("memory").asText());
        long request = bytes(
                container.path("resources").path("requests").path("memory").asText());
        assertThat(request).isPositive().isLessThanOrEqualTo(limit);
        long kv = effectiveConfig(kustomization).getLong(RuntimeConfig.KV_CACHE_BYTES);
        long heap = 0;
        for (JsonNode variable : container.path("env")) {
            if (variable.path("name").asText().equals("JDK_JAVA_OPTIONS")) {
                for (String flag : variable.path("value").asText().split("\\s+")) {
                    if (flag.startsWith("-Xmx")) {
                        heap = bytes(flag.substring(4));
                    }
                }
            }
        }
        assertThat(heap).as("an explicit -Xmx in JDK_JAVA_OPTIONS").isPositive();
        // Weights come on top (memory-mapped); at least the KV budget, the heap and 1 GiB of native memory must fit.
        assertThat(limit).isGreaterThan(kv + heap + (1L << 30));
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void selectorsMatchThePods(Path directory) {
        Kustomization kustomization = Kustomization.load(directory);
        ObjectNode statefulSet = kustomization.single("StatefulSet");
        JsonNode podLabels =
                statefulSet.path("spec").path("template").path("metadata").path("labels");
        assertThat(matches(statefulSet.path("spec").path("selector").path("matchLabels"), podLabels))
                .isTrue();
        assertThat(matches(
                        kustomization
                                .single("PodDisruptionBudget")
                                .path("spec")
                                .path("selector")
                                .path("matchLabels"),
                        podLabels))
                .isTrue();
        for (ObjectNode service : kustomization.all("Service")) {
            assertThat(matches(service.path("spec").path("selector"), podLabels))
                    .as("%s selects the pods", service.path("metadata").path("name"))
                    .isTrue();
        }
        String serviceName = statefulSet.path("spec").path("serviceName").asText();
        assertThat(kustomization.all("Service"))
                .anyMatch(s -> s.path("metadata").path("name").asText().equals(serviceName)
                        && s.path("spec").path("clusterIP").asText().equals("None"));
    }

    // --- helpers ---

    private static EffectiveConfig effectiveConfig(Kustomization kustomization) {
        JsonNode container = container(kustomization);
        Map<String, String> environment = new LinkedHashMap<>();
        for (JsonNode variable : container.path("env")) {
            String name = variable.path("name").asText();
            if (name.startsWith(ConfigLoader.ENVIRONMENT_PREFIX)) {
                environment.put(name, environmentValue(variable));
            }
        }
        Optional<Path> file = Optional.empty();
        List<String> sets = new ArrayList<>();
        List<String> args = new ArrayList<>();
        container.path("args").forEach(a -> args.add(a.asText()));
        for (int i = 0; i < args.size(); i++) {
            String flag = args.get(i);
            String value = i + 1 < args.size() ? args.get(i + 1) : null;
            switch (flag) {
                case "--config" -> file = Optional.of(mountedFile(kustomization, value));
                case "--bootstrap-servers" -> sets.add(RuntimeConfig.BOOTSTRAP_SERVERS + "=" + value);
                case "--model" -> sets.add(RuntimeConfig.MODEL + "=" + value);
                case "--metrics-port" -> sets.add(RuntimeConfig.METRICS_PORT + "=" + value);
                case "--state-dir" -> sets.add(RuntimeConfig.STATE_DIR + "=" + value);
                case "--set" -> sets.add(value);
                default -> throw new AssertionError("unknown yulan run argument " + flag);
            }
            i++;
        }
        return loader().load(file, environment, sets);
    }

    private static String environmentValue(JsonNode variable) {
        if (variable.has("value")) {
            return variable.path("value").asText();
        }
        String field =
                variable.path("valueFrom").path("fieldRef").path("fieldPath").asText();
        if (field.equals("metadata.name")) {
            return POD_NAME;
        }
        throw new AssertionError(
                "unsupported source for " + variable.path("name").asText() + ": " + variable);
    }

    /** The file of a generated ConfigMap behind a path the container reads. */
    private static Path mountedFile(Kustomization kustomization, String path) {
        JsonNode container = container(kustomization);
        for (JsonNode mount : container.path("volumeMounts")) {
            String mountPath = mount.path("mountPath").asText();
            if (!path.startsWith(mountPath + "/")) {
                continue;
            }
            for (JsonNode volume : podSpec(kustomization).path("volumes")) {
                if (volume.path("name").equals(mount.path("name")) && volume.has("configMap")) {
                    String key = volume.path("configMap").path("name").asText() + "/"
                            + path.substring(mountPath.length() + 1);
                    Path file = kustomization.configMapFiles().get(key);
                    assertThat(file)
                            .as("%s comes from ConfigMap key %s", path, key)
                            .isNotNull();
                    return file;
                }
            }
        }
        throw new AssertionError(path + " is not on a mounted ConfigMap");
    }

    private static Path configurationFile(Kustomization kustomization) {
        List<String> args = new ArrayList<>();
        container(kustomization).path("args").forEach(a -> args.add(a.asText()));
        int config = args.indexOf("--config");
        assertThat(config).as("the container passes --config").isNotNegative();
        return mountedFile(kustomization, args.get(config + 1));
    }

    private static JsonNode podSpec(Kustomization kustomization) {
        return kustomization.single("StatefulSet").path("spec").path("template").path("spec");
    }

    private static JsonNode container(Kustomization kustomization) {
        for (JsonNode container : podSpec(kustomization).path("containers")) {
            if (container.path("name").asText().equals(OPERATOR_CONTAINER)) {
                return container;
            }
        }
        throw new AssertionError("no container named " + OPERATOR_CONTAINER);
    }

    private static int containerPort(JsonNode container, JsonNode port) {
        if (port.isInt()) {
            return port.asInt();
        }
        for (JsonNode declared : container.path("ports")) {
            if (declared.path("name").asText().equals(port.asText())) {
                return declared.path("containerPort").asInt();
            }
        }
        throw new AssertionError("no container port named " + port.asText());
    }

    /** The volume mounted at the longest mount path that contains the path, or null. */
    private static String mountPath(JsonNode container, String path) {
        String best = null;
        int bestLength = -1;
        for (JsonNode mount : container.path("volumeMounts")) {
            String mountPath = mount.path("mountPath").asText();
            if ((path.equals(mountPath) || path.startsWith(mountPath + "/")) && mountPath.length() > bestLength) {
                best = mount.path("name").asText();
                bestLength = mountPath.length();
            }
        }
        return best;
    }

    private static List<String> metricsServicePortNames(Kustomization kustomization, JsonNode monitor) {
        JsonNode wanted = monitor.path("spec").path("selector").path("matchLabels");
        List<String> names = new ArrayList<>();
        for (ObjectNode service : kustomization.all("Service")) {
            if (matches(wanted, service.path("metadata").path("labels"))) {
                service.path("spec")
                        .path("ports")
                        .forEach(p -> names.add(p.path("name").asText()));
            }
        }
        assertThat(names).as("the ServiceMonitor selects a Service").isNotEmpty();
        return names;
    }

    private static boolean matches(JsonNode selector, JsonNode labels) {
        if (selector.isEmpty()) {
            return false;
        }
        for (var entry : selector.properties()) {
            if (!labels.path(entry.getKey()).asText().equals(entry.getValue().asText())) {
                return false;
            }
        }
        return true;
    }

    /** A Kubernetes quantity or JVM size (10Gi, 512Mi, 1g, 512m) in bytes. */
    private static long bytes(String quantity) {
        String q = quantity.strip();
        Map<String, Long> units = Map.of(
                "Ki", 1L << 10, "Mi", 1L << 20, "Gi", 1L << 30, "Ti", 1L << 40, "k", 1L << 10, "m", 1L << 20, "g",
                1L << 30);
        for (var unit : units.entrySet()) {
            if (q.endsWith(unit.getKey()) || q.endsWith(unit.getKey().toUpperCase(Locale.ROOT))) {
                return Long.parseLong(q.substring(0, q.length() - unit.getKey().length())) * unit.getValue();
            }
        }
        return Long.parseLong(q);
    }

    /**
     * The endpoint that serves a path: the JDK's HTTP server answers any path that starts with an endpoint's, so the
     * shortest prefix that is not a 404 is the endpoint actually answering.
     */
    private static String servedContext(HttpClient client, MetricsServer server, String path) throws Exception {
        for (int length = 2; length < path.length(); length++) {
            if (get(client, server, path.substring(0, length)).statusCode() != 404) {
                return path.substring(0, length);
            }
        }
        return path;
    }

    private static HttpResponse<String> get(HttpClient client, MetricsServer server, String path) throws Exception {
        return client.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                        .timeout(Duration.ofSeconds(10))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
