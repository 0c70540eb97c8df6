package dev.yulan.inference.cache;

import dev.yulan.inference.tensor.DType;

/**
 * Where each key and value vector lives inside a KV block. A block holds {@code blockTokens} consecutive positions of
 * one sequence for every layer: {@code [layer][K|V][kvHead][slot][headDim]}, so attention over one KV head reads the
 * block's positions contiguously.
 */
public record KvLayout(int layers, int kvHeads, int headDim, int blockTokens, DType dtype) {

    public static final int KEY = 0;
    public static final int VALUE = 1;

    public KvLayout {
        if (dtype.isQuantized()) {
            throw new IllegalArgumentException("KV cache storage must be F32, F16 or BF16, not " + dtype);
        }
        if (blockTokens < 1 || layers < 1 || kvHeads < 1 || headDim < 1) {
            throw new IllegalArgumentException("KV layout dimensions must be positive");
        }
    }

    /** Bytes of one head vector. */
    public long vectorBytes() {
        return dtype.bytesFor(headDim);
    }

    /** Bytes of one whole block. */
    public long blockBytes() {
        return (long) layers * 2 * kvHeads * blockTokens * vectorBytes();
    }

    /** Bytes of KV per token of context. */
    public long bytesPerToken() {
        return blockBytes() / blockTokens;
    }

    /** Byte offset, inside the block, of the vector for ({@code layer}, {@code kind}, {@code kvHead}, {@code slot}). */
    public long offset(int layer, int kind, int kvHead, int slot) {
        return (((long) (layer * 2 + kind) * kvHeads + kvHead) * blockTokens + slot) * vectorBytes();
    }
}
