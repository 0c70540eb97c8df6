package dev.yulan.inference.tensor;

/**
 * Element types of weights and KV-cache storage. Quantized types are stored in blocks of {@link #blockSize()}
 * elements taking {@link #blockBytes()} bytes; plain types are blocks of one element.
 *
 * <p>Q8_0 and Q4_0 use GGUF's block layouts, so GGUF files map without repacking: Q8_0 is an F16 scale followed by 32
 * signed bytes (value = scale * q); Q4_0 is an F16 scale followed by 16 bytes of nibbles, low nibbles holding elements
 * 0..15 and high nibbles elements 16..31 (value = scale * (nibble - 8)).
 */
public enum DType {
    F32(1, 4),
    F16(1, 2),
    BF16(1, 2),
    Q8_0(32, 34),
    Q4_0(32, 18);

    private final int blockSize;
    private final int blockBytes;

    DType(int blockSize, int blockBytes) {
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** Elements per block. */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block. */
    public int blockBytes() {
        return blockBytes;
    }

    public boolean isQuantized() {
        return blockSize > 1;
    }

    /** Bytes taken by {@code elements} elements; for quantized types a whole number of blocks is required. */
    public long bytesFor(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(
                    name() + " needs a multiple of " + blockSize + " elements, got " + elements);
        }
        return elements / blockSize * blockBytes;
    }
}
