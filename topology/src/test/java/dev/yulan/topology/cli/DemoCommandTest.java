package dev.yulan.topology.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class DemoCommandTest {

    @Test
    void sendsTheSamplesStreamsTheAnswersAndExitsWhenAllAreComplete() {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        StringWriter err = new StringWriter();
        int status;
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            CommandLine cli = YulanCli.commandLine();
            cli.setErr(new PrintWriter(err, true));
            status = cli.execute(
                    "demo", "--prompts", "4", "--exit", "--max-tokens", "8", "--port", "0", "--metrics-port", "0");
        } finally {
            System.setOut(stdout);
        }
        String out = captured.toString(StandardCharsets.UTF_8);
        assertThat(status).as(err.toString()).isZero();
        // Every conversation is labelled, the second turn of lily included, and each answer ends with its summary.
        assertThat(out).contains("[lily] > Once upon a time", "[tom] > ", "[ben] > ", "[lily] > What did Lily do");
        assertThat(out.lines().filter(line -> line.contains("] -- ")).count()).isEqualTo(4);
        // The second turn of lily continues its history: the prefix cache serves the first turn's tokens.
        assertThat(out).containsPattern("\\[lily\\] -- \\w+, \\d+ prompt tokens \\([1-9]\\d* cached\\)");
    }

    @Test
    void rejectsANegativePromptCount() {
        StringWriter err = new StringWriter();
        CommandLine cli = YulanCli.commandLine();
        cli.setErr(new PrintWriter(err, true));
        assertThat(cli.execute("demo", "--prompts", "-1", "--exit")).isEqualTo(1);
        assertThat(err.toString().strip()).isEqualTo("yulan: --prompts must be 0 or more");
    }

    @Test
    void helpShowsExamples() {
        StringWriter out = new StringWriter();
        CommandLine cli = YulanCli.commandLine();
        cli.setOut(new PrintWriter(out, true));
        assertThat(cli.execute("demo", "--help")).isZero();
        assertThat(out.toString()).contains("Examples:", "--prompts 3 --exit");
    }
}
