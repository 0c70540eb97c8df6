package dev.yulan.inference.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.IntStream;

/**
 * The panel layout of a weight matrix, the one the fast matmul streams. Rows are cut into panels of {@link #ROWS}
 * output rows, and a panel stores its weights column by column, so one vector load gives the same input column of 16
 * rows; applying a panel is then 16 dot products at once with the activation broadcast, with no lane sums at the end.
 * Four consecutive panels make a group (64 rows; the row count is zero-padded to whole groups), the unit one thread
 * owns, so each thread streams its weights front to back.
 *
 * <p>Plain dtypes store column {@code k} of a panel at {@code k * 16 * elementBytes}. Quantized dtypes keep GGUF's
 * block of 32 columns with one F16 scale per row and block, and take exactly as many bytes as GGUF: a Q8_0 panel block
 * is the 16 rows' scales (32 bytes) then 32 columns of 16 signed bytes; a Q4_0 panel block is the 16 scales then 16
 * columns of 16 bytes whose low nibbles hold column {@code i} and high nibbles column {@code i + 16} of the block.
 */
public final class Panels {

    /** Rows per panel: one 512-bit vector of floats. */
    public static final int ROWS = 16;

    /** Panels per group; the packed row count is a multiple of {@code ROWS * GROUP}. */
    public static final int GROUP = 4;

    /** Bytes of the 16 F16 scales at the start of a quantized panel block. */
    public static final int SCALE_BYTES = ROWS * 2;

    private Panels() {}

    /** Rows stored: {@code rows} rounded up to whole groups. */
    public static int paddedRows(int rows) {
        int unit = ROWS * GROUP;
        return (rows + unit - 1) / unit * unit;
    }

    /** Bytes of one group (64 rows) of {@code cols} columns. */
    public static long groupBytes(DType dtype, int cols) {
        return ROWS * GROUP * dtype.bytesFor(cols);
    }

    /** Bytes of one panel of {@code cols} columns. */
    public static long panelBytes(DType dtype, int cols) {
        return ROWS * dtype.bytesFor(cols);
    }

    /** Offset of the panel holding {@code row}. */
    public static long panelOffset(DType dtype, int cols, int row) {
        return (row / ROWS) * panelBytes(dtype, cols);
    }

    /** Bytes of a whole packed matrix. */
    public static long byteSize(DType dtype, int rows, int cols) {
        return (long) paddedRows(rows) / (ROWS * GROUP) * groupBytes(dtype, cols);
    }

    /** Bytes of one 32-column block of one panel of a quantized dtype. */
    public static int blockBytes(DType dtype) {
        return ROWS * dtype.blockBytes();
    }

    /** The scale of 32-column block {@code block} of {@code row} of a packed quantized matrix. */
    public static float scale(MemorySegment data, DType dtype, int cols, int row, int block) {
        long at = panelOffset(dtype, cols, row) + (long) block * blockBytes(dtype) + 2L * (row % ROWS);
        return Elements.f16ToFloat(data.get(Elements.SHORT_LE, at));
    }

    /** The integer of element {@code (row, col)} of a packed quantized matrix. */
    public static int quant(MemorySegment data, DType dtype, int cols, int row, int col) {
        long piece = panelOffset(dtype, cols, row);
        int k = col;
        long block = piece + (long) (k / 32) * blockBytes(dtype) + SCALE_BYTES;
        int lane = row % ROWS;
        return switch (dtype) {
            case Q8_0 -> data.get(ValueLayout.JAVA_BYTE, block + (k % 32) * ROWS + lane);
            case Q4_0 -> {
                int within = k % 32;
                int packed = data.get(ValueLayout.JAVA_BYTE, block + (within % 16) * ROWS + lane) & 0xff;
                yield (within < 16 ? packed & 0x0f : packed >>> 4) - 8;
            }
            default -> throw new IllegalArgumentException(dtype + " is not quantized");
        };
    }

