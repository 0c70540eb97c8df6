package dev.yulan.inference.model;

import dev.yulan.inference.tensor.DType;
import dev.yulan.inference.tensor.Matrix;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * All weights of a Llama-layout model. The embedding stays row-major (a token's vector is read as one row); the other
 * matrices are packed into panels once loaded ({@link ModelLoader#prepare}). When the embedding is tied, {@code
 * lmHead} is the embedding itself as read from the checkpoint, or its packed copy.
 *
 * @param embedding {@code model.embed_tokens.weight} [vocab x hidden]; a token's vector is its row
 * @param finalNorm {@code model.norm.weight} [hidden]
 * @param lmHead {@code lm_head.weight} [vocab x hidden], or the embedding when tied
 * @param tied whether the checkpoint ties the LM head to the embedding
 */
public record ModelWeights(
        Matrix embedding, List<LayerWeights> layers, float[] finalNorm, Matrix lmHead, boolean tied) {

    public ModelWeights {
        layers = List.copyOf(layers);
    }

    /** Weights as read from a checkpoint: tied when the head is the embedding itself. */
    public ModelWeights(Matrix embedding, List<LayerWeights> layers, float[] finalNorm, Matrix lmHead) {
        this(embedding, layers, finalNorm, lmHead, lmHead == embedding);
    }

    /** Every distinct matrix in memory (a head that is the embedding itself counted once). */
    public Stream<Matrix> matrices() {
        Stream<Matrix> head = lmHead == embedding ? Stream.empty() : Stream.of(lmHead);
        return Stream.concat(
                Stream.concat(Stream.of(embedding), layers.stream().flatMap(LayerWeights::matrices)), head);
    }

    /** Bytes of all matrices in memory (norms and biases, a few KB, not counted). */
    public long matrixBytes() {
        return matrices().mapToLong(Matrix::byteSize).sum();
    }

    /**
     * Bytes of weights read to compute one token: every layer matrix, the LM head, and one embedding row. This is what
     * bounds batch-1 decode speed on a memory-bandwidth-limited machine.
     */
    public long bytesReadPerToken() {
        return layers.stream().mapToLong(LayerWeights::matrixBytes).sum() + lmHead.byteSize() + embedding.rowBytes();
    }

    /** The dtypes the matrices are stored in. */
    public Set<DType> dtypes() {
        Set<DType> set = EnumSet.noneOf(DType.class);
        matrices().forEach(m -> set.add(m.dtype()));
        return set;
    }
}
