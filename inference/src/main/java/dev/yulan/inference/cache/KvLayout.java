package dev.yulan.inference.cache;

import dev.yulan.inference.tensor.DType;
import dev.yulan.inference.tensor.Elements;

/**
 * Where each key and value lives inside a KV block. A block holds {@code blockTokens} consecutive positions of one
 * sequence for every layer: {@code [layer][K|V][kvHead][...]}, values as {@code [slot][headDim]} and keys transposed,
 * {@code [headDim][slot]}: one vector load is then one dimension of all the block's keys, and the attention scores of
 * a block come out of FMAs with no lane sums (as vLLM lays out its key cache).
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

    /** Bytes of one element. */
    public int elementBytes() {
        return Elements.bytes(dtype);
    }

    /**
     * Byte offset, inside the block, of element 0 of the key or value of ({@code layer}, {@code kind}, {@code kvHead},
     * {@code slot}). A value's elements follow it; a key's are {@link #keyStride()} apart.
     */
    public long offset(int layer, int kind, int kvHead, int slot) {
        long region = ((long) (layer * 2 + kind) * kvHeads + kvHead) * blockTokens * vectorBytes();
        return region + (kind == KEY ? (long) slot * elementBytes() : slot * vectorBytes());
    }

    /** Bytes between consecutive elements of one key. */
    public long keyStride() {
        return (long) blockTokens * elementBytes();
    }
}
