package dev.yulan.topology.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.yulan.inference.engine.FinishReason;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetricsServerTest {

    private final HttpClient http = HttpClient.newHttpClient();
    private final AtomicReference<Readiness> readiness = new AtomicReference<>(Readiness.notReady("model not loaded"));
    private PrometheusMeterRegistry registry;
    private ServingMetrics metrics;
    private MetricsServer server;

    @BeforeEach
    void start() {
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        metrics = new ServingMetrics(registry);
        server = MetricsServer.start(0, registry, readiness::get);
    }

    @AfterEach
    void stop() {
        server.close();
        metrics.close();
        registry.close();
    }

    @Test
    void scrapeShowsServingMetersUnderVllmStyleNames() throws Exception {
        metrics.recordTimeToFirstToken(Duration.ofMillis(120));
        metrics.recordInterTokenLatency(Duration.ofMillis(30));
        metrics.recordInterTokenLatency(Duration.ofMillis(40));
        metrics.recordRequestLatency(Duration.ofSeconds(2));
        metrics.recordQueueTime(Duration.ofMillis(5));
        metrics.setRequestsRunning(3);
        metrics.setRequestsWaiting(7);
        metrics.setKvCacheUsage("0_1", 0.25);
        metrics.setKvCacheUsage("0_2", 0.5);
        metrics.recordBatchSize(4);
        metrics.addPromptTokens(100);
        metrics.addGenerationTokens(42);
        metrics.addCachedPromptTokens(64);
        metrics.recordPrefixCacheLookup(100, 64);
        metrics.recordPreemption();
        metrics.recordDeadLetter(DeadLetterReason.MALFORMED);
        metrics.recordDeadLetter(DeadLetterReason.fromName("prompt-too-long"));
        metrics.recordCompletion(FinishReason.STOP);
        metrics.recordCompletion(FinishReason.STOP);
        metrics.recordCompletion(FinishReason.LENGTH);

        HttpResponse<String> response = get("/metrics");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type"))
                .hasValueSatisfying(type -> assertThat(type).startsWith("text/plain"));
        String body = response.body();
        assertThat(value(body, "yulan_time_to_first_token_seconds_count")).isEqualTo(1);
        assertThat(value(body, "yulan_time_to_first_token_seconds_sum")).isCloseTo(0.12, within());
        assertThat(value(body, "yulan_time_to_first_token_seconds_bucket{le=\"0.25\"}"))
                .isEqualTo(1);
        assertThat(value(body, "yulan_time_to_first_token_seconds_bucket{le=\"0.1\"}"))
                .isEqualTo(0);
        assertThat(value(body, "yulan_inter_token_latency_seconds_count")).isEqualTo(2);
        assertThat(value(body, "yulan_e2e_request_latency_seconds_count")).isEqualTo(1);
        assertThat(value(body, "yulan_request_queue_time_seconds_count")).isEqualTo(1);
        assertThat(value(body, "yulan_num_requests_running")).isEqualTo(3);
        assertThat(value(body, "yulan_num_requests_waiting")).isEqualTo(7);
        assertThat(value(body, "yulan_kv_cache_usage_perc{shard=\"0_1\"}")).isEqualTo(0.25);
        assertThat(value(body, "yulan_kv_cache_usage_perc{shard=\"0_2\"}")).isEqualTo(0.5);
        assertThat(value(body, "yulan_batch_size_count")).isEqualTo(1);
        assertThat(value(body, "yulan_batch_size_sum")).isEqualTo(4);
        assertThat(value(body, "yulan_prompt_tokens_total")).isEqualTo(100);
        assertThat(value(body, "yulan_generation_tokens_total")).isEqualTo(42);
        assertThat(value(body, "yulan_prompt_tokens_cached_total")).isEqualTo(64);
        assertThat(value(body, "yulan_prefix_cache_queries_total")).isEqualTo(100);
        assertThat(value(body, "yulan_prefix_cache_hits_total")).isEqualTo(64);
        assertThat(value(body, "yulan_num_preemptions_total")).isEqualTo(1);
        assertThat(value(body, "yulan_dead_letters_total{reason=\"malformed\"}"))
                .isEqualTo(1);
        assertThat(value(body, "yulan_dead_letters_total{reason=\"prompt_too_long\"}"))
                .isEqualTo(1);
        assertThat(value(body, "yulan_dead_letters_total{reason=\"unknown_schema\"}"))
                .isEqualTo(0);
        assertThat(value(body, "yulan_request_success_total{finished_reason=\"stop\"}"))
                .isEqualTo(2);
        assertThat(value(body, "yulan_request_success_total{finished_reason=\"length\"}"))
                .isEqualTo(1);

        metrics.removeKvCacheShard("0_1");
        assertThat(get("/metrics").body()).doesNotContain("shard=\"0_1\"").contains("shard=\"0_2\"");
    }

    @Test
    void readyFollowsTheSupplierWhileHealthStaysUp() throws Exception {
        assertThat(get("/health").statusCode()).isEqualTo(200);
        HttpResponse<String> notReady = get("/ready");
        assertThat(notReady.statusCode()).isEqualTo(503);
        assertThat(notReady.body()).contains("model not loaded");

        readiness.set(Readiness.ok());
        assertThat(get("/ready").statusCode()).isEqualTo(200);
        assertThat(get("/health").statusCode()).isEqualTo(200);

        readiness.set(Readiness.notReady("kafka streams is REBALANCING"));
        assertThat(get("/ready").body()).contains("REBALANCING");
    }

    @Test
    void rejectsWritesToTheEndpoints() throws Exception {
        var post = HttpRequest.newBuilder(uri("/metrics"))
                .POST(HttpRequest.BodyPublishers.ofString("x"))
                .build();
        assertThat(http.send(post, HttpResponse.BodyHandlers.ofString()).statusCode())
                .isEqualTo(405);
    }

    @Test
    void bindsJvmAndKafkaStreamsMetrics(@TempDir Path stateDir) throws Exception {
        metrics.bindJvmAndProcess();
        Properties props = new Properties();
        props.putAll(Map.of(
                StreamsConfig.APPLICATION_ID_CONFIG, "metrics-test",
                // Never started, so never connects.
                StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:9",
                StreamsConfig.STATE_DIR_CONFIG,
                        System.getProperty("java.io.tmpdir") + "/yulan-metrics-test-"
                                + ProcessHandle.current().pid()));
        StreamsBuilder builder = new StreamsBuilder();
        builder.stream("in").to("out");
        try (KafkaStreams streams = new KafkaStreams(builder.build(), props)) {
            metrics.bindKafkaStreams(streams);
            String body = get("/metrics").body();
            assertThat(body).contains("jvm_memory_used_bytes", "process_uptime_seconds", "jvm_threads_live_threads");
            assertThat(body).contains("kafka_stream_");
        }
    }

    @Test
    void rejectsUsageOutsideZeroToOne() {
        assertThatThrownBy(() -> metrics.setKvCacheUsage("0_0", 1.5))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[0, 1]");
    }

    private static org.assertj.core.data.Offset<Double> within() {
        return org.assertj.core.data.Offset.offset(1e-9);
    }

    /** The value of one sample line, e.g. {@code name{label="x"} 1.0}; fails if the line is absent. */
    private static double value(String body, String sample) {
        // Labels added by the registry (none here) would come first; match the sample prefix exactly.
        Matcher matcher =
                Pattern.compile("(?m)^" + Pattern.quote(sample) + " (\\S+)").matcher(body);
        assertThat(matcher.find())
                .as(
                        "sample %s in\n%s",
                        sample,
                        Arrays.stream(body.split("\n"))
                                .filter(line -> line.startsWith("yulan_"))
                                .reduce("", (a, b) -> a + b + "\n"))
                .isTrue();
        return Double.parseDouble(matcher.group(1));
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(uri(path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.port() + path);
    }
}
