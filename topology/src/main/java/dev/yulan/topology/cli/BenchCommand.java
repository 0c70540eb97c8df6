package dev.yulan.topology.cli;

import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.yulan.inference.cache.KvLayout;
import dev.yulan.inference.engine.ServingEngine;
import dev.yulan.inference.kernel.Kernels;
import dev.yulan.inference.kernel.MachineLimits;
import dev.yulan.inference.model.Checkpoint;
import dev.yulan.inference.model.LoadOptions;
import dev.yulan.inference.model.LoadProgress;
import dev.yulan.inference.model.ModelLoader;
import dev.yulan.inference.model.ModelWeights;
import dev.yulan.inference.model.SyntheticShape;
import dev.yulan.inference.model.SyntheticTokenizer;
import dev.yulan.inference.model.Transformer;
import dev.yulan.inference.scheduler.SchedulerConfig;
import dev.yulan.inference.tensor.DType;
import dev.yulan.topology.bench.EngineBenchmark;
import dev.yulan.topology.bench.ScaleCommand;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code yulan bench}: speed, next to this machine's limits. */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = "Benchmarks, reported next to this machine's measured limits.",
        footerHeading = "%nExamples:%n",
        footer = {
            "  ./yulan bench engine --model synth:yulan-mini --dtype q8_0 --batch 1,4,16",
            "  ./yulan bench e2e --conversations 16 --turns 3 --json e2e.json",
        },
        subcommands = {BenchCommand.Engine.class, BenchEndToEndCommand.class, ScaleCommand.class})
public final class BenchCommand implements Runnable {

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** {@code yulan bench engine}. */
    @Command(
            name = "engine",
            mixinStandardHelpOptions = true,
            description = {
                "Engine throughput: prefill and decode tokens/s per batch size, with the memory bandwidth and fp32 FMA"
                        + " peak of this machine measured in the same run.",
                "B sequences with distinct P-token prompts are prefilled together, then each generates G tokens"
                        + " greedily (the shape of ../shared/bench/llamacpp-bench.mjs)."
            },
            footer = {
                "",
                "Examples:",
                "  ./yulan bench engine --model synth:yulan-mini --dtype q8_0 --batch 1,4,16 --json q8.json",
                "  ./yulan bench engine --model synth:yulan-mini --layers 8 --dtype bf16 --batch 1"
            })
    static final class Engine implements Callable<Integer> {

        @Option(
                names = "--model",
                paramLabel = "MODEL",
                description = "synth:yulan-mini or synth:tiny (random weights built in memory), or a model directory."
                        + " Default: ${DEFAULT-VALUE}.")
        String model = "synth:yulan-mini";

        @Option(names = "--layers", paramLabel = "N", description = "Override the synthetic model's layer count.")
        Integer layers;

        @Option(
                names = "--dtype",
                paramLabel = "TYPE",
                description = "Weights: bf16, f16, f32, q8_0 or q4_0. Default: ${DEFAULT-VALUE}.")
        String dtype = "bf16";

        @Option(names = "--batch", paramLabel = "B,B,...", split = ",", description = "Batch sizes. Default: 1.")
        List<Integer> batches = new ArrayList<>(List.of(1));

        @Option(names = "--prompt-tokens", paramLabel = "P", description = "Default: ${DEFAULT-VALUE}.")
        int promptTokens = 64;

        @Option(names = "--gen-tokens", paramLabel = "G", description = "Default: ${DEFAULT-VALUE}.")
        int genTokens = 16;

        @Option(names = "--threads", paramLabel = "N", description = "Compute threads. Default: one per core.")
        int threads;

        @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON.")
        Path json;

        @Override
        public Integer call() throws IOException {
            PrintStream err = System.err;
            DType weightType = parseDtype(dtype);
            Path tokenizerDir = Files.createTempDirectory("yulan-bench");
            // One pool of worker threads measures the machine, then computes for the engine (which closes it).
            Kernels kernels = threads > 0 ? Kernels.create(threads) : Kernels.create();
            try {
                err.println("measuring memory bandwidth and fp32 FMA peak ...");
                double bandwidth = MachineLimits.measureReadBandwidth(kernels);
                double peak = MachineLimits.measureFmaPeak(kernels);
                err.printf(Locale.ROOT, "read bandwidth %.1f GB/s, fp32 FMA peak %.1f GFLOP/s%n", bandwidth, peak);
                Checkpoint checkpoint = load(weightType, tokenizerDir, err);
                int maxBatch =
                        batches.stream().mapToInt(Integer::intValue).max().orElse(1);
                int context = promptTokens + genTokens + 16;
                KvLayout kv = Transformer.kvLayout(checkpoint.config(), 16, DType.BF16);
                SchedulerConfig scheduler = SchedulerConfig.defaults(context)
                        .withMaxRunning(maxBatch)
                        .withMaxBatchTokens(Math.max(256, maxBatch))
                        .withKvCache(kv.blockBytes() * maxBatch * (context / 16 + 2), DType.BF16);
                Path tokens = checkpoint.directory() != null ? checkpoint.directory() : tokenizerDir;
                ServingEngine engine;
                try {
                    engine = ServingEngine.start(checkpoint, tokens, kernels, scheduler, model + " " + weightType);
                } catch (RuntimeException e) {
                    checkpoint.close();
                    kernels.close();
                    throw e;
                }
                try (engine) {
                    return report(engine, checkpoint, weightType, bandwidth, peak, kernels.threads(), kv);
                }
            } finally {
                try (var files = Files.walk(tokenizerDir)) {
                    files.sorted(java.util.Comparator.reverseOrder())
                            .forEach(p -> p.toFile().delete());
                }
            }
        }

