package dev.yulan.topology.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.yulan.topology.broker.EmbeddedBroker;
import dev.yulan.topology.topics.Topics;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code run}, {@code produce} and {@code consume} against an embedded broker, as a user would run them. */
class ClientCommandsTest {

    private static EmbeddedBroker broker;

    @TempDir
    static Path stateDir;

    private static RunCommand run;
    private static CompletableFuture<Integer> running;

    @BeforeAll
    static void startBrokerAndOperator() throws Exception {
        broker = EmbeddedBroker.start();
        run = new RunCommand();
        CommandLine cli = new CommandLine(run);
        running = CompletableFuture.supplyAsync(() -> cli.execute(
                "--bootstrap-servers",
                broker.bootstrapServers(),
                "--state-dir",
                stateDir.toString(),
                "--metrics-port",
                "0",
                "--set",
                "application.id=client-commands",
                "--set",
                "topic.partitions=2",
                "--set",
                "commit.interval.ms=50"));
        awaitTopics();
    }

    /** Waits until run has created the operator's topics. */
    private static void awaitTopics() throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
            for (int attempt = 0; attempt < 600; attempt++) {
                if (admin.listTopics()
                        .names()
                        .get()
                        .containsAll(Topics.defaults().all())) {
                    return;
                }
                assertThat(running).as("run is still running").isNotDone();
                Thread.sleep(100);
            }
        }
        throw new AssertionError("run did not create the topics within a minute");
    }

    @AfterAll
    static void stop() throws Exception {
        run.stop.countDown();
        try {
            assertThat(running.get(1, TimeUnit.MINUTES))
                    .as("run exits 0 when stopped")
                    .isZero();
        } finally {
            broker.close();
        }
    }

    private record Result(int status, String out, String err) {}

    private static Result yulan(String... args) {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        StringWriter err = new StringWriter();
        StringWriter out = new StringWriter();
        int status;
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            CommandLine cli = YulanCli.commandLine();
            cli.setErr(new PrintWriter(err, true));
            cli.setOut(new PrintWriter(out, true));
            status = cli.execute(args);
        } finally {
            System.setOut(stdout);
        }
        return new Result(status, captured.toString(StandardCharsets.UTF_8) + out, err.toString());
    }

    @Test
    void produceWaitsForTheStreamedAnswerThenConsumeShowsIt() {
        Result produced = yulan(
                "produce",
                "--bootstrap-servers",
                broker.bootstrapServers(),
                "--conversation",
                "c1",
                "--max-tokens",
                "8",
                "--temperature",
                "0",
                "--wait",
                "--timeout",
                "120",
                "Once upon a time");
        assertThat(produced.status()).as(produced.err()).isZero();
        assertThat(produced.out()).containsPattern("-- (length|stop), \\d+ prompt tokens");
        String answer = produced.out().lines().findFirst().orElseThrow();

        Result json = yulan(
                "produce",
                "--bootstrap-servers",
                broker.bootstrapServers(),
                "--conversation",
                "c2",
                "--json",
                "--chat",
                "--max-tokens",
                "4",
                "The cat sat");
        assertThat(json.status()).as(json.err()).isZero();
        assertThat(json.out()).startsWith("sent c2-");

        Result consumed = yulan("consume", "--bootstrap-servers", broker.bootstrapServers(), "--conversation", "c1");
        assertThat(consumed.status()).as(consumed.err()).isZero();
        assertThat(consumed.out()).contains(answer).doesNotContain("[c2]");
    }

    @Test
    void produceWaitFailsWithTheOperatorsReasonWhenTheRequestIsRejected() {
        Result result = yulan(
                "produce",
                "--bootstrap-servers",
                broker.bootstrapServers(),
                "--conversation",
                "c3",
                "--temperature",
                "5",
                "--wait",
                "--timeout",
                "120",
                "Once upon a time");
        assertThat(result.status()).isEqualTo(1);
        assertThat(result.err().strip())
                .startsWith("yulan: the operator rejected c3-")
                .contains("temperature 5.0 out of range [0, 2]")
                .doesNotContain("\n");
    }

    @Test
    void produceNeedsAConversation() {
        Result result = yulan("produce", "--bootstrap-servers", broker.bootstrapServers(), "hello");
        assertThat(result.status()).isEqualTo(2);
        assertThat(result.err()).contains("Missing required option: '--conversation=ID'");
    }

    @Test
    void produceToAnUnreachableClusterIsOneLineError() {
        Result result = yulan(
                "produce",
                "--bootstrap-servers",
                "127.0.0.1:1",
                "--set",
                "max.block.ms=500",
                "--conversation",
                "c",
                "hello");
        assertThat(result.status()).isEqualTo(1);
        assertThat(result.err().strip())
                .startsWith("yulan: cannot send to yulan.prompts")
                .doesNotContain("\n");
    }

    @Test
    void consumeOfAnUnreachableClusterIsOneLineError() {
        Result result = yulan("consume", "--bootstrap-servers", "127.0.0.1:1", "--set", "default.api.timeout.ms=500");
        assertThat(result.status()).isEqualTo(1);
        assertThat(result.err().strip()).startsWith("yulan: ").doesNotContain("\n");
    }

    @Test
    void runRejectsAnUnknownKeyAtStartup() {
        Result result = yulan("run", "--set", "metrics.prot=9000");
        assertThat(result.status()).isEqualTo(1);
        assertThat(result.err().strip())
                .isEqualTo("yulan: unknown configuration key 'metrics.prot' (from --set); did you mean 'metrics.port'?;"
                        + " see ./yulan config --list");
    }

    @Test
    void runRejectsAGgufModelClearly(@TempDir Path dir) throws Exception {
        Path gguf = java.nio.file.Files.writeString(dir.resolve("model.gguf"), "GGUF");
        Result result = yulan("run", "--model", gguf.toString(), "--metrics-port", "-1");
        assertThat(result.status()).isEqualTo(1);
        assertThat(result.err()).contains("GGUF files are not supported yet");
    }

    @Test
    void everyCommandHasHelpWithExamples() {
        for (String command :
                new String[] {"run", "produce", "consume", "demo", "config", "broker", "generate", "model", "bench"}) {
            Result help = yulan(command, "--help");
            assertThat(help.status()).isZero();
            assertThat(help.out()).as(command).contains("Examples:");
        }
        Result bench = yulan("bench", "e2e", "--help");
        assertThat(bench.out()).contains("Examples:", "--conversations");
    }
}
