package dev.yulan.inference.kernel;

import dev.yulan.inference.tensor.DType;
import dev.yulan.inference.tensor.Matrix;
import java.lang.foreign.MemorySegment;
import java.util.function.IntConsumer;

/**
 * The numeric kernels of the forward pass. {@link ScalarKernels} is the executable specification; every faster
 * implementation is tested against it. Activations are heap {@code float[]} with explicit offsets; weights and KV
 * storage are {@link MemorySegment}s (off-heap, often memory-mapped).
 *
 * <p>Batch invariance: the value written for one sequence must not depend on how many other sequences share the call,
 * nor on where in the batch it sits. The engine relies on this to replay a request after a failure bit for bit.
 */
public interface Kernels extends AutoCloseable {

    /** The fast kernels (Vector API) computing on {@code threads} threads; close them to stop the workers. */
    static Kernels create(int threads) {
        return new VectorKernels(threads);
    }

    /** The fast kernels on one thread per available processor. */
    static Kernels create() {
        return create(Runtime.getRuntime().availableProcessors());
    }

    /** The single-threaded reference implementation. */
    static Kernels scalar() {
        return new ScalarKernels();
    }

    /**
     * Weight-stationary batched matrix multiply: {@code out[b*rows + r] = sum_k w[r][k] * x[b*cols + k]} for {@code b <
     * batch}, each sum one chain of fused multiply-adds in column order starting from zero, so every implementation
     * gives the same bits whatever the batch. For Q8_0 and Q4_0, as in GGUF's quantized dot products, each 32-column
     * block's integers make a chain of their own, which joins the sum in one FMA with the block's scale. {@code x} is {@code [batch x w.cols()]} and {@code out} is {@code [batch x
     * w.rows()]}, both row-major from offset 0. Implementations load each block of weights once for the whole batch and
     * may split rows over threads; the fast ones need the weights in {@link Matrix.Layout#PANELS}.
     */
    void matmul(Matrix w, float[] x, float[] out, int batch);

    /** {@code out[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i]} for {@code i < n}. {@code out} may alias {@code x}. */
    void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps);

    /** In-place softmax of {@code x[off .. off+n)}. */
    void softmax(float[] x, int off, int n);

    /** SwiGLU in place: {@code gate[i] = silu(gate[i]) * up[i]} where {@code silu(v) = v / (1 + exp(-v))}. */
    void swiglu(float[] gate, int gateOff, float[] up, int upOff, int n);

    /** {@code acc[i] += x[i]}. */
    void add(float[] acc, int accOff, float[] x, int xOff, int n);

    /**
     * RoPE in the Hugging Face "rotate-half" pairing, in place on {@code heads} consecutive heads of {@code headDim}
     * starting at {@code off}: element {@code i} pairs with {@code i + headDim/2}. {@code cos} and {@code sin} hold the
     * {@code headDim/2} rotation values for this position, starting at {@code trigOff}.
     */
    void rope(float[] x, int off, int heads, int headDim, float[] cos, float[] sin, int trigOff);

    /**
     * Attention scores of one KV block for a group of query heads: {@code out[outOff + g*outStride + s] = q_g . key_s}
     * for {@code g < heads} and {@code s < slots}, each one FMA chain over the {@code headDim} dimensions in order. Query
     * head {@code g} is {@code q[qOff + g*headDim ..]}; the block stores its keys transposed, element {@code d} of key
     * {@code s} at {@code kv[keyAt + (d*blockTokens + s) * elementBytes]}, so one vector load is one dimension of 16 keys.
     */
    void keyScores(
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
            int outStride);

    /**
     * Attention output of one KV block for a group of query heads: {@code out[outOff + g*headDim + d] += sum_s
     * p[pOff + g*pStride + s] * value_s[d]} for {@code g < heads}, one FMA per slot in order. Value {@code s} is the
     * {@code headDim} elements at {@code kv[valueAt + s * headDim * elementBytes]}.
     */
    void valueSum(
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
            int slots);

    /** Stores {@code src[off .. off+n)} as {@code dtype} (F32, F16 or BF16, rounding to nearest even) at {@code byteOff}. */
    void store(MemorySegment dst, long byteOff, DType dtype, float[] src, int off, int n);

    /**
     * Stores {@code src[off .. off+n)} as {@code dtype} (F32, F16 or BF16, rounding to nearest even), element {@code i}
     * at {@code byteOff + i*strideBytes}.
     */
    void store(MemorySegment dst, long byteOff, long strideBytes, DType dtype, float[] src, int off, int n);

    /** Decodes row {@code row} of {@code w} (any dtype) into {@code out[outOff .. outOff+w.cols())}. */
    void row(Matrix w, int row, float[] out, int outOff);

    /**
     * Runs {@code task.accept(i)} for every {@code i < count}, possibly in parallel on the kernel's worker threads, and
     * returns when all are done. Tasks must write disjoint memory.
     */
    void parallelFor(int count, IntConsumer task);

    /** Worker threads this instance computes with (1 for the scalar reference). */
    int threads();

    @Override
    void close();
}
