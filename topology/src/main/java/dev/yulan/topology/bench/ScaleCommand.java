package dev.yulan.topology.bench;

import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.yulan.inference.engine.EngineOptions;
import dev.yulan.inference.engine.ServingEngine;
import dev.yulan.topology.broker.EmbeddedBroker;
import dev.yulan.topology.config.RuntimeConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code yulan bench scale}: the same workload on one operator instance and on several, and the ratio. */
@Command(
        name = "scale",
        mixinStandardHelpOptions = true,
        description = {
            "Horizontal scaling: the same workload through Kafka on one operator instance, then on several (one"
                    + " application id, one broker, each instance with its own engine limited to the same compute"
                    + " threads), reporting both throughputs and their ratio.",
            "Every request is its own conversation (greedy, distinct prompts), so the partitioner spreads them; the"
                    + " prompt topic's partitions bound how many instances share the work."
        },
        footer = {
            "",
            "Examples:",
            "  ./yulan bench scale",
            "  ./yulan bench scale --instances 2 --threads 1 --requests 384 --max-tokens 256 --partitions 12",
            "  ./yulan bench scale --bootstrap-servers kafka:9092 --json scale.json"
        })
public final class ScaleCommand implements Callable<Integer> {

    @Option(
            names = "--model",
            paramLabel = "DIR",
            description = "A Hugging Face model directory. Default: the bundled tiny model (stories260K).")
    Path model;

    @Option(
            names = "--threads",
            paramLabel = "N",
            description = "Compute threads of each instance's engine. Default: ${DEFAULT-VALUE}.")
    int threads = 1;

    @Option(
            names = "--instances",
            paramLabel = "N",
            description = "Instances of the scaled run (compared with one). Default: ${DEFAULT-VALUE}.")
    int instances = 2;

    @Option(names = "--requests", paramLabel = "N", description = "Requests measured. Default: ${DEFAULT-VALUE}.")
    int requests = 192;

    @Option(
            names = "--max-tokens",
            paramLabel = "N",
            description = "max_tokens of each request. Default: ${DEFAULT-VALUE}.")
    int maxTokens = 256;

    @Option(
            names = "--partitions",
            paramLabel = "N",
            description = "Partitions of the benchmark's topics. Default: ${DEFAULT-VALUE}.")
    int partitions = 6;

    @Option(names = "--stream", description = "Requests also stream chunks.")
    boolean stream;

    @Option(
            names = "--bootstrap-servers",
            paramLabel = "HOST:PORT",
            description = "The Kafka cluster to use (it gets fresh topics per run). Default: a broker in this process.")
    String bootstrapServers;

    @Option(
            names = "--timeout",
            paramLabel = "SECONDS",
            description = "Longest wait for one wave of requests. Default: ${DEFAULT-VALUE}.")
    int timeoutSeconds = 600;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON.")
    Path json;

    @Override
    public Integer call() throws InterruptedException, IOException {
        if (threads < 1 || instances < 2) {
            throw new IllegalArgumentException("--threads must be at least 1 and --instances at least 2");
        }
        Path modelDir = model != null ? model : RuntimeConfig.bundledModelDirectory();
        if (!Files.isDirectory(modelDir)) {
            throw new IllegalArgumentException("--model " + modelDir + ": no such directory");
        }
        ScaleBenchmark.Workload workload = new ScaleBenchmark.Workload(requests, maxTokens, partitions, stream);
        PrintStream err = System.err;
        EmbeddedBroker broker = null;
        try {
            String servers = bootstrapServers;
            if (servers == null) {
                err.println("starting a broker in this process ...");
                broker = EmbeddedBroker.start();
                servers = broker.bootstrapServers();
            }
            ScaleBenchmark benchmark = new ScaleBenchmark(
                    servers,
                    () -> ServingEngine.open(modelDir, new EngineOptions(null, threads, null, null)),
                    workload,
                    Duration.ofSeconds(timeoutSeconds),
                    err::println);
            ScaleBenchmark.Comparison comparison = benchmark.compare(instances);
            report(comparison, modelDir);
            return 0;
        } finally {
            if (broker != null) {
                broker.close();
            }
        }
    }

    private void report(ScaleBenchmark.Comparison comparison, Path modelDir) throws IOException {
        PrintStream out = System.out;
        out.printf(
                Locale.ROOT,
                "%s, %d requests of up to %d tokens, %d partitions, %d compute thread(s) per instance%n",
                modelDir.getFileName(),
                requests,
                maxTokens,
                partitions,
                threads);
        for (ScaleBenchmark.Result result : new ScaleBenchmark.Result[] {comparison.single(), comparison.scaled()}) {
            out.printf(
                    Locale.ROOT,
                    "%d instance(s): %d tokens in %.2f s: %.1f tokens/s, %.2f requests/s%n",
                    result.instances(),
                    result.completionTokens(),
                    result.seconds(),
                    result.tokensPerSecond(),
                    result.requestsPerSecond());
        }
        out.printf(Locale.ROOT, "ratio %.2f (%d instances over 1)%n", comparison.ratio(), instances);
        if (json != null) {
            JsonMapper mapper = JsonMapper.builder()
                    .enable(SerializationFeature.INDENT_OUTPUT)
                    .build();
            ObjectNode root = mapper.createObjectNode();
            root.put("benchmark", "scale");
            root.put("time", Instant.now().toString());
            root.put("model", modelDir.toString());
            root.put("threads_per_instance", threads);
            root.put("requests", requests);
            root.put("max_tokens", maxTokens);
            root.put("partitions", partitions);
            root.put("stream", stream);
            for (ScaleBenchmark.Result result :
                    new ScaleBenchmark.Result[] {comparison.single(), comparison.scaled()}) {
                ObjectNode run = root.putObject(result.instances() == 1 ? "single" : "scaled");
                run.put("instances", result.instances());
                run.put("completion_tokens", result.completionTokens());
                run.put("seconds", result.seconds());
                run.put("tokens_per_s", result.tokensPerSecond());
                run.put("requests_per_s", result.requestsPerSecond());
            }
            root.put("ratio", comparison.ratio());
            mapper.writeValue(json.toFile(), root);
        }
    }
}
