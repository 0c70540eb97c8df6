package dev.yulan.topology.cli;

import dev.yulan.topology.client.ClientSettings;
import dev.yulan.topology.client.CompletionFeed;
import dev.yulan.topology.client.Transcript;
import dev.yulan.topology.config.ConfigLoader.EffectiveConfig;
import dev.yulan.topology.config.RuntimeConfig;
import dev.yulan.topology.runtime.OperatorRuntime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code yulan consume}: print completions, chunks reassembled per request. */
@Command(
        name = "consume",
        mixinStandardHelpOptions = true,
        description = {
            "Print the operator's completions, each request's streamed chunks reassembled in order, followed by a"
                    + " line with its finish reason, token usage and timings. Reads committed records only.",
            "Without --follow: everything already in the topics, then exit. With --follow: also new completions as"
                    + " they stream in, until Ctrl-C.",
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  ./yulan consume --bootstrap-servers localhost:9092",
            "  ./yulan consume --bootstrap-servers localhost:9092 --conversation c1 --follow",
        })
public final class ConsumeCommand implements Callable<Integer> {

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT", description = "Kafka brokers (bootstrap.servers).")
    String bootstrapServers;

    @Option(names = "--conversation", paramLabel = "ID", description = "Only this conversation.")
    String conversation;

    @Option(names = "--follow", description = "Keep printing new completions until Ctrl-C.")
    boolean follow;

    @Mixin
    ConfigCommand.Options config;

    /** Counted down by Ctrl-C or by a test. */
    final CountDownLatch stop = new CountDownLatch(1);

    @Override
    public Integer call() throws InterruptedException {
        List<String> flags = new ArrayList<>();
        if (bootstrapServers != null) {
            flags.add(RuntimeConfig.BOOTSTRAP_SERVERS + "=" + bootstrapServers);
        }
        EffectiveConfig effective = config.load(flags);
        Transcript transcript = new Transcript(
                System.out,
                Transcript.stdoutIsTerminal(),
                conversation == null,
                id -> conversation == null || conversation.equals(id));
        Thread hook = new Thread(stop::countDown, "yulan-consume-shutdown");
        if (follow) {
            Runtime.getRuntime().addShutdownHook(hook);
        }
        try (CompletionFeed feed = CompletionFeed.start(
                ClientSettings.consumer(effective),
                OperatorRuntime.operatorConfig(effective).topics(),
                CompletionFeed.Start.BEGINNING,
                transcript)) {
            if (!follow) {
                if (!feed.awaitCaughtUp(Duration.ofMinutes(2)) && feed.failure() != null) {
                    throw new IllegalStateException(
                            "reading completions failed: " + feed.failure().getMessage());
                }
                return 0;
            }
            while (!stop.await(200, TimeUnit.MILLISECONDS)) {
                if (feed.failure() != null) {
                    throw new IllegalStateException(
                            "reading completions failed: " + feed.failure().getMessage());
                }
            }
            return 0;
        } finally {
            if (follow) {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // the hook is running
                }
            }
        }
    }
}
