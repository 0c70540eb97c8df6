package dev.yulan.inference.kernel;

import dev.yulan.inference.tensor.DType;
import dev.yulan.inference.tensor.Elements;
import dev.yulan.inference.tensor.Matrix;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Kernels} on the JDK Vector API (the preferred species, 512-bit on AVX-512) and a fixed pool of worker threads.
 *
 * <p>Matmul is weight-stationary: each worker owns a range of rows; per group of {@value #ROWS} rows it decodes the rows
 * once into a float scratch (BF16/F16 widened, Q8_0/Q4_0 scaled) and applies them to a whole chunk of the batch with
 * register tiles of {@value #ROWS} rows x {@value #TILE} sequences. Every (sequence, row) output is one vector
 * accumulator fed the same FMAs in the same order (one per vector of columns, zero-padded at the end) and reduced by the
 * same fixed lane tree, whatever the tile, the batch size, the sequence's position or the thread split: that is what
 * makes the results batch invariant, bit for bit. Lane reductions never use {@code reduceLanes(ADD)}, whose order
 * differs between the JIT and the interpreter.
 */
public final class VectorKernels implements Kernels {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16));
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));
    private static final VectorShuffle<Float> SWAP1 = VectorShuffle.fromOp(F, i -> i ^ 1);
    private static final VectorShuffle<Float> SWAP2 = VectorShuffle.fromOp(F, i -> i ^ 2);
    private static final VectorShuffle<Float> SWAP4 = L >= 8 ? VectorShuffle.fromOp(F, i -> i ^ 4) : null;
    private static final VectorShuffle<Float> SWAP8 = L >= 16 ? VectorShuffle.fromOp(F, i -> i ^ 8) : null;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** Rows decoded and applied together. */
    static final int ROWS = 4;
    /** Sequences per register tile. */
    static final int TILE = 4;
    /** Sequences per pass over the weights of a worker: their activations stay in L2 while the rows stream by. */
    static final int BATCH_CHUNK = 64;

    private final WorkerPool pool;
    private final float[][] scratch; // per worker: ROWS decoded rows
    private final IntConsumer matmulPart = this::matmulPart;
    private final IntConsumer parallelForPart = this::parallelForPart;
    private final AtomicInteger nextTask = new AtomicInteger();
    private float[] padded = new float[0];

    // Arguments of the job in flight; written by the caller before dispatch (the pool publishes them).
    private Matrix mW;
    private float[] mX;
    private float[] mOut;
    private int mBatch;
    private int mStride;
    private int pfCount;
    private IntConsumer pfTask;

    /** Kernels computing on {@code threads} threads (the caller plus {@code threads - 1} daemon workers). */
    public VectorKernels(int threads) {
        this.pool = new WorkerPool(threads);
        this.scratch = new float[threads][0];
    }

    @Override
    public int threads() {
        return pool.size();
    }

    @Override
    public void close() {
        pool.close();
    }

    // ---------------------------------------------------------------- matmul

    @Override
    public void matmul(Matrix w, float[] x, float[] out, int batch) {
        int cols = w.cols();
        int rows = w.rows();
        if (batch <= 0 || rows == 0) {
            return;
        }
        if (x.length < (long) batch * cols || out.length < (long) batch * rows) {
            throw new IllegalArgumentException("matmul of " + rows + "x" + cols + " at batch " + batch + " needs x of "
                    + (long) batch * cols + " and out of " + (long) batch * rows + ", got " + x.length + " and "
                    + out.length);
        }
        int stride = roundUp(cols);
        if (pool.insideJob() || !pool.canRead(w.data())) {
            // Called from inside a parallelFor task, or weights confined to this thread: compute here alone.
            float[] xs = stride == cols ? x : pad(x, new float[batch * stride], batch, cols, stride);
            matmulRows(w, xs, out, batch, stride, 0, rows, new float[ROWS * stride]);
            return;
        }
        synchronized (this) {
            float[] xs = x;
            if (stride != cols) {
                if (padded.length < batch * stride) {
                    padded = new float[batch * stride];
                }
                xs = pad(x, padded, batch, cols, stride);
            }
            mW = w;
            mX = xs;
            mOut = out;
            mBatch = batch;
            mStride = stride;
            try {
                pool.run(matmulPart);
            } finally {
                mW = null;
                mX = null;
                mOut = null;
            }
        }
    }

    /** Zero-pads every sequence to whole vectors so that the inner loops need no masks. */
    private static float[] pad(float[] x, float[] xs, int batch, int cols, int stride) {
        for (int b = 0; b < batch; b++) {
            System.arraycopy(x, b * cols, xs, b * stride, cols);
            Arrays.fill(xs, b * stride + cols, (b + 1) * stride, 0f);
        }
        return xs;
    }

    private void matmulPart(int part) {
        Matrix w = mW;
        int rows = w.rows();
        int groups = (rows + ROWS - 1) / ROWS;
        int parts = pool.size();
        int r0 = (int) ((long) groups * part / parts) * ROWS;
        int r1 = Math.min(rows, (int) ((long) groups * (part + 1) / parts) * ROWS);
        if (r0 >= r1) {
            return;
        }
        float[] ws = scratch[part];
        if (ws.length < ROWS * mStride) {
            ws = new float[ROWS * mStride];
            scratch[part] = ws;
        }
        matmulRows(w, mX, mOut, mBatch, mStride, r0, r1, ws);
    }

    /** Rows {@code [r0, r1)} of the matmul for the whole batch; {@code xs} has sequences {@code stride} apart. */
    private static void matmulRows(
            Matrix w, float[] xs, float[] out, int batch, int stride, int r0, int r1, float[] ws) {
        int rows = w.rows();
        for (int c0 = 0; c0 < batch; c0 += BATCH_CHUNK) {
            int c1 = Math.min(batch, c0 + BATCH_CHUNK);
            for (int g = r0; g < r1; g += ROWS) {
                int n = Math.min(ROWS, r1 - g);
                for (int i = 0; i < n; i++) {
                    decodeRow(w, g + i, ws, i * stride, stride);
                }
                if (n == ROWS) {
                    int b = c0;
                    for (; b + TILE <= c1; b += TILE) {
                        tile4x4(ws, stride, xs, b, out, rows, g);
                    }
                    for (; b < c1; b++) {
                        tile4x1(ws, stride, xs, b, out, rows, g);
                    }
                } else {
                    for (int i = 0; i < n; i++) {
                        int b = c0;
                        for (; b + TILE <= c1; b += TILE) {
                            tile1x4(ws, i * stride, stride, xs, b, out, rows, g + i);
                        }
                        for (; b < c1; b++) {
                            tile1x1(ws, i * stride, stride, xs, b, out, rows, g + i);
                        }
                    }
                }
            }
        }
    }

    private static void tile4x4(float[] ws, int stride, float[] xs, int b, float[] out, int rows, int r) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int x0 = b * stride, x1 = x0 + stride, x2 = x1 + stride, x3 = x2 + stride;
        int w1 = stride, w2 = 2 * stride, w3 = 3 * stride;
        for (int k = 0; k < stride; k += L) {
            FloatVector v0 = FloatVector.fromArray(F, ws, k);
            FloatVector v1 = FloatVector.fromArray(F, ws, w1 + k);
            FloatVector v2 = FloatVector.fromArray(F, ws, w2 + k);
            FloatVector v3 = FloatVector.fromArray(F, ws, w3 + k);
            FloatVector x = FloatVector.fromArray(F, xs, x0 + k);
            a00 = v0.fma(x, a00);
            a10 = v1.fma(x, a10);
            a20 = v2.fma(x, a20);
            a30 = v3.fma(x, a30);
            x = FloatVector.fromArray(F, xs, x1 + k);
            a01 = v0.fma(x, a01);
            a11 = v1.fma(x, a11);
            a21 = v2.fma(x, a21);
            a31 = v3.fma(x, a31);
            x = FloatVector.fromArray(F, xs, x2 + k);
            a02 = v0.fma(x, a02);
            a12 = v1.fma(x, a12);
            a22 = v2.fma(x, a22);
            a32 = v3.fma(x, a32);
            x = FloatVector.fromArray(F, xs, x3 + k);
            a03 = v0.fma(x, a03);
            a13 = v1.fma(x, a13);
            a23 = v2.fma(x, a23);
            a33 = v3.fma(x, a33);
        }
        int o = b * rows + r;
        out[o] = sum(a00);
        out[o + 1] = sum(a10);
        out[o + 2] = sum(a20);
        out[o + 3] = sum(a30);
        o += rows;
        out[o] = sum(a01);
        out[o + 1] = sum(a11);
        out[o + 2] = sum(a21);
        out[o + 3] = sum(a31);
        o += rows;
        out[o] = sum(a02);
        out[o + 1] = sum(a12);
        out[o + 2] = sum(a22);
        out[o + 3] = sum(a32);
        o += rows;
        out[o] = sum(a03);
        out[o + 1] = sum(a13);
        out[o + 2] = sum(a23);
        out[o + 3] = sum(a33);
    }

    private static void tile4x1(float[] ws, int stride, float[] xs, int b, float[] out, int rows, int r) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int x0 = b * stride;
        int w1 = stride, w2 = 2 * stride, w3 = 3 * stride;
        for (int k = 0; k < stride; k += L) {
            FloatVector x = FloatVector.fromArray(F, xs, x0 + k);
            a0 = FloatVector.fromArray(F, ws, k).fma(x, a0);
            a1 = FloatVector.fromArray(F, ws, w1 + k).fma(x, a1);
            a2 = FloatVector.fromArray(F, ws, w2 + k).fma(x, a2);
            a3 = FloatVector.fromArray(F, ws, w3 + k).fma(x, a3);
        }
        int o = b * rows + r;
        out[o] = sum(a0);
        out[o + 1] = sum(a1);
        out[o + 2] = sum(a2);
        out[o + 3] = sum(a3);
    }

    private static void tile1x4(float[] ws, int wo, int stride, float[] xs, int b, float[] out, int rows, int r) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int x0 = b * stride, x1 = x0 + stride, x2 = x1 + stride, x3 = x2 + stride;
        for (int k = 0; k < stride; k += L) {
            FloatVector v = FloatVector.fromArray(F, ws, wo + k);
            a0 = v.fma(FloatVector.fromArray(F, xs, x0 + k), a0);
            a1 = v.fma(FloatVector.fromArray(F, xs, x1 + k), a1);
            a2 = v.fma(FloatVector.fromArray(F, xs, x2 + k), a2);
            a3 = v.fma(FloatVector.fromArray(F, xs, x3 + k), a3);
        }
        int o = b * rows + r;
        out[o] = sum(a0);
        out[o + rows] = sum(a1);
        out[o + 2 * rows] = sum(a2);
        out[o + 3 * rows] = sum(a3);
    }

    private static void tile1x1(float[] ws, int wo, int stride, float[] xs, int b, float[] out, int rows, int r) {
        FloatVector a = FloatVector.zero(F);
        int x0 = b * stride;
        for (int k = 0; k < stride; k += L) {
            a = FloatVector.fromArray(F, ws, wo + k).fma(FloatVector.fromArray(F, xs, x0 + k), a);
        }
        out[b * rows + r] = sum(a);
    }

    /** Sum of the lanes by a fixed butterfly, the same on every tier of the JVM. */
    static float sum(FloatVector v) {
        if (L >= 16) {
            v = v.add(v.rearrange(SWAP8));
        }
        if (L >= 8) {
            v = v.add(v.rearrange(SWAP4));
        }
        v = v.add(v.rearrange(SWAP2));
        v = v.add(v.rearrange(SWAP1));
        return v.lane(0);
    }

    static int roundUp(int n) {
        return (n + L - 1) / L * L;
    }

    // ---------------------------------------------------------------- decoding

    /** Decodes row {@code r} of {@code w} into {@code dst[off ..]}, zero-filling up to {@code off + padTo}. */
    private static void decodeRow(Matrix w, int r, float[] dst, int off, int padTo) {
        MemorySegment seg = w.data();
        long base = r * w.rowBytes();
        int cols = w.cols();
        switch (w.dtype()) {
            case F32 -> decodeF32(seg, base, dst, off, cols);
            case BF16 -> decodeBf16(seg, base, dst, off, cols);
            case F16 -> decodeF16(seg, base, dst, off, cols);
            case Q8_0 -> decodeQ8(seg, base, dst, off, cols);
            case Q4_0 -> decodeQ4(seg, base, dst, off, cols);
        }
        if (padTo > cols) {
            Arrays.fill(dst, off + cols, off + padTo, 0f);
        }
    }

    private static void decodeF32(MemorySegment seg, long base, float[] dst, int off, int n) {
        int k = 0;
        for (; k + L <= n; k += L) {
            FloatVector.fromMemorySegment(F, seg, base + 4L * k, LE).intoArray(dst, off + k);
        }
        for (; k < n; k++) {
            dst[off + k] = seg.get(Elements.FLOAT_LE, base + 4L * k);
        }
    }

    private static void decodeBf16(MemorySegment seg, long base, float[] dst, int off, int n) {
        int k = 0;
        for (; k + L <= n; k += L) {
            bf16(seg, base + 2L * k).intoArray(dst, off + k);
        }
        for (; k < n; k++) {
            dst[off + k] = Elements.bf16ToFloat(seg.get(Elements.SHORT_LE, base + 2L * k));
        }
    }

    private static void decodeF16(MemorySegment seg, long base, float[] dst, int off, int n) {
        int k = 0;
        for (; k + L <= n; k += L) {
            f16(seg, base + 2L * k).intoArray(dst, off + k);
        }
        for (; k < n; k++) {
            dst[off + k] = Elements.f16ToFloat(seg.get(Elements.SHORT_LE, base + 2L * k));
        }
    }

    private static void decodeQ8(MemorySegment seg, long base, float[] dst, int off, int n) {
        for (int blk = 0; blk < n / 32; blk++) {
            long p = base + 34L * blk;
            float scale = Float.float16ToFloat(seg.get(Elements.SHORT_LE, p));
            for (int h = 0; h < 32; h += L) {
                ((FloatVector) ByteVector.fromMemorySegment(B, seg, p + 2 + h, LE)
                                .convertShape(VectorOperators.B2F, F, 0))
                        .mul(scale)
                        .intoArray(dst, off + 32 * blk + h);
            }
        }
    }

    private static void decodeQ4(MemorySegment seg, long base, float[] dst, int off, int n) {
        if (L != 16) {
            for (int k = 0; k < n; k++) {
                dst[off + k] = Elements.get(seg, base, DType.Q4_0, k);
            }
            return;
        }
        for (int blk = 0; blk < n / 32; blk++) {
            long p = base + 18L * blk;
            float scale = Float.float16ToFloat(seg.get(Elements.SHORT_LE, p));
            ByteVector q = ByteVector.fromMemorySegment(B, seg, p + 2, LE);
            ByteVector lo = q.and((byte) 0x0f).sub((byte) 8);
            ByteVector hi = q.lanewise(VectorOperators.LSHR, 4).sub((byte) 8);
            int d = off + 32 * blk;
            ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 0))
                    .mul(scale)
                    .intoArray(dst, d);
            ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 0))
                    .mul(scale)
                    .intoArray(dst, d + 16);
        }
    }

    /** {@link #L} BF16 values widened to floats (a BF16 is the top half of a float). */
    private static FloatVector bf16(MemorySegment seg, long off) {
        return ((IntVector) ShortVector.fromMemorySegment(S, seg, off, LE).convertShape(VectorOperators.S2I, I, 0))
                .lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }

    /**
     * {@link #L} F16 values widened exactly to floats: the exponent and mantissa bits shifted into float position and
     * scaled by 2^112 rebias normals and subnormals alike; infinities and NaNs get the float's all-ones exponent.
     */
    private static FloatVector f16(MemorySegment seg, long off) {
        IntVector h =
                (IntVector) ShortVector.fromMemorySegment(S, seg, off, LE).convertShape(VectorOperators.S2I, I, 0);
        IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        IntVector mag = h.and(0x7fff);
        IntVector shifted = mag.lanewise(VectorOperators.LSHL, 13);
        FloatVector finite = shifted.reinterpretAsFloats().mul(0x1p112f);
        VectorMask<Integer> special = mag.compare(VectorOperators.GE, 0x7c00);
        IntVector bits = finite.reinterpretAsInts().blend(shifted.or(0x7f800000), special);
        return bits.or(sign).reinterpretAsFloats();
    }

    /** {@link #L} elements of a plain {@code dtype} at {@code off}. */
    private static FloatVector load(MemorySegment seg, long off, DType dtype) {
        return switch (dtype) {
            case F32 -> FloatVector.fromMemorySegment(F, seg, off, LE);
            case BF16 -> bf16(seg, off);
            case F16 -> f16(seg, off);
            default -> throw new IllegalArgumentException("KV storage must be F32, F16 or BF16, not " + dtype);
        };
    }

    @Override
    public void row(Matrix w, int row, float[] out, int outOff) {
        decodeRow(w, row, out, outOff, w.cols());
    }

    // ---------------------------------------------------------------- element-wise ops

    @Override
    public void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector v = FloatVector.fromArray(F, x, xOff + i);
            acc = v.fma(v, acc);
        }
        float ss = sum(acc);
        for (; i < n; i++) {
            ss += x[xOff + i] * x[xOff + i];
        }
        float inv = (float) (1.0 / Math.sqrt(ss / n + eps));
        i = 0;
        for (; i + L <= n; i += L) {
            FloatVector.fromArray(F, x, xOff + i)
                    .mul(inv)
                    .mul(FloatVector.fromArray(F, weight, i))
                    .intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = x[xOff + i] * inv * weight[i];
        }
    }

    @Override
    public void softmax(float[] x, int off, int n) {
        FloatVector vmax = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i + L <= n; i += L) {
            vmax = vmax.max(FloatVector.fromArray(F, x, off + i));
        }
        float max = vmax.reduceLanes(VectorOperators.MAX); // max is exact in any order
        for (; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        // Math.exp, not the vector EXP: the latter's result differs between JIT tiers, which would break replay.
        float total = 0f;
        for (i = 0; i < n; i++) {
            float e = (float) Math.exp(x[off + i] - max);
            x[off + i] = e;
            total += e;
        }
        i = 0;
        for (; i + L <= n; i += L) {
            FloatVector.fromArray(F, x, off + i).div(total).intoArray(x, off + i);
        }
        for (; i < n; i++) {
            x[off + i] /= total;
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
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector.fromArray(F, acc, accOff + i)
                    .add(FloatVector.fromArray(F, x, xOff + i))
                    .intoArray(acc, accOff + i);
        }
        for (; i < n; i++) {
            acc[accOff + i] += x[xOff + i];
        }
    }

    @Override
    public void rope(float[] x, int off, int heads, int headDim, float[] cos, float[] sin, int trigOff) {
        int half = headDim / 2;
        for (int h = 0; h < heads; h++) {
            int base = off + h * headDim;
            int i = 0;
            for (; i + L <= half; i += L) {
                FloatVector a = FloatVector.fromArray(F, x, base + i);
                FloatVector b = FloatVector.fromArray(F, x, base + half + i);
                FloatVector c = FloatVector.fromArray(F, cos, trigOff + i);
                FloatVector s = FloatVector.fromArray(F, sin, trigOff + i);
                a.mul(c).sub(b.mul(s)).intoArray(x, base + i);
                b.mul(c).add(a.mul(s)).intoArray(x, base + half + i);
            }
            for (; i < half; i++) {
                float a = x[base + i];
                float b = x[base + i + half];
                float c = cos[trigOff + i];
                float s = sin[trigOff + i];
                x[base + i] = a * c - b * s;
                x[base + i + half] = b * c + a * s;
            }
        }
    }

    // ---------------------------------------------------------------- KV storage

    @Override
    public float dot(float[] q, int qOff, MemorySegment kv, long byteOff, DType dtype, int n) {
        int width = elementBytes(dtype);
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i + L <= n; i += L) {
            acc = FloatVector.fromArray(F, q, qOff + i).fma(load(kv, byteOff + (long) width * i, dtype), acc);
        }
        float total = sum(acc);
        for (; i < n; i++) {
            total += q[qOff + i] * Elements.get(kv, byteOff, dtype, i);
        }
        return total;
    }

    @Override
    public void axpy(float[] out, int outOff, float a, MemorySegment kv, long byteOff, DType dtype, int n) {
        int width = elementBytes(dtype);
        FloatVector va = FloatVector.broadcast(F, a);
        int i = 0;
        for (; i + L <= n; i += L) {
            load(kv, byteOff + (long) width * i, dtype)
                    .fma(va, FloatVector.fromArray(F, out, outOff + i))
                    .intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] += a * Elements.get(kv, byteOff, dtype, i);
        }
    }

    @Override
    public void store(MemorySegment dst, long byteOff, DType dtype, float[] src, int off, int n) {
        int i = 0;
        switch (dtype) {
            case F32 -> {
                for (; i + L <= n; i += L) {
                    FloatVector.fromArray(F, src, off + i).intoMemorySegment(dst, byteOff + 4L * i, LE);
                }
            }
            case BF16 -> {
                for (; i + L <= n; i += L) {
                    IntVector bits = FloatVector.fromArray(F, src, off + i).reinterpretAsInts();
                    IntVector lsb = bits.lanewise(VectorOperators.LSHR, 16).and(1);
                    IntVector rounded = bits.add(lsb.add(0x7fff)).lanewise(VectorOperators.LSHR, 16);
                    VectorMask<Integer> nan = bits.and(0x7fffffff).compare(VectorOperators.GT, 0x7f800000);
                    IntVector quiet = bits.lanewise(VectorOperators.LSHR, 16).or(0x40);
                    ((ShortVector) rounded.blend(quiet, nan).convertShape(VectorOperators.I2S, S, 0))
                            .intoMemorySegment(dst, byteOff + 2L * i, LE);
                }
            }
            case F16 -> {} // rare and small (one token's K/V): the scalar loop below, with exact rounding
            default -> throw new IllegalArgumentException("KV storage must be F32, F16 or BF16, not " + dtype);
        }
        for (; i < n; i++) {
            Elements.set(dst, byteOff, dtype, i, src[off + i]);
        }
    }

    private static int elementBytes(DType dtype) {
        return switch (dtype) {
            case F32 -> 4;
            case F16, BF16 -> 2;
            default -> throw new IllegalArgumentException("KV storage must be F32, F16 or BF16, not " + dtype);
        };
    }

    // ---------------------------------------------------------------- threads

    @Override
    public void parallelFor(int count, IntConsumer task) {
        if (count <= 0) {
            return;
        }
        if (count == 1 || pool.size() == 1) {
            for (int i = 0; i < count; i++) {
                task.accept(i);
            }
            return;
        }
        if (pool.insideJob()) { // nested call from inside a task: run inline
            for (int i = 0; i < count; i++) {
                task.accept(i);
            }
            return;
        }
        synchronized (this) {
            pfCount = count;
            pfTask = task;
            nextTask.set(0);
            try {
                pool.run(parallelForPart);
            } finally {
                pfTask = null;
            }
        }
    }

    private void parallelForPart(int part) {
        IntConsumer task = pfTask;
        int count = pfCount;
        for (int i = nextTask.getAndIncrement(); i < count; i = nextTask.getAndIncrement()) {
            task.accept(i);
        }
    }
}
