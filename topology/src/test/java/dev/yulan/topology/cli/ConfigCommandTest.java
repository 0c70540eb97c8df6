package dev.yulan.topology.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ConfigCommandTest {

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cli = YulanCli.commandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        return cli.execute(args);
    }

    @Test
    void listPrintsEveryKey() {
        assertThat(run("config", "--list")).isZero();
        assertThat(out.toString())
                .contains("KEY", "metrics.port", "9464", "kv.cache.bytes", "engine.max.running", "YULAN_");
    }

    @Test
    void showsEffectiveValuesAndWhereTheyCameFrom() {
        assertThat(run("config", "--set", "metrics.port=9000", "--set", "num.stream.threads=2"))
                .isZero();
        assertThat(out.toString())
                .containsPattern("metrics\\.port +9000 +--set")
                .containsPattern("num\\.stream\\.threads +2 +--set")
                .containsPattern("application\\.id +yulan-stream +default")
                .containsPattern("processing\\.guarantee +exactly_once_v2 +operator default")
                .doesNotContainPattern("num\\.stream\\.threads +1 +operator default");
    }

    @Test
    void unknownKeyIsOneLineOnStderr() {
        assertThat(run("config", "--set", "metrics.prot=1")).isEqualTo(1);
        assertThat(err.toString())
                .isEqualTo("yulan: unknown configuration key 'metrics.prot' (from --set); did you mean"
                        + " 'metrics.port'?; see ./yulan config --list" + System.lineSeparator());
    }

    @Test
    void helpShowsExamples() {
        assertThat(run("config", "--help")).isZero();
        assertThat(out.toString()).contains("Examples:", "./yulan config --list");
        out.getBuffer().setLength(0);
        assertThat(run("broker", "--help")).isZero();
        assertThat(out.toString()).contains("Examples:", "--port", "--dir");
    }
}
