package dev.yulan.inference.kernel;

import dev.yulan.inference.tensor.DType;
import dev.yulan.inference.tensor.Elements;
import dev.yulan.inference.tensor.Matrix;
import dev.yulan.inference.tensor.Panels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/** Random weights and activations for kernel tests. */
final class RandomData {

    private RandomData() {}

    static float[] floats(SplittableRandom random, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) random.nextDouble(-1, 1);
        }
        return x;
    }

    /**
     * A random matrix packed into panels, as the kernels take weights: plain dtypes hold values in (-1, 1); quantized
     * ones random blocks with small scales.
     */
    static Matrix matrix(Arena arena, SplittableRandom random, DType dtype, int rows, int cols) {
        return Panels.pack(rowMajor(arena, random, dtype, rows, cols), arena);
    }

    /** A random row-major matrix, as a checkpoint stores it. */
    static Matrix rowMajor(Arena arena, SplittableRandom random, DType dtype, int rows, int cols) {
        long rowBytes = dtype.bytesFor(cols);
        MemorySegment data = arena.allocate(rowBytes * rows, 64);
        for (int r = 0; r < rows; r++) {
            long row = r * rowBytes;
            if (dtype.isQuantized()) {
                for (long b = 0; b < rowBytes; b += dtype.blockBytes()) {
                    float scale = (float) random.nextDouble(-0.05, 0.05);
                    data.set(Elements.SHORT_LE, row + b, Elements.floatToF16(scale));
                    for (int i = 2; i < dtype.blockBytes(); i++) {
                        data.set(ValueLayout.JAVA_BYTE, row + b + i, (byte) random.nextInt(256));
                    }
                }
            } else {
                for (int k = 0; k < cols; k++) {
                    Elements.set(data, row, dtype, k, (float) random.nextDouble(-1, 1));
                }
            }
        }
        return new Matrix(dtype, rows, cols, data);
    }

    /** Sum of |w| * |x| over a row, the scale of the rounding error of a dot product. */
    static float magnitude(Matrix w, int row, float[] x, int xOff) {
        float total = 0f;
        for (int k = 0; k < w.cols(); k++) {
            total += Math.abs(w.get(row, k) * x[xOff + k]);
        }
        return total;
    }
}
