package dev.yulan.topology.cli;

import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.yulan.inference.engine.ServingEngine;
import dev.yulan.topology.bench.EndToEndBenchmark;
import dev.yulan.topology.bench.EndToEndBenchmark.Percentiles;
import dev.yulan.topology.bench.EndToEndBenchmark.Stats;
import dev.yulan.topology.bench.EndToEndBenchmark.Workload;
import dev.yulan.topology.broker.EmbeddedBroker;
import dev.yulan.topology.client.ClientSettings;
import dev.yulan.topology.config.ConfigLoader.EffectiveConfig;
import dev.yulan.topology.config.OperatorConfig;
import dev.yulan.topology.config.RuntimeConfig;
import dev.yulan.topology.runtime.ModelSource;
import dev.yulan.topology.runtime.OperatorRuntime;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code yulan bench e2e}: the operator through Kafka against the bare engine, on one workload. */
@Command(
        name = "e2e",
        mixinStandardHelpOptions = true,
        description = {
            "End to end through Kafka: start an embedded broker and the operator, drive N concurrent conversations"
                    + " of T turns each through the prompt topic (each turn sent when the previous one completed,"
                    + " greedy, streamed), and report completions/s, generated tokens/s, and time to first token,"
                    + " inter-token and end-to-end latency percentiles (p50/p90/p99) as a client sees them.",
            "The same workload then runs on the bare engine (the same engine instance), and the table shows what"
                    + " Kafka costs in percent.",
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  ./yulan bench e2e",
            "  ./yulan bench e2e --conversations 16 --turns 3 --max-tokens 64 --json e2e.json",
            "  ./yulan bench e2e --model ~/models/YuLan-Mini --set quantize=q8_0 --conversations 8",
        })
public final class BenchEndToEndCommand implements Callable<Integer> {

    @Option(
            names = "--model",
            paramLabel = "MODEL",
            description = "A Hugging Face model directory or hub id. Default: the bundled tiny model.")
    String model;

    @Option(
            names = "--conversations",
            paramLabel = "N",
            description = "Concurrent conversations. Default: ${DEFAULT-VALUE}.")
    int conversations = 8;

    @Option(names = "--turns", paramLabel = "T", description = "Turns per conversation. Default: ${DEFAULT-VALUE}.")
    int turns = 2;

    @Option(
            names = "--max-tokens",
            paramLabel = "G",
            description = "Tokens per answer at most. Default: ${DEFAULT-VALUE}.")
    int maxTokens = 32;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON.")
    Path json;

    @Mixin
    ConfigCommand.Options config;

