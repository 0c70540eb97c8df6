package dev.yulan.topology.cli;

import dev.yulan.schemas.Completion;
import dev.yulan.schemas.PromptRequest;
import dev.yulan.topology.broker.EmbeddedBroker;
import dev.yulan.topology.client.ClientSettings;
import dev.yulan.topology.client.CompletionFeed;
import dev.yulan.topology.client.PromptSender;
import dev.yulan.topology.client.Transcript;
import dev.yulan.topology.config.ConfigLoader.EffectiveConfig;
import dev.yulan.topology.config.OperatorConfig;
import dev.yulan.topology.config.RuntimeConfig;
import dev.yulan.topology.runtime.OperatorRuntime;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code yulan demo}: everything in one process, with live streamed completions. */
@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        description = {
            "Start an embedded Kafka broker and the operator with the bundled tiny model (or --model), send a few"
                    + " sample conversations (one of them with a second turn) and show the completions streaming in"
                    + " from the stream topic. Then type prompts of your own; Ctrl-C stops everything.",
            "The broker's address and the metrics URL are printed, so a second terminal can use ./yulan produce,"
                    + " ./yulan consume or kcat against it.",
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  ./yulan demo",
            "  ./yulan demo --model ~/models/YuLan-Mini-Instruct --set quantize=q8_0",
            "  ./yulan demo --prompts 3 --exit          # for scripts: exit 0 when all three are complete",
        })
public final class DemoCommand implements java.util.concurrent.Callable<Integer> {

    /** A sample turn: the conversation, and its user message. */
    record Sample(String conversation, String text) {}

    static final List<Sample> SAMPLES = List.of(
            new Sample("lily", "Once upon a time, Lily found a big red ball in the park."),
            new Sample("tom", "Tom wanted to fly like a bird, so he"),
            new Sample("ben", "The little dog was sad because it was raining."),
            new Sample("lily", "What did Lily do with the ball next?"));

    private static final Duration COMPLETION_TIMEOUT = Duration.ofMinutes(10);

    @Option(
            names = "--model",
            paramLabel = "MODEL",
            description = "A Hugging Face model directory or hub id owner/name. Default: the bundled tiny model.")
    String model;

    @Option(
            names = "--prompts",
            paramLabel = "N",
            description = "Sample prompts to send (the first four are the built-in conversations). Default: 4.")
    int prompts = SAMPLES.size();

    @Option(
            names = "--exit",
            description = "Exit (status 0) when the sample prompts are complete; no interactive prompt.")
    boolean exit;

    @Option(
            names = "--max-tokens",
            paramLabel = "N",
            description = "Tokens per answer at most. Default: ${DEFAULT-VALUE}.")
    int maxTokens = 64;

    @Option(
            names = "--temperature",
            paramLabel = "T",
            description = "Sampling temperature (0 is greedy). Default: ${DEFAULT-VALUE}.")
    float temperature = 0.8f;

    @Option(
            names = "--port",
            paramLabel = "PORT",
            description = "Broker port; when taken, any free port. Default: ${DEFAULT-VALUE}.")
    int port = 9092;

    @Option(
            names = "--metrics-port",
            paramLabel = "PORT",
            description = "Metrics port; when taken, any free port. Default: ${DEFAULT-VALUE}.")
    int metricsPort = 9464;

    @Mixin
    ConfigCommand.Options config;

    /** What {@link #await} returns for a dead-lettered request (compared by identity). */
    private final Completion rejected = new Completion();

    /** Counted down by Ctrl-C (the shutdown hook) or by a test. */
    final CountDownLatch stop = new CountDownLatch(1);

