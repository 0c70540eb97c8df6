package dev.yulan.topology.cli;

import dev.yulan.inference.model.Checkpoint;
import dev.yulan.inference.model.LoadOptions;
import dev.yulan.inference.model.ModelConfig;
import dev.yulan.inference.model.ModelLoader;
import dev.yulan.inference.model.ModelWeights;
import dev.yulan.inference.model.SyntheticCheckpoint;
import dev.yulan.inference.model.SyntheticShape;
import dev.yulan.inference.tensor.DType;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code yulan model}: inspect model checkpoints and write synthetic ones. */
@Command(
        name = "model",
        mixinStandardHelpOptions = true,
        description = "Inspect models and synthesize random-weight test models.",
        footerHeading = "%nExamples:%n",
        footer = {
            "  ./yulan model info --model models/stories260K",
            "  ./yulan model synth --shape yulan-mini --layers 8 --out /tmp/yulan8",
        },
        subcommands = {ModelCommand.Synth.class, ModelCommand.Info.class, LogitsCommand.class})
public final class ModelCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** {@code yulan model synth}: a random-weight checkpoint in YuLan-Mini's Hugging Face layout. */
    @Command(
            name = "synth",
            mixinStandardHelpOptions = true,
            description = "Write a random-weight model (config, safetensors, tokenizer) in YuLan-Mini's layout.",
            footerHeading = "%nExamples:%n",
            footer = {
                "  ./yulan model synth --out /tmp/tiny",
                "  ./yulan model synth --shape yulan-mini --layers 8 --dtype bf16 --out /tmp/yulan8",
            })
    static final class Synth implements Callable<Integer> {

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--out", required = true, description = "Directory to write (created if missing).")
        Path out;

        @Option(names = "--shape", defaultValue = "tiny", description = "Preset: yulan-mini or tiny (default).")
        String shape;

        @Option(names = "--layers", description = "Number of layers.")
        Integer layers;

        @Option(names = "--hidden", description = "Hidden size.")
        Integer hidden;

        @Option(names = "--intermediate", description = "Feed-forward size.")
        Integer intermediate;

        @Option(names = "--heads", description = "Query heads.")
        Integer heads;

        @Option(names = "--kv-heads", description = "Key/value heads.")
        Integer kvHeads;

        @Option(names = "--head-dim", description = "Width of one head.")
        Integer headDim;

        @Option(names = "--vocab", description = "Vocabulary size (at least 259).")
        Integer vocab;

        @Option(names = "--dtype", defaultValue = "bf16", description = "bf16 (default), f16 or f32.")
        String dtype;

        @Option(names = "--seed", defaultValue = "0", description = "Random seed (same seed, same weights).")
        long seed;

        @Option(names = "--shards", defaultValue = "1", description = "Number of safetensors files (default 1).")
        int shards;

        @Override
        public Integer call() {
            SyntheticShape s = SyntheticShape.preset(shape);
            s = layers != null ? s.withLayers(layers) : s;
            s = hidden != null ? s.withHidden(hidden) : s;
            s = intermediate != null ? s.withIntermediate(intermediate) : s;
            s = heads != null ? s.withHeads(heads) : s;
            s = kvHeads != null ? s.withKvHeads(kvHeads) : s;
            s = headDim != null ? s.withHeadDim(headDim) : s;
            s = vocab != null ? s.withVocab(vocab) : s;
            DType type = ModelLoader.plainDType(dtype);
            long start = System.nanoTime();
            SyntheticCheckpoint.write(
                    out,
                    s,
                    type,
                    seed,
                    shards,
                    new ProgressBar(
                            "writing " + out.getFileName(),
                            spec.commandLine().getErr(),
                            ProgressBar.stderrIsTerminal()));
            ModelConfig config = s.config(SyntheticCheckpoint.torchDtype(type));
            spec.commandLine()
                    .getOut()
                    .printf(
                            Locale.ROOT,
                            "wrote %s: %s, %s parameters, %s in %.1f s%n",
                            out,
                            describeShape(config),
                            count(config.parameterCount()),
                            type,
                            (System.nanoTime() - start) / 1e9);
            return 0;
        }
    }

    /** {@code yulan model info}: what a model is and what it costs to run. */
    @Command(
            name = "info",
            mixinStandardHelpOptions = true,
            description = "Print a model's architecture, size, dtypes, bytes read per token and memory needs.",
            footerHeading = "%nExamples:%n",
            footer = {"  ./yulan model info --model models/stories260K"})
    static final class Info implements Callable<Integer> {

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--model", required = true, description = "Model directory (config.json + safetensors).")
        String model;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            try (Checkpoint cp = ModelLoader.load(model, LoadOptions.defaults())) {
                ModelConfig c = cp.config();
                ModelWeights w = cp.weights();
                long kvPerToken = c.kvBytesPerToken(2);
                long weights = w.matrixBytes();
                String dtypes = w.dtypes().stream().map(DType::name).collect(Collectors.joining(", "));
                row(out, "model", cp.directory() != null ? cp.directory().toString() : model);
                row(out, "architecture", c.architecture() + " (model_type " + c.modelType() + ")");
                row(out, "shape", describeShape(c));
                row(
                        out,
                        "attention",
                        (c.attentionBias() ? "q/k/v/o biases" : "no biases") + ", rope theta "
                                + fmt(c.ropeTheta())
                                + (c.ropeScaling() != null
                                        ? ", linear rope scaling x"
                                                + fmt(c.ropeScaling().factor())
                                        : "")
                                + ", rms eps " + c.rmsNormEps() + ", context " + c.maxPositionEmbeddings());
                row(out, "lm head", w.tied() ? "tied to the embedding" : "untied");
                row(out, "tokens", "bos " + c.bosTokenId() + ", eos " + c.eosTokenIds());
                row(out, "parameters", count(c.parameterCount()) + " (" + c.parameterCount() + ")");
                row(out, "dtypes", dtypes + (c.torchDtype() != null ? " (torch_dtype " + c.torchDtype() + ")" : ""));
                row(out, "weights", bytes(weights) + " (" + weights + " bytes)");
                row(out, "read/token", bytes(w.bytesReadPerToken()) + " of weights per decoded token");
                row(
                        out,
                        "kv cache",
                        bytes(kvPerToken) + " per token of context (BF16); "
                                + bytes(kvPerToken * c.maxPositionEmbeddings()) + " for the full context of "
                                + c.maxPositionEmbeddings());
                row(
                        out,
                        "memory",
                        bytes(weights) + " + " + bytes(kvPerToken) + " per token of context; "
                                + bytes(weights + kvPerToken * 4096) + " with 4096 tokens cached");
            }
            return 0;
        }

        private static void row(PrintWriter out, String label, String value) {
            out.printf(Locale.ROOT, "%-13s %s%n", label, value);
        }
    }

    /** Progress of a long write as one line on stderr, redrawn in place at every whole percent. */
    static String describeShape(ModelConfig c) {
        return c.numLayers() + " layers, hidden " + c.hiddenSize() + ", intermediate " + c.intermediateSize() + ", "
                + c.numHeads() + " heads / " + c.numKvHeads() + " kv heads (GQA " + c.groupSize() + ":1), head_dim "
                + c.headDim() + ", vocab " + c.vocabSize();
    }

    static String count(long n) {
        if (n >= 1_000_000_000L) {
            return String.format(Locale.ROOT, "%.2f B", n / 1e9);
        }
        if (n >= 1_000_000L) {
            return String.format(Locale.ROOT, "%.2f M", n / 1e6);
        }
        return String.format(Locale.ROOT, "%.1f K", n / 1e3);
    }

    static String bytes(long n) {
        if (n >= 1L << 30) {
            return String.format(Locale.ROOT, "%.2f GiB", n / (double) (1L << 30));
        }
        if (n >= 1L << 20) {
            return String.format(Locale.ROOT, "%.2f MiB", n / (double) (1L << 20));
        }
        if (n >= 1L << 10) {
            return String.format(Locale.ROOT, "%.1f KiB", n / 1024.0);
        }
        return n + " B";
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
    }
}
