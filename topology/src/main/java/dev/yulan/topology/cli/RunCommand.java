package dev.yulan.topology.cli;

import dev.yulan.topology.config.ConfigLoader.EffectiveConfig;
import dev.yulan.topology.config.RuntimeConfig;
import dev.yulan.topology.runtime.OperatorRuntime;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.streams.KafkaStreams;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code yulan run}: the operator against a real Kafka cluster, until SIGTERM. */
@Command(
        name = "run",
        mixinStandardHelpOptions = true,
        description = {
            "Run the operator against a Kafka cluster: load the model, create the operator's topics if they are"
                    + " missing (topic.create.missing), serve prompts from yulan.prompts until SIGTERM or Ctrl-C.",
            "On shutdown Kafka Streams commits and closes its tasks first, so requests still in flight stay in the"
                    + " changelogged stores and resume on the next start (here or on another instance).",
            "Settings: defaults < --config FILE < YULAN_* environment variables < --set and the flags below"
                    + " (./yulan config --list shows every key).",
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  ./yulan run --bootstrap-servers kafka:9092",
            "  ./yulan run --bootstrap-servers kafka:9092 --model yulan-team/YuLan-Mini --set quantize=q8_0",
            "  ./yulan run --config operator.properties --metrics-port 9464 --state-dir /var/lib/yulan",
            "  ./yulan run --bootstrap-servers kafka:9092 --set main.consumer.group.instance.id=yulan-0  # static",
        })
public final class RunCommand implements Callable<Integer> {

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT", description = "Kafka brokers (bootstrap.servers).")
    String bootstrapServers;

    @Option(
            names = "--model",
            paramLabel = "MODEL",
            description = "A Hugging Face model directory, or a hub id owner/name[@revision] (model). Default: the"
                    + " bundled tiny model.")
    String model;

    @Option(
            names = "--metrics-port",
            paramLabel = "N",
            description = "Port of /metrics, /health, /ready (metrics.port).")
    Integer metricsPort;

    @Option(names = "--state-dir", paramLabel = "DIR", description = "Local state store directory (state.dir).")
    Path stateDir;

    @Mixin
    ConfigCommand.Options config;

    /** Counted down by SIGTERM (the shutdown hook) or by a test. */
    final CountDownLatch stop = new CountDownLatch(1);

    @Override
    public Integer call() throws InterruptedException {
        EffectiveConfig effective = config.load(flags());
        PrintStream err = System.err;
        err.println("yulan: starting the operator (bootstrap.servers="
                + effective.getString(RuntimeConfig.BOOTSTRAP_SERVERS) + ", application.id="
                + effective.getString(RuntimeConfig.APPLICATION_ID) + ")");
        CountDownLatch closed = new CountDownLatch(1);
        Thread hook = new Thread(
                () -> {
                    stop.countDown();
                    try {
                        closed.await(60, TimeUnit.SECONDS); // let the main thread close in order
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                },
                "yulan-run-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try (OperatorRuntime runtime = OperatorRuntime.start(effective, Map.of(), null, err)) {
            if (!runtime.createdTopics().isEmpty()) {
                err.println("yulan: created topics " + runtime.createdTopics());
            }
            if (runtime.metricsPort() >= 0) {
                err.println("yulan: metrics on http://localhost:" + runtime.metricsPort()
                        + "/metrics (also /health, /ready)");
            }
            err.println("yulan: serving " + runtime.engine().model().id() + " from "
                    + runtime.operatorConfig().topics().prompts() + "; SIGTERM or Ctrl-C stops it");
            while (!stop.await(200, TimeUnit.MILLISECONDS)) {
                if (runtime.state() == KafkaStreams.State.ERROR || runtime.state() == KafkaStreams.State.NOT_RUNNING) {
                    throw new IllegalStateException(
                            "Kafka Streams stopped (" + runtime.state() + "); see the log above");
                }
            }
            err.println("yulan: stopping (committing in-flight work to the stores) ...");
        } finally {
            err.println("yulan: stopped");
            closed.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the JVM is already exiting: the hook is running
            }
        }
        return 0;
    }

    /** The flags as {@code --set} entries: they win over everything else. */
    private List<String> flags() {
        List<String> sets = new ArrayList<>();
        if (bootstrapServers != null) {
            sets.add(RuntimeConfig.BOOTSTRAP_SERVERS + "=" + bootstrapServers);
        }
        if (model != null) {
            sets.add(RuntimeConfig.MODEL + "=" + model);
        }
        if (metricsPort != null) {
            sets.add(RuntimeConfig.METRICS_PORT + "=" + metricsPort);
        }
        if (stateDir != null) {
            sets.add(RuntimeConfig.STATE_DIR + "=" + stateDir);
        }
        return sets;
    }
}
