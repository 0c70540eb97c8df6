package dev.yulan.topology.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.yulan.topology.config.OperatorConfig;
import dev.yulan.topology.config.RuntimeConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ConfigDocsTest {

    private static final Path DOCS = Path.of("..", "docs", "CONFIGURATION.md");

    @Test
    void configurationReferenceIsTheGeneratedOne() throws Exception {
        assertThat(Files.readString(DOCS, StandardCharsets.UTF_8))
                .as(
                        "docs/CONFIGURATION.md is stale: regenerate it with ./yulan config --markdown > docs/CONFIGURATION.md")
                .isEqualTo(ConfigCommand.markdown());
    }

    @Test
    void everyKeyOfBothDefinitionsIsDocumentedAndListed() {
        StringWriter out = new StringWriter();
        CommandLine cli = YulanCli.commandLine();
        cli.setOut(new PrintWriter(out, true));
        assertThat(cli.execute("config", "--list")).isZero();
        String markdown = ConfigCommand.markdown();
        for (String key : RuntimeConfig.configDef().names()) {
            assertThat(markdown).contains("| `" + key + "` |");
            assertThat(out.toString()).contains(key);
        }
        for (String key : OperatorConfig.configDef().names()) {
            assertThat(markdown).contains("| `" + key + "` |");
            assertThat(out.toString()).contains(key);
        }
        assertThat(markdown).contains("`processing.guarantee` | `exactly_once_v2`");
        assertThat(markdown).contains("main.consumer.group.instance.id");
    }
}
