package dev.yulan.inference.kernel;

import dev.yulan.inference.tensor.DType;
import dev.yulan.inference.tensor.Elements;
import dev.yulan.inference.tensor.Matrix;
import java.lang.foreign.MemorySegment;
import java.util.function.IntConsumer;

/** The executable specification of {@link Kernels}: plain loops on one thread, written for clarity, not speed. */
public final class ScalarKernels implements Kernels {

    @Override
    public void matmul(Matrix w, float[] x, float[] out, int batch) {
        int rows = w.rows();
        int cols = w.cols();
        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < rows; r++) {
                out[b * rows + r] = w.dtype().isQuantized() ? blockedDot(w, r, x, b * cols) : dot(w, r, x, b * cols);
            }
        }
    }

    /** One FMA chain over the row in column order. */
    private static float dot(Matrix w, int r, float[] x, int xOff) {
        float sum = 0f;
        for (int k = 0; k < w.cols(); k++) {
            sum = Math.fma(w.get(r, k), x[xOff + k], sum);
        }
        return sum;
    }

    /** One FMA chain of integers per 32-column block, each added to the sum times the block's scale. */
    private static float blockedDot(Matrix w, int r, float[] x, int xOff) {
        float sum = 0f;
        for (int block = 0; block < w.cols() / 32; block++) {
            float inner = 0f;
            for (int k = block * 32; k < block * 32 + 32; k++) {
                inner = Math.fma(w.quant(r, k), x[xOff + k], inner);
            }
            sum = Math.fma(w.scale(r, block), inner, sum);
        }
        return sum;
    }

    @Override
    public void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        float ss = 0f;
        for (int i = 0; i < n; i++) {
            ss += x[xOff + i] * x[xOff + i];
        }
        float inv = (float) (1.0 / Math.sqrt(ss / n + eps));
        for (int i = 0; i < n; i++) {
            out[outOff + i] = x[xOff + i] * inv * weight[i];
        }
    }

    @Override
    public void softmax(float[] x, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            x[off + i] = (float) Math.exp(x[off + i] - max);
            sum += x[off + i];
        }
        for (int i = 0; i < n; i++) {
            x[off + i] /= sum;
        }
    }

    @Override
    public void swiglu(float[] gate, int gateOff, float[] up, int upOff, int n) {
        for (int i = 0; i < n; i++) {
            float g = gate[gateOff + i];
            gate[gateOff + i] = g / (1f + (float) Math.exp(-g)) * up[upOff + i];
        }
    }

    @Override
    public void add(float[] acc, int accOff, float[] x, int xOff, int n) {
        for (int i = 0; i < n; i++) {
            acc[accOff + i] += x[xOff + i];
        }
    }

    @Override
    public void rope(float[] x, int off, int heads, int headDim, float[] cos, float[] sin, int trigOff) {
        int half = headDim / 2;
        for (int h = 0; h < heads; h++) {
            int base = off + h * headDim;
            for (int i = 0; i < half; i++) {
                float a = x[base + i];
                float b = x[base + i + half];
                float c = cos[trigOff + i];
                float s = sin[trigOff + i];
                x[base + i] = a * c - b * s;
                x[base + i + half] = b * c + a * s;
            }
        }
    }

    @Override
    public void keyScores(
            float[] q,
            int qOff,
            int heads,
            int headDim,
            MemorySegment kv,
            long keyAt,
            DType dtype,
            int slots,
            int blockTokens,
            float[] out,
            int outOff,
            int outStride) {
        long stride = (long) blockTokens * Elements.bytes(dtype);
        for (int g = 0; g < heads; g++) {
            for (int s = 0; s < slots; s++) {
                float sum = 0f;
                for (int d = 0; d < headDim; d++) {
                    float key = Elements.get(kv, keyAt + s * Elements.bytes(dtype) + d * stride, dtype, 0);
                    sum = Math.fma(q[qOff + g * headDim + d], key, sum);
                }
                out[outOff + g * outStride + s] = sum;
            }
        }
    }

    @Override
    public void valueSum(
            float[] out,
            int outOff,
            int heads,
            int headDim,
            float[] p,
            int pOff,
            int pStride,
            MemorySegment kv,
            long valueAt,
            DType dtype,
            int slots) {
        for (int g = 0; g < heads; g++) {
            for (int d = 0; d < headDim; d++) {
                float sum = out[outOff + g * headDim + d];
                for (int s = 0; s < slots; s++) {
                    float value = Elements.get(kv, valueAt + (long) s * headDim * Elements.bytes(dtype), dtype, d);
                    sum = Math.fma(p[pOff + g * pStride + s], value, sum);
                }
                out[outOff + g * headDim + d] = sum;
            }
        }
    }

    @Override
    public void store(MemorySegment dst, long byteOff, DType dtype, float[] src, int off, int n) {
        for (int i = 0; i < n; i++) {
            Elements.set(dst, byteOff, dtype, i, src[off + i]);
        }
    }

    @Override
    public void store(MemorySegment dst, long byteOff, long strideBytes, DType dtype, float[] src, int off, int n) {
        for (int i = 0; i < n; i++) {
            Elements.set(dst, byteOff + i * strideBytes, dtype, 0, src[off + i]);
        }
    }

    @Override
    public void row(Matrix w, int row, float[] out, int outOff) {
        for (int k = 0; k < w.cols(); k++) {
            out[outOff + k] = w.get(row, k);
        }
    }

    @Override
    public void parallelFor(int count, IntConsumer task) {
        for (int i = 0; i < count; i++) {
            task.accept(i);
        }
    }

    @Override
    public int threads() {
        return 1;
    }

    @Override
    public void close() {}
}
