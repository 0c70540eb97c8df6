package dev.yulan.topology.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ModelCommandTest {

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cli = YulanCli.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    @Test
    void synthesizesAModelThatInfoDescribes(@TempDir Path dir) {
        Path model = dir.resolve("m");
        assertThat(run(
                        "model",
                        "synth",
                        "--out",
                        model.toString(),
                        "--shape",
                        "tiny",
                        "--layers",
                        "3",
                        "--dtype",
                        "f16",
                        "--seed",
                        "7"))
                .isZero();
        assertThat(out.toString()).contains("wrote " + model).contains("3 layers, hidden 64");
        assertThat(err.toString()).contains("100%");
        assertThat(model.resolve("tokenizer.json")).exists();

        out.getBuffer().setLength(0);
        assertThat(run("model", "info", "--model", model.toString())).isZero();
        assertThat(out.toString())
                .contains("LlamaForCausalLM (model_type llama)")
                .contains(
                        "3 layers, hidden 64, intermediate 160, 10 heads / 2 kv heads (GQA 5:1), head_dim 16, vocab 300")
                .contains("q/k/v/o biases")
                .contains("untied")
                .contains("F16 (torch_dtype float16)")
                .contains("read/token")
                .contains("per token of context");
    }

    @Test
    void describesBundledModel() {
        Path stories = Path.of("").toAbsolutePath().getParent().resolve("models/stories260K");
        assertThat(run("model", "info", "--model", stories.toString())).isZero();
        assertThat(out.toString())
                .contains("tied to the embedding")
                .contains("5 layers")
                .contains("F32");
    }

    @Test
    void reportsBadInputOnOneLine(@TempDir Path dir) {
        Path missing = dir.resolve("nope");
        assertThat(run("model", "info", "--model", missing.toString())).isEqualTo(1);
        assertThat(err.toString())
                .isEqualTo("yulan: model directory " + missing + " does not exist" + System.lineSeparator());

        err.getBuffer().setLength(0);
        assertThat(run("model", "synth", "--out", dir.resolve("x").toString(), "--heads", "7"))
                .isEqualTo(1);
        assertThat(err.toString().strip()).startsWith("yulan: heads (7) must be a multiple of kv heads (2)");
        assertThat(err.toString().strip()).doesNotContain("\n");

        err.getBuffer().setLength(0);
        assertThat(run("model", "synth", "--out", dir.resolve("y").toString(), "--dtype", "q8"))
                .isEqualTo(1);
        assertThat(err.toString().strip()).isEqualTo("yulan: unknown dtype q8; use bf16, f16 or f32");
    }
}
