package dev.yulan.inference.tensor;

import java.lang.foreign.MemorySegment;

/**
 * A row-major weight matrix {@code [rows x cols]} in {@code data}, usually a slice of a memory-mapped checkpoint. Rows
 * are output features, as in a Hugging Face {@code nn.Linear} weight {@code [out_features, in_features]}, so {@code
 * y = W x} reads one row per output. Each row takes {@code dtype.bytesFor(cols)} bytes.
 */
public record Matrix(DType dtype, int rows, int cols, MemorySegment data) {

    public Matrix {
        long expected = (long) rows * dtype.bytesFor(cols);
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException("a " + dtype + " matrix of " + rows + "x" + cols + " takes " + expected
                    + " bytes, the data has " + data.byteSize());
        }
    }

    /** Bytes of one row. */
    public long rowBytes() {
        return dtype.bytesFor(cols);
    }

    /** Bytes read to apply this matrix once. */
    public long byteSize() {
        return data.byteSize();
    }
}