    /** Element {@code (row, col)} of a packed matrix. */
    public static float get(MemorySegment data, DType dtype, int cols, int row, int col) {
        long piece = panelOffset(dtype, cols, row);
        int lane = row % ROWS;
        int k = col;
        return switch (dtype) {
            case F32 -> data.get(Elements.FLOAT_LE, piece + ((long) k * ROWS + lane) * 4);
            case F16 -> Elements.f16ToFloat(data.get(Elements.SHORT_LE, piece + ((long) k * ROWS + lane) * 2));
            case BF16 -> Elements.bf16ToFloat(data.get(Elements.SHORT_LE, piece + ((long) k * ROWS + lane) * 2));
            case Q8_0 -> {
                long block = piece + (long) (k / 32) * blockBytes(dtype);
                float scale = Elements.f16ToFloat(data.get(Elements.SHORT_LE, block + 2L * lane));
                yield scale * data.get(ValueLayout.JAVA_BYTE, block + SCALE_BYTES + (k % 32) * ROWS + lane);
            }
            case Q4_0 -> {
                long block = piece + (long) (k / 32) * blockBytes(dtype);
                float scale = Elements.f16ToFloat(data.get(Elements.SHORT_LE, block + 2L * lane));
                int within = k % 32;
                int packed = data.get(ValueLayout.JAVA_BYTE, block + SCALE_BYTES + (within % 16) * ROWS + lane) & 0xff;
                yield scale * ((within < 16 ? packed & 0x0f : packed >>> 4) - 8);
            }
        };
    }

    /**
     * A packed copy of the row-major {@code source}, allocated in {@code arena}; the stored bytes of every element are
     * kept as they are, so the packed matrix holds exactly the same values. Rows are packed in parallel.
     */
    public static Matrix pack(Matrix source, Arena arena) {
        if (source.layout() != Matrix.Layout.ROWS) {
            throw new IllegalArgumentException("the matrix is already packed");
        }
        DType dtype = source.dtype();
        MemorySegment out = arena.allocate(byteSize(dtype, source.rows(), source.cols()), 64);
        // One task per group: the rows of a group share cache lines, so threads never write the same one.
        int unit = ROWS * GROUP;
        IntStream groups = IntStream.range(0, (source.rows() + unit - 1) / unit);
        Thread other = Thread.ofVirtual().unstarted(() -> {});
        if (source.data().isAccessibleBy(other) && out.isAccessibleBy(other)) {
            groups = groups.parallel(); // memory confined to this thread is packed here alone
        }
        groups.forEach(g -> {
            for (int r = g * unit; r < Math.min(source.rows(), (g + 1) * unit); r++) {
                packRow(source, out, r);
            }
        });
        return new Matrix(dtype, source.rows(), source.cols(), out, Matrix.Layout.PANELS);
    }

    private static void packRow(Matrix source, MemorySegment out, int row) {
        DType dtype = source.dtype();
        MemorySegment src = source.data();
        int cols = source.cols();
        long rowOff = row * source.rowBytes();
        long panel = panelOffset(dtype, cols, row);
        int lane = row % ROWS;
        switch (dtype) {
            case F32, F16, BF16 -> {
                int size = dtype == DType.F32 ? 4 : 2;
                for (int k = 0; k < cols; k++) {
                    MemorySegment.copy(
                            src, rowOff + (long) k * size, out, panel + ((long) k * ROWS + lane) * size, size);
                }
            }
            case Q8_0, Q4_0 -> {
                int quants = dtype.blockBytes() - 2;
                for (int b = 0; b < cols / 32; b++) {
                    long from = rowOff + (long) b * dtype.blockBytes();
                    long to = panel + (long) b * blockBytes(dtype);
                    MemorySegment.copy(src, from, out, to + 2L * lane, 2);
                    for (int i = 0; i < quants; i++) {
                        out.set(
                                ValueLayout.JAVA_BYTE,
                                to + SCALE_BYTES + (long) i * ROWS + lane,
                                src.get(ValueLayout.JAVA_BYTE, from + 2 + i));
                    }
                }
            }
        }
    }
}