    @Override
    public Integer call() throws Exception {
        Workload workload = new Workload(conversations, turns, maxTokens);
        for (String logger : new String[] {"kafka", "org.apache.kafka", "state.change.logger"}) {
            System.setProperty("org.slf4j.simpleLogger.log." + logger, "error");
        }
        PrintStream err = System.err;
        Path stateDir = Files.createTempDirectory("yulan-bench-state");
        List<String> defaults = List.of(
                RuntimeConfig.APPLICATION_ID + "=yulan-bench",
                RuntimeConfig.ENGINE_MAX_RUNNING + "=" + Math.max(16, conversations),
                OperatorConfig.MAX_INFLIGHT_PER_TASK + "=" + Math.max(16, conversations));
        List<String> flags = new ArrayList<>(List.of(RuntimeConfig.METRICS_PORT + "=-1"));
        if (model != null) {
            flags.add(RuntimeConfig.MODEL + "=" + model);
        }
        EffectiveConfig base = config.load(defaults, flags);
        ModelSource source = ModelSource.of(base.getString(RuntimeConfig.MODEL));
        try (ServingEngine engine = source.open(
                        ModelSource.quantizeType(base.getString(RuntimeConfig.QUANTIZE)),
                        base.getInt(RuntimeConfig.ENGINE_THREADS),
                        OperatorRuntime.schedulerConfig(base),
                        err);
                EmbeddedBroker broker = EmbeddedBroker.start()) {
            err.println("warming up the engine ...");
            EndToEndBenchmark.bare(engine, new Workload(Math.min(4, conversations), 1, maxTokens), "warm");
            err.println("bare engine: " + conversations + " conversations x " + turns + " turns ...");
            Stats bare = EndToEndBenchmark.bare(engine, workload, "bare");
            List<String> kafkaFlags = new ArrayList<>(flags);
            kafkaFlags.add(RuntimeConfig.BOOTSTRAP_SERVERS + "=" + broker.bootstrapServers());
            kafkaFlags.add(RuntimeConfig.STATE_DIR + "=" + stateDir);
            EffectiveConfig effective = config.load(defaults, kafkaFlags);
            Stats kafka;
            try (OperatorRuntime runtime = OperatorRuntime.start(effective, Map.of(), engine, err)) {
                if (!runtime.awaitRunning(Duration.ofMinutes(2))) {
                    throw new IllegalStateException("the operator did not start: Kafka Streams is " + runtime.state());
                }
                err.println("warming up through Kafka ...");
                EndToEndBenchmark.throughKafka(
                        ClientSettings.producer(effective),
                        ClientSettings.consumer(effective),
                        runtime.operatorConfig().topics(),
                        new Workload(Math.min(4, conversations), 1, maxTokens),
                        "kwarm");
                err.println("through Kafka: " + conversations + " conversations x " + turns + " turns ...");
                kafka = EndToEndBenchmark.throughKafka(
                        ClientSettings.producer(effective),
                        ClientSettings.consumer(effective),
                        runtime.operatorConfig().topics(),
                        workload,
                        "kafka");
            }
            report(engine, workload, effective, bare, kafka);
            return 0;
        } finally {
            try (Stream<Path> files = Files.walk(stateDir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // a temporary directory left behind is harmless
            }
        }
    }

    private void report(ServingEngine engine, Workload workload, EffectiveConfig effective, Stats bare, Stats kafka)
            throws IOException {
        PrintStream out = System.out;
        out.printf(
                Locale.ROOT,
                "%s, %d conversations x %d turns, up to %d tokens each, commit.interval.ms=%s%n",
                engine.model().id(),
                workload.conversations(),
                workload.turns(),
                workload.maxTokens(),
                effective.kafka().getOrDefault("commit.interval.ms", "100"));
        out.println("| | completions/s | tokens/s | TTFT p50/p90/p99 ms | inter-token p50/p90/p99 ms"
                + " | end-to-end p50/p90/p99 ms |");
        out.println("|---|---|---|---|---|---|");
        row(out, "bare engine", bare);
        row(out, "through Kafka", kafka);
        double overhead = 100 * (bare.tokensPerSecond() - kafka.tokensPerSecond()) / bare.tokensPerSecond();
        out.printf(
                Locale.ROOT,
                "Kafka's overhead: %.1f%% fewer tokens/s, +%.0f ms time to first token (p50), +%.0f ms end to end"
                        + " (p50)%n",
                overhead,
                kafka.timeToFirstTokenMs().p50() - bare.timeToFirstTokenMs().p50(),
                kafka.endToEndMs().p50() - bare.endToEndMs().p50());
        if (json != null) {
            JsonMapper mapper = JsonMapper.builder()
                    .enable(SerializationFeature.INDENT_OUTPUT)
                    .build();
            ObjectNode root = mapper.createObjectNode();
            root.put("benchmark", "e2e");
            root.put("time", Instant.now().toString());
            root.put("model", engine.model().id());
            root.put("conversations", workload.conversations());
            root.put("turns", workload.turns());
            root.put("max_tokens", workload.maxTokens());
            root.put("commit_interval_ms", effective.kafka().getOrDefault("commit.interval.ms", "100"));
            root.set("bare", toJson(mapper, bare));
            root.set("kafka", toJson(mapper, kafka));
            root.put("overhead_tokens_per_s_percent", overhead);
            mapper.writeValue(json.toFile(), root);
            System.err.println("wrote " + json);
        }
    }

    private static void row(PrintStream out, String name, Stats s) {
        out.printf(
                Locale.ROOT,
                "| %s | %.2f | %.1f | %s | %s | %s |%n",
                name,
                s.completionsPerSecond(),
                s.tokensPerSecond(),
                triple(s.timeToFirstTokenMs()),
                triple(s.interTokenLatencyMs()),
                triple(s.endToEndMs()));
    }

    private static String triple(Percentiles p) {
        return String.format(Locale.ROOT, "%.0f / %.0f / %.0f", p.p50(), p.p90(), p.p99());
    }

    private static ObjectNode toJson(JsonMapper mapper, Stats s) {
        ObjectNode node = mapper.createObjectNode();
        node.put("requests", s.requests());
        node.put("generated_tokens", s.generatedTokens());
        node.put("seconds", s.seconds());
        node.put("completions_per_s", s.completionsPerSecond());
        node.put("tokens_per_s", s.tokensPerSecond());
        percentiles(node.putObject("time_to_first_token_ms"), s.timeToFirstTokenMs());
        percentiles(node.putObject("inter_token_latency_ms"), s.interTokenLatencyMs());
        percentiles(node.putObject("end_to_end_ms"), s.endToEndMs());
        return node;
    }

    private static void percentiles(ObjectNode node, Percentiles p) {
        node.put("p50", p.p50());
        node.put("p90", p.p90());
        node.put("p99", p.p99());
        node.put("mean", p.mean());
    }
}
