package dev.yulan.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.yulan.topology.metrics.ServingMetrics;
import io.micrometer.core.instrument.Meter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** The dashboard queries metrics the operator really exports, under the names Prometheus scrapes. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GrafanaDashboardTest {

    private static final Path DASHBOARD = Path.of("grafana", "yulan-dashboard.json");
    private static final Pattern METRIC = Pattern.compile("\\b(?:yulan|kafka|jvm|process|system)_[a-zA-Z0-9_]+\\b");

    private JsonNode dashboard;
    private List<String> queries;
    private Set<String> scraped;
    private Set<String> servingMeters;

    @BeforeAll
    void scrapeTheOperatorsMetrics(@TempDir Path stateDirectory) throws Exception {
        dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
        queries = new ArrayList<>();
        collectQueries(dashboard, queries);

        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (ServingMetrics metrics = new ServingMetrics(registry)) {
            metrics.setKvCacheUsage("0_0", 0.25);
            metrics.bindJvmAndProcess();
            servingMeters = registry.getMeters().stream()
                    .map(Meter::getId)
                    .map(id -> id.getName())
                    .filter(name -> name.startsWith(ServingMetrics.PREFIX))
                    .collect(Collectors.toCollection(TreeSet::new));
            // A real (never started) Kafka Streams client registers its thread and consumer metrics.
            StreamsBuilder builder = new StreamsBuilder();
            builder.stream("in").to("out");
            Properties properties = new Properties();
            properties.put(StreamsConfig.APPLICATION_ID_CONFIG, "dashboard-test");
            properties.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:9");
            properties.put(StreamsConfig.STATE_DIR_CONFIG, stateDirectory.toString());
            try (KafkaStreams streams = new KafkaStreams(builder.build(), properties)) {
                metrics.bindKafkaStreams(streams);
                scraped = registry.scrape()
                        .lines()
                        .filter(line -> !line.startsWith("#") && !line.isBlank())
                        .map(line -> line.split("[{ ]", 2)[0])
                        .collect(Collectors.toSet());
                streams.close(Duration.ofSeconds(5));
            }
        }
    }

    @Test
    void everyMetricTheDashboardQueriesIsExported() {
        Set<String> used = new TreeSet<>();
        for (String query : queries) {
            Matcher matcher = METRIC.matcher(query);
            while (matcher.find()) {
                used.add(matcher.group());
            }
        }
        assertThat(used).isNotEmpty();
        assertThat(scraped).as("scraped metric names").containsAll(used);
    }

    @Test
    void everyServingMetricIsOnTheDashboard() {
        String all = String.join("\n", queries);
        for (String meter : servingMeters) {
            String family = meter.replace('.', '_');
            assertThat(all).as("a panel shows %s", meter).contains(family);
        }
    }

    @Test
    void latencyQuantilesComeFromHistogramBuckets() {
        List<String> quantiles =
                queries.stream().filter(q -> q.contains("histogram_quantile")).toList();
        for (String family : List.of(
                "yulan_time_to_first_token_seconds",
                "yulan_inter_token_latency_seconds",
                "yulan_e2e_request_latency_seconds")) {
            assertThat(quantiles).anyMatch(q -> q.contains(family + "_bucket"));
        }
        for (String query : quantiles) {
            assertThat(query).contains("_bucket").contains("by (le)");
        }
    }

    @Test
    void panelsHaveUniqueIdsAndUseTheDataSourceVariable() {
        Set<Integer> ids = new HashSet<>();
        for (JsonNode panel : dashboard.path("panels")) {
            assertThat(ids.add(panel.path("id").asInt()))
                    .as("panel id %s", panel.path("id"))
                    .isTrue();
            if (!panel.path("type").asText().equals("row")) {
                assertThat(panel.path("datasource").path("uid").asText()).isEqualTo("${datasource}");
                assertThat(panel.path("targets")).isNotEmpty();
            }
        }
    }

    private static void collectQueries(JsonNode node, List<String> out) {
        if (node.isObject()) {
            for (var field : node.properties()) {
                String name = field.getKey();
                JsonNode value = field.getValue();
                if (value.isTextual() && (name.equals("expr") || name.equals("query") || name.equals("definition"))) {
                    out.add(value.asText());
                } else {
                    collectQueries(value, out);
                }
            }
        } else if (node.isArray()) {
            node.forEach(child -> collectQueries(child, out));
        }
    }
}