        private int report(
                ServingEngine engine,
                Checkpoint checkpoint,
                DType weightType,
                double bandwidth,
                double peak,
                int used,
                KvLayout kv)
                throws IOException {
            PrintStream err = System.err;
            ModelWeights weights = checkpoint.weights();
            long bytesPerToken = weights.bytesReadPerToken();
            long paramsPerToken = weights.matrices()
                            .mapToLong(m -> (long) m.rows() * m.cols())
                            .sum()
                    - (weights.tied()
                            ? 0
                            : (long) weights.embedding().rows()
                                    * weights.embedding().cols());
            double roofline = bandwidth * 1e9 / bytesPerToken;
            double ceiling = peak * 1e9 / (2.0 * paramsPerToken);
            long kvPerToken = kv.bytesPerToken();
            EngineBenchmark bench = new EngineBenchmark(engine, promptTokens, genTokens);
            err.println("warming up ...");
            bench.run(1);

            JsonMapper mapper = JsonMapper.builder()
                    .enable(SerializationFeature.INDENT_OUTPUT)
                    .build();
            ObjectNode root = mapper.createObjectNode();
            root.put("benchmark", "engine");
            root.put("time", Instant.now().toString());
            root.put("model", model);
            root.put("layers", checkpoint.config().numLayers());
            root.put("dtype", weightType.name().toLowerCase(Locale.ROOT));
            root.put("threads", used);
            root.put("prompt_tokens", promptTokens);
            root.put("gen_tokens", genTokens);
            root.put("weight_bytes_per_token", bytesPerToken);
            root.put("weights_per_token", paramsPerToken);
            root.put("kv_bytes_per_token", kvPerToken);
            root.put("bandwidth_gb_per_s", bandwidth);
            root.put("fma_peak_gflop_per_s", peak);
            root.put("roofline_tokens_per_s", roofline);
            root.put("compute_ceiling_tokens_per_s", ceiling);
            ArrayNode rows = root.putArray("results");

            PrintStream out = System.out;
            out.printf(
                    Locale.ROOT,
                    "%s %s, %d layers, %d threads; %.2f GB of weights read per token, %d KB of KV per token%n",
                    model,
                    weightType,
                    checkpoint.config().numLayers(),
                    used,
                    bytesPerToken / 1e9,
                    kvPerToken / 1024);
            out.printf(
                    Locale.ROOT,
                    "limits: bandwidth %.1f GB/s -> batch-1 roofline %.2f tok/s; fp32 FMA peak %.0f GFLOP/s"
                            + " -> compute ceiling %.2f tok/s%n",
                    bandwidth,
                    roofline,
                    peak,
                    ceiling);
            out.println("| batch | prefill tok/s | decode tok/s | inter-token ms | TTFT ms | x roofline | x ceiling |");
            out.println("|---|---|---|---|---|---|---|");
            for (int batch : batches) {
                err.println("batch " + batch + " ...");
                EngineBenchmark.Result r = bench.run(batch);
                ObjectNode row = rows.addObject();
                row.put("batch", batch);
                row.put("prefill_tokens_per_s", r.prefillTokensPerSecond());
                row.put("decode_tokens_per_s", r.decodeTokensPerSecond());
                row.put("inter_token_latency_ms", r.interTokenLatencyMs());
                row.put("time_to_first_token_ms", r.timeToFirstTokenMs());
                row.put("roofline_fraction", r.decodeTokensPerSecond() / roofline);
                row.put("compute_fraction", r.decodeTokensPerSecond() / ceiling);
                row.put("prefill_compute_fraction", r.prefillTokensPerSecond() / ceiling);
                out.printf(
                        Locale.ROOT,
                        "| %d | %.1f | %.2f | %.0f | %.0f | %.2f | %.2f |%n",
                        batch,
                        r.prefillTokensPerSecond(),
                        r.decodeTokensPerSecond(),
                        r.interTokenLatencyMs(),
                        r.timeToFirstTokenMs(),
                        r.decodeTokensPerSecond() / roofline,
                        r.decodeTokensPerSecond() / ceiling);
            }
            if (json != null) {
                mapper.writeValue(json.toFile(), root);
                err.println("wrote " + json);
            }
            return 0;
        }

        private Checkpoint load(DType weightType, Path tokenizerDir, PrintStream err) {
            LoadProgress progress = new ProgressBar("building weights", err);
            if (!model.startsWith("synth:")) {
                LoadOptions options = LoadOptions.defaults()
                        .withQuantize(weightType.isQuantized() ? weightType : null)
                        .withProgress(progress);
                return ModelLoader.load(Path.of(model), options);
            }
            SyntheticShape shape = SyntheticShape.preset(model.substring("synth:".length()));
            if (layers != null) {
                shape = shape.withLayers(layers);
            }
            SyntheticTokenizer.write(tokenizerDir, shape.vocab(), shape.maxPositionEmbeddings());
            LoadOptions options = LoadOptions.defaults()
                    .withQuantize(weightType.isQuantized() ? weightType : null)
                    .withProgress(progress);
            return ModelLoader.load(shape, weightType.isQuantized() ? DType.BF16 : weightType, 42, options);
        }

        static DType parseDtype(String value) {
            return switch (value.toLowerCase(Locale.ROOT)) {
                case "bf16" -> DType.BF16;
                case "f16" -> DType.F16;
                case "f32" -> DType.F32;
                case "q8_0", "q8" -> DType.Q8_0;
                case "q4_0", "q4" -> DType.Q4_0;
                default ->
                    throw new IllegalArgumentException("--dtype " + value + ": use bf16, f16, f32, q8_0 or q4_0");
            };
        }
    }
}
