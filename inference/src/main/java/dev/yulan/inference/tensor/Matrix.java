package dev.yulan.inference.tensor;

import java.lang.foreign.MemorySegment;

/**
 * A weight matrix {@code [rows x cols]} in {@code data}. Rows are output features, as in a Hugging Face {@code
 * nn.Linear} weight {@code [out_features, in_features]}, so {@code y = W x} reads one row per output.
 *
 * <p>{@link Layout#ROWS} is the checkpoint's row-major layout (a slice of a memory-mapped file, each row taking {@code
 * dtype.bytesFor(cols)} bytes); {@link Layout#PANELS} is the packed copy the fast matmul streams ({@link Panels}).
 */
public record Matrix(DType dtype, int rows, int cols, MemorySegment data, Layout layout) {

    /** How the elements are ordered in {@code data}. */
    public enum Layout {
        /** Row-major, as stored in safetensors and GGUF files. */
        ROWS,
        /** Column-major panels of 16 rows ({@link Panels}). */
        PANELS
    }

    public Matrix {
        long expected = layout == Layout.ROWS ? (long) rows * dtype.bytesFor(cols) : Panels.byteSize(dtype, rows, cols);
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException("a " + dtype + " matrix of " + rows + "x" + cols + " in " + layout
                    + " takes " + expected + " bytes, the data has " + data.byteSize());
        }
    }

    /** A row-major matrix. */
    public Matrix(DType dtype, int rows, int cols, MemorySegment data) {
        this(dtype, rows, cols, data, Layout.ROWS);
    }

    /** Bytes of one row's elements (in either layout). */
    public long rowBytes() {
        return dtype.bytesFor(cols);
    }

    /** Bytes read to apply this matrix once. */
    public long byteSize() {
        return data.byteSize();
    }

    /** The scale of 32-column block {@code block} of {@code row}, for quantized dtypes. */
    public float scale(int row, int block) {
        return layout == Layout.ROWS
                ? Elements.f16ToFloat(data.get(Elements.SHORT_LE, row * rowBytes() + (long) block * dtype.blockBytes()))
                : Panels.scale(data, dtype, cols, row, block);
    }

    /**
     * The integer of element {@code (row, col)} of a quantized dtype, before scaling: the signed byte of Q8_0, {@code
     * nibble - 8} of Q4_0.
     */
    public int quant(int row, int col) {
        return layout == Layout.ROWS
                ? Elements.quant(data, row * rowBytes(), dtype, col)
                : Panels.quant(data, dtype, cols, row, col);
    }

    /** Element {@code (row, col)}, decoded to float. */
    public float get(int row, int col) {
        return layout == Layout.ROWS
                ? Elements.get(data, row * rowBytes(), dtype, col)
                : Panels.get(data, dtype, cols, row, col);
    }
}
