package dev.yulan.inference.model;

import dev.yulan.inference.tensor.DType;
import dev.yulan.inference.tensor.Elements;
import dev.yulan.inference.tensor.Matrix;
import dev.yulan.inference.tensor.Panels;
import dev.yulan.inference.tensor.Quantizer;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Loads a Hugging Face model directory: {@code config.json}, {@code generation_config.json} when present, and the
 * safetensors weights, memory-mapped while they are packed into panels ({@link #prepare}) in off-heap memory that the
 * checkpoint owns. The tokenizer files are read by the tokenizer from {@link Checkpoint#directory()}.
 *
 * <p>Quantize-at-load ({@link LoadOptions#quantize()}) converts every matrix, the embedding and the LM head included
 * (as llama.cpp's Q8_0 and Q4_0 files do), into off-heap memory; norms and biases stay float. A matrix whose width is
 * not a multiple of the 32-element block stays in its stored dtype, as llama.cpp falls back for such tensors.
 */
public final class ModelLoader {

    private ModelLoader() {}

    /** Prefix of a model spec that names a synthetic model built in memory: {@code synth:<shape>[:<dtype>]}. */
    public static final String SYNTHETIC_PREFIX = "synth:";

    /**
     * Loads {@code model}: a model directory, or {@code synth:<shape>[:<dtype>]} (shape {@code yulan-mini} or
     * {@code tiny}, dtype {@code bf16} (default), {@code f16} or {@code f32}) for random weights built in memory with
     * seed 0, as benchmarks use.
     */
    public static Checkpoint load(String model, LoadOptions options) {
        if (!model.startsWith(SYNTHETIC_PREFIX)) {
            return load(Path.of(model), options);
        }
        String[] parts = model.substring(SYNTHETIC_PREFIX.length()).split(":", -1);
        if (parts.length > 2) {
            throw new CheckpointException("bad synthetic model " + model + "; use synth:<shape>[:<dtype>]");
        }
        SyntheticShape shape;
        DType dtype;
        try {
            shape = SyntheticShape.preset(parts[0]);
            dtype = parts.length == 2 ? plainDType(parts[1]) : DType.BF16;
        } catch (IllegalArgumentException e) {
            throw new CheckpointException("bad synthetic model " + model + ": " + e.getMessage(), e);
        }
        return load(shape, dtype, 0, options);
    }

    /**
     * A synthetic model of {@code shape} with random weights of {@code dtype} from {@code seed}, built in memory and
     * prepared as a loaded checkpoint is (quantized when the options say so, packed).
     */
    public static Checkpoint load(SyntheticShape shape, DType dtype, long seed, LoadOptions options) {
        try (Checkpoint built = SyntheticCheckpoint.inMemory(shape, dtype, seed, options.progress())) {
            Arena arena = Arena.ofShared();
            try {
                ModelWeights weights = prepare(built.weights(), options.quantize(), true, arena, options.progress());
                return new Checkpoint(built.config(), built.generationConfig(), weights, null, arena);
            } catch (RuntimeException e) {
                arena.close();
                throw e;
            }
        }
    }

    /** {@code bf16}, {@code f16} or {@code f32}, any case. */
    public static DType plainDType(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "bf16", "bfloat16" -> DType.BF16;
            case "f16", "fp16", "float16" -> DType.F16;
            case "f32", "fp32", "float32" -> DType.F32;
            default -> throw new IllegalArgumentException("unknown dtype " + name + "; use bf16, f16 or f32");
        };
    }

    public static Checkpoint load(Path dir, LoadOptions options) {
        if (!Files.exists(dir)) {
            throw new CheckpointException("model directory " + dir + " does not exist");
        }
        if (!Files.isDirectory(dir)) {
            throw new CheckpointException(dir + " is not a model directory (config.json and *.safetensors)");
        }
        ModelConfig config = ModelConfig.read(dir);
        GenerationConfig generation = GenerationConfig.read(dir);
        Arena arena = Arena.ofShared();
        // The files are mapped only while the weights are packed: afterwards nothing points into them.
        try (Arena mapping = Arena.ofShared()) {
            SafeTensors tensors = SafeTensors.open(dir, mapping);
            ModelWeights weights =
                    prepare(weights(tensors, config), options.quantize(), true, arena, options.progress());
            return new Checkpoint(config, generation, weights, dir, arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * The model's weights as views of {@code tensors}, every shape checked against {@code config}. Attention biases
     * are read only when the config says {@code attention_bias: true}, and the {@code lm_head} only when the embedding
     * is not tied, as Hugging Face transformers does.
     */
    public static ModelWeights weights(SafeTensors tensors, ModelConfig config) {
        int hidden = config.hiddenSize();
        int q = config.queryDim();
        int kv = config.kvDim();
        int ffn = config.intermediateSize();
        Matrix embedding = matrix(tensors, "model.embed_tokens.weight", config.vocabSize(), hidden);
        List<LayerWeights> layers = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            boolean bias = config.attentionBias();
            layers.add(new LayerWeights(
                    vector(tensors, p + "input_layernorm.weight", hidden),
                    matrix(tensors, p + "self_attn.q_proj.weight", q, hidden),
                    matrix(tensors, p + "self_attn.k_proj.weight", kv, hidden),
                    matrix(tensors, p + "self_attn.v_proj.weight", kv, hidden),
                    matrix(tensors, p + "self_attn.o_proj.weight", hidden, q),
                    bias ? vector(tensors, p + "self_attn.q_proj.bias", q) : null,
                    bias ? vector(tensors, p + "self_attn.k_proj.bias", kv) : null,
                    bias ? vector(tensors, p + "self_attn.v_proj.bias", kv) : null,
                    bias ? vector(tensors, p + "self_attn.o_proj.bias", hidden) : null,
                    vector(tensors, p + "post_attention_layernorm.weight", hidden),
                    matrix(tensors, p + "mlp.gate_proj.weight", ffn, hidden),
                    matrix(tensors, p + "mlp.up_proj.weight", ffn, hidden),
                    matrix(tensors, p + "mlp.down_proj.weight", hidden, ffn)));
        }
        float[] finalNorm = vector(tensors, "model.norm.weight", hidden);
        Matrix lmHead =
                config.tieWordEmbeddings() ? embedding : matrix(tensors, "lm_head.weight", config.vocabSize(), hidden);
        return new ModelWeights(embedding, layers, finalNorm, lmHead);
    }

    /**
     * The weights ready to compute with: every matrix but the embedding packed into panels ({@link Panels}) in {@code
     * arena}, quantized first to {@code quantize} when it is not null (the embedding too, as llama.cpp's Q8_0 and Q4_0
     * files do; a matrix whose width is not a multiple of the 32-element block stays in its stored dtype, as llama.cpp
     * falls back for such tensors). The embedding stays row-major: it is read a row per token. With {@code
     * copyEmbedding} it is copied into {@code arena}, so that the source's memory may be freed. Matrices are prepared
     * in parallel.
     */
    public static ModelWeights prepare(
            ModelWeights weights, DType quantize, boolean copyEmbedding, Arena arena, LoadProgress progress) {
        boolean headIsEmbedding = weights.lmHead() == weights.embedding();
        List<Matrix> sources = weights.layers().stream()
                .flatMap(LayerWeights::matrices)
                .collect(java.util.stream.Collectors.toCollection(ArrayList::new));
        if (!headIsEmbedding) {
            sources.add(weights.lmHead());
        }
        long total = sources.stream().mapToLong(Matrix::byteSize).sum()
                + weights.embedding().byteSize();
        AtomicLong done = new AtomicLong();
        List<Matrix> results = sources.parallelStream()
                .map(m -> {
                    Matrix packed;
                    if (quantize != null && m.cols() % quantize.blockSize() == 0) {
                        try (Arena scratch = Arena.ofShared()) {
                            packed = Panels.pack(Quantizer.quantize(m, quantize, scratch), arena);
                        }
                    } else {
                        packed = Panels.pack(m, arena);
                    }
                    progress.update(done.addAndGet(m.byteSize()), total);
                    return packed;
                })
                .toList();
        Map<Matrix, Matrix> converted = new IdentityHashMap<>();
        for (int i = 0; i < sources.size(); i++) {
            converted.put(sources.get(i), results.get(i));
        }
        Matrix embedding = weights.embedding();
        if (quantize != null && embedding.cols() % quantize.blockSize() == 0) {
            embedding = Quantizer.quantize(embedding, quantize, arena);
        } else if (copyEmbedding) {
            embedding = new Matrix(
                    embedding.dtype(),
                    embedding.rows(),
                    embedding.cols(),
                    arena.allocate(embedding.byteSize(), 64).copyFrom(embedding.data()));
        }
        // A tied head is the embedding as prepared (quantized once), packed.
        Matrix head = headIsEmbedding ? Panels.pack(embedding, arena) : converted.get(weights.lmHead());
        progress.update(done.addAndGet(weights.embedding().byteSize()), total);
        List<LayerWeights> layers =
                weights.layers().stream().map(l -> l.map(converted::get)).toList();
        return new ModelWeights(embedding, layers, weights.finalNorm(), head, weights.tied());
    }

    private static Matrix matrix(SafeTensors tensors, String name, int rows, int cols) {
        SafeTensors.Tensor t = tensors.tensor(name);
        List<Long> expected = List.of((long) rows, (long) cols);
        if (!t.shape().equals(expected)) {
            throw new CheckpointException(
                    "tensor " + name + " has shape " + t.shape() + ", config.json implies " + expected);
        }
        return new Matrix(t.dtype(), rows, cols, t.data());
    }

    private static float[] vector(SafeTensors tensors, String name, int length) {
        SafeTensors.Tensor t = tensors.tensor(name);
        if (!t.shape().equals(List.of((long) length))) {
            throw new CheckpointException(
                    "tensor " + name + " has shape " + t.shape() + ", config.json implies [" + length + "]");
        }
        DType dtype = t.dtype();
        float[] values = new float[length];
        for (int i = 0; i < length; i++) {
            values[i] = Elements.get(t.data(), 0, dtype, i);
        }
        return values;
    }
}
