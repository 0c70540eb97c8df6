package dev.yulan.inference.model;

import dev.yulan.inference.tensor.DType;
import dev.yulan.inference.tensor.Matrix;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * All weights of a Llama-layout model. When the embedding is tied, {@code lmHead} is the same {@link Matrix} as
 * {@code embedding}.
 *
 * @param embedding {@code model.embed_tokens.weight} [vocab x hidden]; a token's vector is its row
 * @param finalNorm {@code model.norm.weight} [hidden]
 * @param lmHead {@code lm_head.weight} [vocab x hidden], or the embedding when tied
 */
public record ModelWeights(Matrix embedding, List<LayerWeights> layers, float[] finalNorm, Matrix lmHead) {

    public ModelWeights {
        layers = List.copyOf(layers);
    }

    public boolean tied() {
        return lmHead == embedding;
    }

    /** Every distinct matrix (a tied head counted once). */
    public Stream<Matrix> matrices() {
        Stream<Matrix> head = tied() ? Stream.empty() : Stream.of(lmHead);
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