    @Override
    public Integer call() throws Exception {
        if (prompts < 0) {
            throw new IllegalArgumentException("--prompts must be 0 or more");
        }
        quietLogs();
        PrintStream out = System.out;
        PrintStream err = System.err;
        boolean terminal = Transcript.stdoutIsTerminal();
        CountDownLatch closed = new CountDownLatch(1);
        Thread hook = new Thread(
                () -> {
                    stop.countDown();
                    try {
                        closed.await(60, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                },
                "yulan-demo-shutdown");
        if (!exit) {
            Runtime.getRuntime().addShutdownHook(hook);
        }
        Path stateDir = Files.createTempDirectory("yulan-demo-state");
        EmbeddedBroker broker = null;
        try {
            err.println("yulan demo: starting the Kafka broker ...");
            broker = EmbeddedBroker.start(EmbeddedBroker.Settings.defaults().withPort(available(port)));
            List<String> defaults = new ArrayList<>(List.of(
                    RuntimeConfig.APPLICATION_ID + "=yulan-demo",
                    OperatorConfig.TOPIC_PARTITIONS + "=3",
                    "commit.interval.ms=50"));
            List<String> flags = new ArrayList<>(List.of(
                    RuntimeConfig.BOOTSTRAP_SERVERS + "=" + broker.bootstrapServers(),
                    RuntimeConfig.STATE_DIR + "=" + stateDir,
                    RuntimeConfig.METRICS_PORT + "=" + (metricsPort < 0 ? -1 : available(metricsPort))));
            if (model != null) {
                flags.add(RuntimeConfig.MODEL + "=" + model);
            }
            EffectiveConfig effective = config.load(defaults, flags);
            try (OperatorRuntime runtime = OperatorRuntime.start(effective, Map.of(), null, err)) {
                int status = serve(runtime, effective, broker, out, err, terminal);
                if (stop.getCount() == 0) {
                    err.println();
                    err.println("yulan demo: stopping (the operator, then the engine, then the broker) ...");
                }
                return status;
            }
        } finally {
            if (broker != null) {
                broker.close();
            }
            deleteQuietly(stateDir);
            closed.countDown();
            if (!exit) {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // the hook is running
                }
            }
        }
    }

    private int serve(
            OperatorRuntime runtime,
            EffectiveConfig effective,
            EmbeddedBroker broker,
            PrintStream out,
            PrintStream err,
            boolean terminal)
            throws InterruptedException {
        if (!runtime.awaitRunning(Duration.ofMinutes(2))) {
            throw new IllegalStateException("the operator did not start: Kafka Streams is " + runtime.state());
        }
        String bootstrap = broker.bootstrapServers();
        err.println();
        err.println("  Kafka broker:  bootstrap.servers=" + bootstrap);
        if (runtime.metricsPort() >= 0) {
            err.println("  Metrics:       http://localhost:" + runtime.metricsPort() + "/metrics   (/health, /ready)");
        }
        err.println("  Model:         " + runtime.engine().model().id());
        err.println("  Try, in another terminal:");
        err.println("    ./yulan produce --bootstrap-servers " + bootstrap + " --conversation mine --wait 'Once upon a"
                + " time'");
        err.println("    ./yulan consume --bootstrap-servers " + bootstrap + " --follow");
        err.println("    kcat -b " + bootstrap + " -t "
                + runtime.operatorConfig().topics().prompts()
                + " -P -k mine <<< '{\"prompt\": \"Once upon a time\", \"stream\": true}'");
        err.println();
        Transcript transcript = new Transcript(out, terminal, true, conversation -> true);
        try (CompletionFeed feed = CompletionFeed.start(
                        ClientSettings.consumer(effective),
                        runtime.operatorConfig().topics(),
                        CompletionFeed.Start.END,
                        true,
                        transcript);
                PromptSender sender = new PromptSender(
                        ClientSettings.producer(effective),
                        runtime.operatorConfig().topics().prompts(),
                        dev.yulan.schemas.codec.RecordFormat.AVRO)) {
            List<CompletableFuture<Completion>> pending = new ArrayList<>();
            for (int i = 0; i < prompts; i++) {
                Sample sample = sample(i);
                PromptRequest request =
                        PromptBuilder.request(sample.conversation(), sample.text(), true, maxTokens, temperature, true);
                CompletableFuture<Completion> done = transcript.completionOf(request.getRequestId());
                transcript.note(sample.conversation(), "> " + sample.text());
                sender.send(sample.conversation(), request);
                pending.add(done);
            }
            int failures = 0;
            for (CompletableFuture<Completion> done : pending) {
                Completion completion = await(done, feed);
                if (completion == null) {
                    return 130; // stopped
                }
                if (completion == rejected || "error".equals(completion.getFinishReason())) {
                    failures++;
                }
            }
            if (exit) {
                err.println("yulan demo: " + prompts + " completions received, exiting");
                return failures == 0 ? 0 : 1;
            }
            interactive(transcript, sender, feed, out, terminal);
            return 0;
        }
    }

    private Completion await(CompletableFuture<Completion> done, CompletionFeed feed) throws InterruptedException {
        long deadline = System.nanoTime() + COMPLETION_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (stop.getCount() == 0) {
                return null;
            }
            if (feed.failure() != null) {
                throw new IllegalStateException(
                        "reading completions failed: " + feed.failure().getMessage());
            }
            try {
                return done.get(100, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                // keep waiting
            } catch (ExecutionException e) {
                if (e.getCause() instanceof Transcript.RejectedException) {
                    return rejected; // the transcript showed why
                }
                throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
            }
        }
        throw new IllegalStateException("no completion within " + COMPLETION_TIMEOUT.toMinutes() + " minutes");
    }

    /** Reads the user's prompts (a line each) until Ctrl-C; each waits for its answer, as produce --wait does. */
    private void interactive(
            Transcript transcript, PromptSender sender, CompletionFeed feed, PrintStream out, boolean terminal)
            throws InterruptedException {
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(
                () -> {
                    try (BufferedReader in =
                            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                        String line;
                        while ((line = in.readLine()) != null) {
                            lines.add(line);
                        }
                    } catch (IOException e) {
                        // stdin closed
                    }
                },
                "yulan-demo-stdin");
        reader.setDaemon(true);
        reader.start();
        String you = "you";
        out.println();
        out.println("Type a prompt and press Enter (conversation '" + you + "'); Ctrl-C stops the demo.");
        out.print("you> ");
        out.flush();
        while (stop.getCount() > 0) {
            String line = lines.poll(200, TimeUnit.MILLISECONDS);
            if (line == null) {
                continue;
            }
            if (line.isBlank()) {
                out.print("you> ");
                out.flush();
                continue;
            }
            PromptRequest request = PromptBuilder.request(you, line.strip(), true, maxTokens, temperature, true);
            CompletableFuture<Completion> done = transcript.completionOf(request.getRequestId());
            sender.send(you, request);
            if (await(done, feed) == null) {
                return;
            }
            out.print("you> ");
            out.flush();
        }
    }

    /** A demo shows the conversation: Kafka's retries and notices are noise there, its errors are not. */
    private static void quietLogs() {
        for (String logger : new String[] {"kafka", "org.apache.kafka", "state.change.logger"}) {
            String property = "org.slf4j.simpleLogger.log." + logger;
            if (System.getProperty(property) == null) {
                System.setProperty(property, "error");
            }
        }
    }

    /** The i-th sample: the built-in conversations, then numbered stories. */
    static Sample sample(int i) {
        if (i < SAMPLES.size()) {
            return SAMPLES.get(i);
        }
        return new Sample("story-" + (i + 1), "One day, a little girl named Sue went to the shop and");
    }

    /** The port if it is free, else any free one. */
    static int available(int port) {
        if (port == 0) {
            return 0;
        }
        try (ServerSocket socket = new ServerSocket(port)) {
            socket.setReuseAddress(true);
            return port;
        } catch (IOException e) {
            try (ServerSocket any = new ServerSocket(0)) {
                return any.getLocalPort();
            } catch (IOException again) {
                throw new UncheckedIOException("no free port: " + again.getMessage(), again);
            }
        }
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary directory left behind is harmless
        }
    }
}
