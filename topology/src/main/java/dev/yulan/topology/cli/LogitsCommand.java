package dev.yulan.topology.cli;

import dev.yulan.inference.cache.BlockPool;
import dev.yulan.inference.cache.BlockTable;
import dev.yulan.inference.cache.KvLayout;
import dev.yulan.inference.kernel.Kernels;
import dev.yulan.inference.model.Checkpoint;
import dev.yulan.inference.model.ForwardBatch;
import dev.yulan.inference.model.LoadOptions;
import dev.yulan.inference.model.ModelLoader;
import dev.yulan.inference.model.Transformer;
import dev.yulan.inference.tensor.DType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code yulan model logits}: the raw logits of a token sequence, for checking against another implementation. */
@Command(
        name = "logits",
        mixinStandardHelpOptions = true,
        description = {
            "Run token ids through the model (nothing added, no BOS) and write the logits of every position as raw"
                    + " little-endian float32, [positions x vocab]."
        },
        footer = {"", "Example:", "  ./yulan model logits --model models/stories260K --tokens 1,403,407 --out l.f32"})
public final class LogitsCommand implements Callable<Integer> {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--tokens", required = true, split = ",", paramLabel = "ID,ID,...", description = "Token ids.")
    List<Integer> tokens;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "Where to write the logits.")
    Path out;

    @Option(
            names = "--kernels",
            paramLabel = "KIND",
            description = "vector (default) or scalar (the reference implementation).")
    String kernelKind = "vector";

    @Override
    public Integer call() throws IOException {
        int[] ids = tokens.stream().mapToInt(Integer::intValue).toArray();
        try (Checkpoint checkpoint = ModelLoader.load(
                        modelOptions.modelDirectory(),
                        LoadOptions.defaults().withQuantize(modelOptions.quantizeType()));
                Kernels kernels = switch (kernelKind) {
                    case "scalar" -> Kernels.scalar();
                    case "vector" -> modelOptions.threads > 0 ? Kernels.create(modelOptions.threads) : Kernels.create();
                    default -> throw new IllegalArgumentException("--kernels " + kernelKind + ": use vector or scalar");
                }) {
            int vocab = checkpoint.config().vocabSize();
            int context = checkpoint.config().maxPositionEmbeddings();
            if (ids.length == 0 || ids.length > context) {
                throw new IllegalArgumentException(
                        "--tokens: give between 1 and " + context + " token ids (the model's context)");
            }
            for (int id : ids) {
                if (id < 0 || id >= vocab) {
                    throw new IllegalArgumentException(
                            "--tokens: id " + id + " is outside the vocabulary 0.." + (vocab - 1));
                }
            }
            KvLayout layout = Transformer.kvLayout(checkpoint.config(), 16, DType.F32);
            int chunk = Math.min(ids.length, 64);
            Transformer transformer =
                    new Transformer(checkpoint.config(), checkpoint.weights(), kernels, chunk, ids.length);
            float[] logits = new float[chunk * vocab];
            try (BlockPool pool = new BlockPool(layout, layout.blockBytes() * (ids.length / 16 + 1), 0);
                    FileChannel file = FileChannel.open(
                            out,
                            StandardOpenOption.CREATE,
                            StandardOpenOption.TRUNCATE_EXISTING,
                            StandardOpenOption.WRITE)) {
                BlockTable table = new BlockTable(pool, 0);
                table.reserve(ids.length);
                ForwardBatch batch = new ForwardBatch(chunk);
                ByteBuffer bytes = ByteBuffer.allocate(chunk * vocab * 4).order(ByteOrder.LITTLE_ENDIAN);
                for (int from = 0; from < ids.length; from += chunk) {
                    int to = Math.min(ids.length, from + chunk);
                    batch.clear();
                    for (int p = from; p < to; p++) {
                        batch.add(table, ids[p], p, true);
                    }
                    transformer.forward(batch, pool, logits);
                    table.advance(to, ids);
                    bytes.clear();
                    bytes.asFloatBuffer().put(logits, 0, (to - from) * vocab);
                    bytes.limit((to - from) * vocab * 4);
                    while (bytes.hasRemaining()) {
                        file.write(bytes);
                    }
                }
            }
            System.err.printf("wrote %d x %d logits to %s%n", ids.length, vocab, out);
            return 0;
        }
    }
}
