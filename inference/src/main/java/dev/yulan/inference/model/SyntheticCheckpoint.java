package dev.yulan.inference.model;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.yulan.inference.tensor.DType;
import dev.yulan.inference.tensor.Elements;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.LongStream;

/**
 * Random-weight checkpoints of any Llama-layout shape, for tests and benchmarks: written to a directory in exactly the
 * Hugging Face layout YuLan-Mini ships ({@link #write}), or built straight into off-heap memory ({@link #inMemory}).
 *
 * <p>Values are a pure function of (seed, tensor name, element index), so a model is the same whether written or built
 * in memory, whatever the chunking or thread count. Matrices and biases are approximately normal with standard
 * deviation 0.02 (activations stay finite through many layers); norm weights are about 1 (1 + 0.05 * normal).
 */
public final class SyntheticCheckpoint {

    /** Elements generated per task: large enough to amortize scheduling, small enough to spread over the cores. */
    private static final long ELEMENTS_PER_TASK = 1 << 20;

    /** Bytes of tensor data buffered between generating and writing. */
    private static final long WRITE_CHUNK_BYTES = 16L << 20;

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private enum Kind {
        MATRIX,
        NORM,
        BIAS
    }

    private record TensorSpec(String name, List<Long> shape, Kind kind, long seed) {

        long elements() {
            return shape.stream().reduce(1L, Math::multiplyExact);
        }
    }

    private SyntheticCheckpoint() {}

    /** The {@code torch_dtype} name of a plain dtype. */
    public static String torchDtype(DType dtype) {
        return switch (dtype) {
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            default -> throw new IllegalArgumentException("synthetic checkpoints are F32, F16 or BF16, not " + dtype);
        };
    }

