package dev.yulan.topology.cli;

import dev.yulan.topology.broker.EmbeddedBroker;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code yulan broker}: a single-node Kafka broker in this process, for development and demos. */
@Command(
        name = "broker",
        mixinStandardHelpOptions = true,
        description = {
            "Run a single-node Kafka broker (KRaft, broker and controller in one process) on 127.0.0.1 until"
                    + " Ctrl-C. Transactions work, so the operator can run with exactly_once_v2 against it.",
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  ./yulan broker                       # 127.0.0.1:9092, data deleted on exit",
            "  ./yulan broker --port 0              # any free port (printed)",
            "  ./yulan broker --dir /tmp/yulan-kafka  # keep topics and data across restarts",
        })
public final class BrokerCommand implements Callable<Integer> {

    @Option(
            names = {"-p", "--port"},
            paramLabel = "PORT",
            defaultValue = "9092",
            description = "Port for Kafka clients; 0 picks a free one. Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(
            names = {"-d", "--dir"},
            paramLabel = "DIR",
            description = "Log directory to keep across restarts (formatted on first use). Default: a temporary"
                    + " directory, deleted on exit.")
    Path dir;

    @Option(names = "--verbose", description = "Show the broker's INFO log.")
    boolean verbose;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        if (!verbose) {
            quietKafkaLogs();
        }
        EmbeddedBroker.Settings settings = EmbeddedBroker.Settings.defaults().withPort(port);
        if (dir != null) {
            settings = settings.withLogDir(dir);
        }
        PrintWriter out = spec.commandLine().getOut();
        EmbeddedBroker broker = EmbeddedBroker.start(settings);
        Thread stopper = new Thread(broker::close, "yulan-broker-shutdown");
        Runtime.getRuntime().addShutdownHook(stopper);
        out.println("Kafka broker ready: bootstrap.servers=" + broker.bootstrapServers());
        out.println("Log directory: " + broker.logDir() + (dir == null ? " (deleted on exit)" : ""));
        out.println("Ctrl-C stops it.");
        out.flush();
        broker.awaitShutdown();
        return 0;
    }

    /** The broker logs every partition and coordinator event at INFO; a terminal needs only the warnings. */
    static void quietKafkaLogs() {
        for (String logger : new String[] {"kafka", "org.apache.kafka", "state.change.logger"}) {
            String property = "org.slf4j.simpleLogger.log." + logger;
            if (System.getProperty(property) == null) {
                System.setProperty(property, "warn");
            }
        }
    }
}
