package dev.yulan.topology.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.yulan.schemas.Completion;
import dev.yulan.schemas.CompletionChunk;
import dev.yulan.schemas.Message;
import dev.yulan.schemas.PromptRequest;
import dev.yulan.schemas.codec.RecordFormat;
import dev.yulan.topology.broker.EmbeddedBroker;
import dev.yulan.topology.cli.ConfigCommand;
import dev.yulan.topology.client.ClientSettings;
import dev.yulan.topology.client.CompletionFeed;
import dev.yulan.topology.client.PromptSender;
import dev.yulan.topology.config.ConfigLoader.EffectiveConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The operator as {@code run} and {@code demo} start it: embedded broker, bundled model, metrics endpoint. */
class OperatorRuntimeTest {

    private static EmbeddedBroker broker;

    @BeforeAll
    static void startBroker() {
        broker = EmbeddedBroker.start();
    }

    @AfterAll
    static void stopBroker() {
        broker.close();
    }

    private static EffectiveConfig config(Path stateDir, String application) {
        return ConfigCommand.loader()
                .load(
                        Optional.empty(),
                        Map.of(),
                        List.of(
                                "bootstrap.servers=" + broker.bootstrapServers(),
                                "state.dir=" + stateDir,
                                "application.id=" + application,
                                "metrics.port=0",
                                "topic.partitions=2",
                                "commit.interval.ms=50"));
    }

    private static PromptRequest chat(String conversation, String requestId, String text) {
        PromptRequest request = new PromptRequest();
        request.setRequestId(requestId);
        request.setConversationId(conversation);
        request.setMessages(List.of(new Message("user", text)));
        request.setMaxTokens(12);
        request.setTemperature(0f);
        request.setStream(true);
        request.setMetadata(new HashMap<>());
        return request;
    }

    @Test
    void streamsDefaultsApplyUnderTheConfiguration(@TempDir Path stateDir) {
        EffectiveConfig config = ConfigCommand.loader()
                .load(Optional.empty(), Map.of(), List.of("main.consumer.group.instance.id=yulan-0"));
        var properties = OperatorRuntime.streamsProperties(config, Map.of());
        assertThat(properties.get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG)).isEqualTo(StreamsConfig.EXACTLY_ONCE_V2);
        assertThat(properties.get(StreamsConfig.APPLICATION_ID_CONFIG)).isEqualTo("yulan-stream");
        assertThat(properties.get("main.consumer.group.instance.id")).isEqualTo("yulan-0");
    }

    @Test
    void metricsEndpointShowsServingMetricsAfterARealCompletion(@TempDir Path stateDir) throws Exception {
        EffectiveConfig config = config(stateDir, "runtime-metrics");
        try (OperatorRuntime runtime = OperatorRuntime.start(config, Map.of(), null, System.err)) {
            assertThat(runtime.awaitRunning(Duration.ofMinutes(1))).isTrue();
            assertThat(runtime.createdTopics()).contains("yulan.prompts", "yulan.completions");
            CompletableFuture<Completion> done = new CompletableFuture<>();
            StringBuilder streamed = new StringBuilder();
            CompletionFeed.Listener listener = new CompletionFeed.Listener() {
                @Override
                public void onChunk(CompletionChunk chunk) {
                    streamed.append(chunk.getText());
                }

                @Override
                public void onCompletion(Completion completion) {
                    done.complete(completion);
                }
            };
            try (CompletionFeed feed = CompletionFeed.start(
                            ClientSettings.consumer(config),
                            runtime.operatorConfig().topics(),
                            CompletionFeed.Start.END,
                            listener);
                    PromptSender sender =
                            new PromptSender(ClientSettings.producer(config), "yulan.prompts", RecordFormat.AVRO)) {
                sender.send("c1", chat("c1", "r1", "Once upon a time"));
                Completion completion = done.get(2, TimeUnit.MINUTES);
                assertThat(completion.getUsage().getCompletionTokens()).isPositive();
                assertThat(completion.getText()).startsWith(streamed.toString().substring(0, 0));
            }
            try (KafkaProducer<byte[], byte[]> raw = new KafkaProducer<>(
                    Map.of("bootstrap.servers", broker.bootstrapServers()),
                    new ByteArraySerializer(),
                    new ByteArraySerializer())) {
                raw.send(new ProducerRecord<>(
                                "yulan.prompts", "bad".getBytes(StandardCharsets.UTF_8), new byte[] {1, 2, 3}))
                        .get();
            }
            runtime.pollEngineStats();
            String metrics = awaitScrape(runtime.metricsPort(), "yulan_dead_letters_total{reason=\"malformed\"} 1.0");

            assertThat(value(metrics, "yulan_time_to_first_token_seconds_count"))
                    .isPositive();
            assertThat(value(metrics, "yulan_inter_token_latency_seconds_count"))
                    .isPositive();
            assertThat(value(metrics, "yulan_e2e_request_latency_seconds_count"))
                    .isPositive();
            assertThat(value(metrics, "yulan_request_queue_time_seconds_count")).isPositive();
            assertThat(value(metrics, "yulan_prompt_tokens_total")).isPositive();
            assertThat(value(metrics, "yulan_generation_tokens_total")).isPositive();
            assertThat(value(metrics, "yulan_batch_size_count")).isPositive();
            assertThat(value(metrics, "yulan_prefix_cache_queries_total")).isPositive();
            assertThat(metrics).contains("yulan_request_success_total{finished_reason=\"length\"}");
            assertThat(metrics).contains("yulan_time_to_first_token_seconds_bucket{le=");
            assertThat(metrics).contains("yulan_num_requests_running");
            assertThat(metrics).contains("kafka_stream_");

            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> ready = http.send(
                    HttpRequest.newBuilder(URI.create("http://localhost:" + runtime.metricsPort() + "/ready"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(ready.statusCode()).isEqualTo(200);
        }
    }

    /** Scrapes until the text appears (the dead letter is counted when the stream thread processes it). */
    private static String awaitScrape(int port, String expected) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        String body = "";
        for (int attempt = 0; attempt < 300; attempt++) {
            body = http.send(
                            HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/metrics"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString())
                    .body();
            if (body.contains(expected)) {
                return body;
            }
            Thread.sleep(100);
        }
        assertThat(body).contains(expected);
        return body;
    }

    private static double value(String metrics, String name) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "(\\{[^}]*\\})? ([0-9.eE+-]+)$")
                .matcher(metrics);
        double sum = 0;
        boolean found = false;
        while (m.find()) {
            sum += Double.parseDouble(m.group(2));
            found = true;
        }
        assertThat(found).as(name + " in the scrape").isTrue();
        return sum;
    }
}