    /**
     * Writes a complete model directory: {@code config.json}, {@code generation_config.json}, the weights in
     * {@code shards} safetensors files (one: {@code model.safetensors}; more: {@code model-0000k-of-0000n.safetensors}
     * and {@code model.safetensors.index.json}), {@code tokenizer.json} and {@code tokenizer_config.json}. Tensor data is
     * generated and written in chunks, never held whole.
     */
    public static void write(
            Path dir, SyntheticShape shape, DType dtype, long seed, int shards, LoadProgress progress) {
        String torchDtype = torchDtype(dtype);
        List<TensorSpec> specs = tensors(shape, seed);
        if (shards < 1 || shards > specs.size()) {
            throw new IllegalArgumentException("shards must be between 1 and " + specs.size() + ", got " + shards);
        }
        try {
            Files.createDirectories(dir);
            JSON.writerWithDefaultPrettyPrinter()
                    .writeValue(dir.resolve("config.json").toFile(), configJson(shape, torchDtype));
            ObjectNode generation = JSON.createObjectNode();
            generation.put("bos_token_id", SyntheticTokenizer.BOS_ID);
            generation.put("eos_token_id", SyntheticTokenizer.EOS_ID);
            JSON.writerWithDefaultPrettyPrinter()
                    .writeValue(dir.resolve("generation_config.json").toFile(), generation);
            SyntheticTokenizer.write(dir, shape.vocab(), shape.maxPositionEmbeddings());

            long total =
                    specs.stream().mapToLong(s -> dtype.bytesFor(s.elements())).sum();
            AtomicLong done = new AtomicLong();
            List<List<TensorSpec>> groups = split(specs, dtype, shards);
            if (shards == 1) {
                writeFile(dir.resolve(SafeTensors.SINGLE_FILE), groups.get(0), dtype, done, total, progress);
                Files.deleteIfExists(dir.resolve(SafeTensors.INDEX_FILE));
            } else {
                ObjectNode index = JSON.createObjectNode();
                index.putObject("metadata").put("total_size", total);
                ObjectNode weightMap = index.putObject("weight_map");
                for (int k = 0; k < shards; k++) {
                    String file = String.format("model-%05d-of-%05d.safetensors", k + 1, shards);
                    writeFile(dir.resolve(file), groups.get(k), dtype, done, total, progress);
                    groups.get(k).forEach(s -> weightMap.put(s.name(), file));
                }
                JSON.writerWithDefaultPrettyPrinter()
                        .writeValue(dir.resolve(SafeTensors.INDEX_FILE).toFile(), index);
                Files.deleteIfExists(dir.resolve(SafeTensors.SINGLE_FILE));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a synthetic checkpoint to " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * The same model as {@link #write} would produce, built in off-heap memory without any file: for benchmarks of the
     * full YuLan-Mini shape. The returned checkpoint has no directory (so no tokenizer); closing it frees the memory.
     */
    public static Checkpoint inMemory(SyntheticShape shape, DType dtype, long seed, LoadProgress progress) {
        ModelConfig config = shape.config(torchDtype(dtype));
        List<TensorSpec> specs = tensors(shape, seed);
        long total = specs.stream().mapToLong(s -> dtype.bytesFor(s.elements())).sum();
        AtomicLong done = new AtomicLong();
        Arena arena = Arena.ofShared();
        try {
            Map<String, SafeTensors.Tensor> tensors = new LinkedHashMap<>();
            for (TensorSpec spec : specs) {
                MemorySegment data = AnonymousMemory.allocate(dtype.bytesFor(spec.elements()), arena);
                fill(data, dtype, spec, 0, spec.elements());
                progress.update(done.addAndGet(data.byteSize()), total);
                tensors.put(spec.name(), new SafeTensors.Tensor(spec.name(), dtype.name(), spec.shape(), data, null));
            }
            ModelWeights weights = ModelLoader.weights(SafeTensors.of(null, tensors), config);
            GenerationConfig generation = new GenerationConfig(
                    SyntheticTokenizer.BOS_ID, List.of(SyntheticTokenizer.EOS_ID), null, null, null, null, null);
            return new Checkpoint(config, generation, weights, null, arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static List<TensorSpec> tensors(SyntheticShape s, long seed) {
        List<TensorSpec> specs = new ArrayList<>();
        long h = s.hidden();
        long q = (long) s.heads() * s.headDim();
        long kv = (long) s.kvHeads() * s.headDim();
        long ffn = s.intermediate();
        specs.add(spec("model.embed_tokens.weight", Kind.MATRIX, seed, s.vocab(), h));
        for (int i = 0; i < s.layers(); i++) {
            String p = "model.layers." + i + ".";
            specs.add(spec(p + "input_layernorm.weight", Kind.NORM, seed, h));
            specs.add(spec(p + "self_attn.q_proj.weight", Kind.MATRIX, seed, q, h));
            specs.add(spec(p + "self_attn.q_proj.bias", Kind.BIAS, seed, q));
            specs.add(spec(p + "self_attn.k_proj.weight", Kind.MATRIX, seed, kv, h));
            specs.add(spec(p + "self_attn.k_proj.bias", Kind.BIAS, seed, kv));
            specs.add(spec(p + "self_attn.v_proj.weight", Kind.MATRIX, seed, kv, h));
            specs.add(spec(p + "self_attn.v_proj.bias", Kind.BIAS, seed, kv));
            specs.add(spec(p + "self_attn.o_proj.weight", Kind.MATRIX, seed, h, q));
            specs.add(spec(p + "self_attn.o_proj.bias", Kind.BIAS, seed, h));
            specs.add(spec(p + "post_attention_layernorm.weight", Kind.NORM, seed, h));
            specs.add(spec(p + "mlp.gate_proj.weight", Kind.MATRIX, seed, ffn, h));
            specs.add(spec(p + "mlp.up_proj.weight", Kind.MATRIX, seed, ffn, h));
            specs.add(spec(p + "mlp.down_proj.weight", Kind.MATRIX, seed, h, ffn));
        }
        specs.add(spec("model.norm.weight", Kind.NORM, seed, h));
        specs.add(spec("lm_head.weight", Kind.MATRIX, seed, s.vocab(), h));
        return specs;
    }

    private static TensorSpec spec(String name, Kind kind, long seed, long... shape) {
        List<Long> dims = LongStream.of(shape).boxed().toList();
        return new TensorSpec(name, dims, kind, mix(seed ^ mix(name.hashCode())));
    }

    /** Splits the tensors into {@code shards} consecutive groups of roughly equal bytes, none empty. */
    private static List<List<TensorSpec>> split(List<TensorSpec> specs, DType dtype, int shards) {
        long total = specs.stream().mapToLong(s -> dtype.bytesFor(s.elements())).sum();
        List<List<TensorSpec>> groups = new ArrayList<>();
        List<TensorSpec> current = new ArrayList<>();
        long written = 0;
        for (int i = 0; i < specs.size(); i++) {
            TensorSpec s = specs.get(i);
            current.add(s);
            written += dtype.bytesFor(s.elements());
            int groupsLeft = shards - groups.size() - 1;
            int tensorsLeft = specs.size() - i - 1;
            boolean full = written >= total * (groups.size() + 1) / shards;
            if (groupsLeft > 0 && (full || tensorsLeft == groupsLeft)) {
                groups.add(current);
                current = new ArrayList<>();
            }
        }
        groups.add(current);
        return groups;
    }

    private static void writeFile(
            Path file, List<TensorSpec> specs, DType dtype, AtomicLong done, long total, LoadProgress progress)
            throws IOException {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (TensorSpec s : specs) {
            long bytes = dtype.bytesFor(s.elements());
            ObjectNode entry = header.putObject(s.name());
            entry.put("dtype", dtype.name());
            ArrayNode shape = entry.putArray("shape");
            s.shape().forEach(shape::add);
            entry.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        try (FileChannel channel = FileChannel.open(
                        file,
                        StandardOpenOption.CREATE,
                        StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.WRITE);
                Arena scratch = Arena.ofShared()) {
            ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(padded).put(json);
            while (head.hasRemaining()) {
                head.put((byte) ' ');
            }
            writeFully(channel, head.flip());
            MemorySegment buffer = scratch.allocate(WRITE_CHUNK_BYTES, 64);
            long chunkElements = WRITE_CHUNK_BYTES / dtype.bytesFor(1);
            for (TensorSpec s : specs) {
                for (long first = 0; first < s.elements(); first += chunkElements) {
                    long count = Math.min(chunkElements, s.elements() - first);
                    MemorySegment chunk = buffer.asSlice(0, dtype.bytesFor(count));
                    fill(chunk, dtype, s, first, count);
                    writeFully(channel, chunk.asByteBuffer());
                    progress.update(done.addAndGet(chunk.byteSize()), total);
                }
            }
        }
    }

    private static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    /** Writes elements {@code first .. first+count} of {@code spec} into {@code dst}, in parallel for large counts. */
    private static void fill(MemorySegment dst, DType dtype, TensorSpec spec, long first, long count) {
        long tasks = (count + ELEMENTS_PER_TASK - 1) / ELEMENTS_PER_TASK;
        if (tasks <= 1) {
            fillRange(dst, dtype, spec, first, 0, count);
            return;
        }
        LongStream.range(0, tasks).parallel().forEach(t -> {
            long from = t * ELEMENTS_PER_TASK;
            fillRange(dst, dtype, spec, first, from, Math.min(count, from + ELEMENTS_PER_TASK));
        });
    }

    /** Elements {@code first + from .. first + to} of the tensor go to positions {@code from .. to} of {@code dst}. */
    private static void fillRange(MemorySegment dst, DType dtype, TensorSpec spec, long first, long from, long to) {
        long seed = spec.seed();
        float scale = spec.kind() == Kind.NORM ? 0.05f : 0.02f;
        float offset = spec.kind() == Kind.NORM ? 1f : 0f;
        switch (dtype) {
            case F32 -> {
                for (long i = from; i < to; i++) {
                    dst.set(Elements.FLOAT_LE, 4 * i, offset + scale * gaussian(seed, first + i));
                }
            }
            case BF16 -> {
                for (long i = from; i < to; i++) {
                    dst.set(Elements.SHORT_LE, 2 * i, Elements.floatToBf16(offset + scale * gaussian(seed, first + i)));
                }
            }
            case F16 -> {
                for (long i = from; i < to; i++) {
                    dst.set(Elements.SHORT_LE, 2 * i, Elements.floatToF16(offset + scale * gaussian(seed, first + i)));
                }
            }
            default -> throw new IllegalArgumentException("synthetic tensors are F32, F16 or BF16, not " + dtype);
        }
    }

    /** About standard normal: the sum of four 16-bit uniforms (Irwin-Hall), centred and scaled to unit variance. */
    static float gaussian(long seed, long index) {
        long z = mix(seed + index * 0x9E3779B97F4A7C15L);
        long sum = (z & 0xffff) + ((z >>> 16) & 0xffff) + ((z >>> 32) & 0xffff) + (z >>> 48);
        return (sum * (1f / 65536f) - 2f) * 1.7320508f;
    }

    /** SplitMix64's finalizer: a cheap, well-mixed 64-bit hash. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static ObjectNode configJson(SyntheticShape s, String torchDtype) {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("attention_bias", true);
        c.put("attention_dropout", 0.0);
        c.put("bos_token_id", SyntheticTokenizer.BOS_ID);
        c.put("eos_token_id", SyntheticTokenizer.EOS_ID);
        c.put("head_dim", s.headDim());
        c.put("hidden_act", "silu");
        c.put("hidden_size", s.hidden());
        c.put("initializer_range", 0.02);
        c.put("intermediate_size", s.intermediate());
        c.put("max_position_embeddings", s.maxPositionEmbeddings());
        c.put("mlp_bias", false);
        c.put("model_type", "llama");
        c.put("num_attention_heads", s.heads());
        c.put("num_hidden_layers", s.layers());
        c.put("num_key_value_heads", s.kvHeads());
        c.put("rms_norm_eps", s.rmsNormEps());
        c.putNull("rope_scaling");
        c.put("rope_theta", s.ropeTheta());
        c.put("tie_word_embeddings", false);
        c.put("torch_dtype", torchDtype);
        c.put("vocab_size", s.vocab());
        return c;
    }
}
