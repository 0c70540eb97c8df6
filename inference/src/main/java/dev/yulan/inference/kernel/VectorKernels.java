package dev.yulan.inference.kernel;

import dev.yulan.inference.tensor.DType;
import dev.yulan.inference.tensor.Elements;
import dev.yulan.inference.tensor.Matrix;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
 * <p>Matmul is weight-stationary: each worker owns a contiguous range of rows; per group of {@value #ROWS} rows it
 * decodes the rows once into a float scratch (BF16/F16 widened, Q8_0/Q4_0 scaled) and applies them to up to
 * {@value #BATCH_CHUNK} sequences with register tiles of {@value #ROWS} rows x {@value #TILE} sequences. BF16 rows, and
 * Q8_0 rows for up to {@value #FUSED_BATCH} sequences, skip the scratch: they are decoded in registers straight into
 * the FMAs of the same tiles.
 *
 * <p>Batch invariance: every (sequence, row) output is one vector accumulator fed the same decoded weights by the same
 * FMAs in the same order (one per vector of columns, rows zero-padded to whole vectors) and summed by the same fixed
 * pairwise lane tree, whatever the tile, the path, the batch size, the sequence's position or the thread split; so the
 * result is bit for bit the same. Lane sums never use {@code reduceLanes(ADD)}, whose order differs between the JIT and
 * the interpreter; the exponentials of softmax and SwiGLU use {@link Math#exp} for the same reason.
 *
 * <p>Calls are serialized on the instance (one job on the pool at a time). {@link #parallelFor} tasks may call any
 * kernel, which then runs on the calling thread alone.
 */
public final class VectorKernels implements Kernels {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16));
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final VectorSpecies<Float> F4 = FloatVector.SPECIES_128;
    private static final VectorShuffle<Float> SWAP1 = VectorShuffle.fromOp(F, i -> i ^ 1);
    private static final VectorShuffle<Float> SWAP2 = VectorShuffle.fromOp(F, i -> i ^ 2);
    private static final VectorShuffle<Float> SWAP4 = L >= 8 ? VectorShuffle.fromOp(F, i -> i ^ 4) : null;
    private static final VectorShuffle<Float> SWAP8 = L >= 16 ? VectorShuffle.fromOp(F, i -> i ^ 8) : null;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** Rows decoded and applied together. */
    static final int ROWS = 4;
    /** Sequences per register tile. */
    static final int TILE = 4;
    /** Sequences per wide register tile of the scratch path. */
    static final int WIDE_TILE = 6;
    /** Sequences per pass over the weights of a worker: their activations stay in L2 while the rows stream by. */
    static final int BATCH_CHUNK = 64;
    /** Up to this many sequences, Q8_0 rows are decoded in registers rather than through the scratch. */
    static final int FUSED_BATCH = 8;

    private final WorkerPool pool;
    private final Workspace[] workspaces; // one per worker
    private final ThreadLocal<Workspace> rowWorkspace = ThreadLocal.withInitial(Workspace::new);
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
        this.workspaces = new Workspace[threads];
        Arrays.setAll(workspaces, i -> new Workspace());
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
            matmulRows(w, xs, out, batch, stride, 0, rows, new Workspace());
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
        matmulRows(w, mX, mOut, mBatch, mStride, r0, r1, workspaces[part]);
    }

    /** Rows {@code [r0, r1)} of the matmul for the whole batch; {@code xs} has sequences {@code stride} apart. */
    private static void matmulRows(
            Matrix w, float[] xs, float[] out, int batch, int stride, int r0, int r1, Workspace space) {
        int rows = w.rows();
        float[] ws = space.rows(ROWS * stride);
        float[] red = space.lanes;
        for (int c0 = 0; c0 < batch; c0 += BATCH_CHUNK) {
            int c1 = Math.min(batch, c0 + BATCH_CHUNK);
            for (int g = r0; g < r1; g += ROWS) {
                int n = Math.min(ROWS, r1 - g);
                if (n == ROWS && L == 16 && stride == w.cols()) {
                    // Decode in registers straight into the FMAs (same values, same order as through the scratch):
                    // always for BF16, whose widening is as cheap as a load; for Q8_0 up to FUSED_BATCH sequences.
                    if (w.dtype() == DType.BF16) {
                        long p0 = g * w.rowBytes();
                        int b = c0;
                        for (; b + WIDE_TILE <= c1; b += WIDE_TILE) {
                            fusedBf16x6(w.data(), p0, w.rowBytes(), stride, xs, b * stride, red);
                            store24(red, out, rows, b * rows + g);
                        }
                        for (; b + TILE <= c1; b += TILE) {
                            fusedBf16x4(w.data(), p0, w.rowBytes(), stride, xs, b * stride, red);
                            store16(red, out, rows, b * rows + g);
                        }
                        for (; b < c1; b++) {
                            fusedBf16(w.data(), p0, w.rowBytes(), stride, xs, b * stride, red);
                            store4(red, out, b * rows + g);
                        }
                        continue;
                    }
                    if (w.dtype() == DType.Q8_0 && c1 - c0 <= FUSED_BATCH) {
                        int rb = (int) w.rowBytes();
                        byte[] raw = space.bytes(4L * rb);
                        MemorySegment.copy(w.data(), ValueLayout.JAVA_BYTE, g * w.rowBytes(), raw, 0, 4 * rb);
                        int b = c0;
                        for (; b + TILE <= c1; b += TILE) {
                            fusedQ8x4(raw, rb, stride, xs, b * stride, red);
                            store16(red, out, rows, b * rows + g);
                        }
                        for (; b < c1; b++) {
                            fusedQ8(raw, rb, stride, xs, b * stride, red);
                            store4(red, out, b * rows + g);
                        }
                        continue;
                    }
                }
                for (int i = 0; i < n; i++) {
                    decodeRow(w, g + i, ws, i * stride, stride, space);
                }
                if (n == ROWS) {
                    int b = c0;
                    for (; b + WIDE_TILE <= c1; b += WIDE_TILE) {
                        tile4x6(ws, stride, xs, b, out, rows, g, red);
                    }
                    for (; b + TILE <= c1; b += TILE) {
                        tile4x4(ws, stride, xs, b, out, rows, g, red);
                    }
                    for (; b < c1; b++) {
                        tile4x1(ws, stride, xs, b, out, rows, g, red);
                    }
                } else {
                    for (int i = 0; i < n; i++) {
                        int b = c0;
                        for (; b + TILE <= c1; b += TILE) {
                            tile1x4(ws, i * stride, stride, xs, b, out, rows, g + i, red);
                        }
                        for (; b < c1; b++) {
                            tile1x1(ws, i * stride, stride, xs, b, out, rows, g + i, red);
                        }
                    }
                }
            }
        }
    }

    /** Four BF16 rows from {@code p0}, {@code rb} bytes apart, times one sequence; accumulator lanes into red. */
    private static void fusedBf16(MemorySegment seg, long p0, long rb, int cols, float[] x, int xo, float[] red) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        long p1 = p0 + rb, p2 = p1 + rb, p3 = p2 + rb;
        for (int k = 0; k < cols; k += L) {
            FloatVector xv = FloatVector.fromArray(F, x, xo + k);
            long d = 2L * k;
            a0 = bf16(seg, p0 + d).fma(xv, a0);
            a1 = bf16(seg, p1 + d).fma(xv, a1);
            a2 = bf16(seg, p2 + d).fma(xv, a2);
            a3 = bf16(seg, p3 + d).fma(xv, a3);
        }
        a0.intoArray(red, 0);
        a1.intoArray(red, L);
        a2.intoArray(red, 2 * L);
        a3.intoArray(red, 3 * L);
    }

    /** Four Q8_0 rows copied to {@code raw}, {@code rb} bytes apart, times one sequence; accumulator lanes into red. */
    private static void fusedQ8(byte[] raw, int rb, int cols, float[] x, int xo, float[] red) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int p1 = rb, p2 = 2 * rb, p3 = 3 * rb;
        for (int k = 0, d = 0; k < cols; k += 32, d += 34) {
            FloatVector xlo = FloatVector.fromArray(F, x, xo + k);
            FloatVector xhi = FloatVector.fromArray(F, x, xo + k + 16);
            a0 = q8Block(raw, d, xlo, xhi, a0);
            a1 = q8Block(raw, p1 + d, xlo, xhi, a1);
            a2 = q8Block(raw, p2 + d, xlo, xhi, a2);
            a3 = q8Block(raw, p3 + d, xlo, xhi, a3);
        }
        a0.intoArray(red, 0);
        a1.intoArray(red, L);
        a2.intoArray(red, 2 * L);
        a3.intoArray(red, 3 * L);
    }

    /** The Q8_0 block at {@code raw[p]} applied to {@code acc}: elements 0..15, then 16..31. */
    private static FloatVector q8Block(byte[] raw, int p, FloatVector xlo, FloatVector xhi, FloatVector acc) {
        float scale = Float.float16ToFloat((short) ((raw[p] & 0xff) | (raw[p + 1] << 8)));
        FloatVector lo = ((FloatVector) ByteVector.fromArray(B, raw, p + 2).convertShape(VectorOperators.B2F, F, 0));
        FloatVector hi = ((FloatVector) ByteVector.fromArray(B, raw, p + 18).convertShape(VectorOperators.B2F, F, 0));
        return hi.mul(scale).fma(xhi, lo.mul(scale).fma(xlo, acc));
    }

    /** Four BF16 rows from {@code p0} times four sequences {@code cols} apart; lanes of (seq j, row i) at 4j + i. */
    private static void fusedBf16x4(MemorySegment seg, long p0, long rb, int cols, float[] x, int xo, float[] red) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        long p1 = p0 + rb, p2 = p1 + rb, p3 = p2 + rb;
        int x1 = xo + cols, x2 = x1 + cols, x3 = x2 + cols;
        for (int k = 0; k < cols; k += L) {
            long d = 2L * k;
            FloatVector v0 = bf16(seg, p0 + d);
            FloatVector v1 = bf16(seg, p1 + d);
            FloatVector v2 = bf16(seg, p2 + d);
            FloatVector v3 = bf16(seg, p3 + d);
            FloatVector xv = FloatVector.fromArray(F, x, xo + k);
            a00 = v0.fma(xv, a00);
            a10 = v1.fma(xv, a10);
            a20 = v2.fma(xv, a20);
            a30 = v3.fma(xv, a30);
            xv = FloatVector.fromArray(F, x, x1 + k);
            a01 = v0.fma(xv, a01);
            a11 = v1.fma(xv, a11);
            a21 = v2.fma(xv, a21);
            a31 = v3.fma(xv, a31);
            xv = FloatVector.fromArray(F, x, x2 + k);
            a02 = v0.fma(xv, a02);
            a12 = v1.fma(xv, a12);
            a22 = v2.fma(xv, a22);
            a32 = v3.fma(xv, a32);
            xv = FloatVector.fromArray(F, x, x3 + k);
            a03 = v0.fma(xv, a03);
            a13 = v1.fma(xv, a13);
            a23 = v2.fma(xv, a23);
            a33 = v3.fma(xv, a33);
        }
        a00.intoArray(red, 0);
        a10.intoArray(red, L);
        a20.intoArray(red, 2 * L);
        a30.intoArray(red, 3 * L);
        a01.intoArray(red, 4 * L);
        a11.intoArray(red, 5 * L);
        a21.intoArray(red, 6 * L);
        a31.intoArray(red, 7 * L);
        a02.intoArray(red, 8 * L);
        a12.intoArray(red, 9 * L);
        a22.intoArray(red, 10 * L);
        a32.intoArray(red, 11 * L);
        a03.intoArray(red, 12 * L);
        a13.intoArray(red, 13 * L);
        a23.intoArray(red, 14 * L);
        a33.intoArray(red, 15 * L);
    }

    /** Four BF16 rows from {@code p0} times six sequences {@code cols} apart; lanes of (seq j, row i) at 4j + i. */
    private static void fusedBf16x6(MemorySegment seg, long p0, long rb, int cols, float[] x, int xo, float[] red) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00, a04 = a00, a05 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00, a14 = a00, a15 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00, a24 = a00, a25 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00, a34 = a00, a35 = a00;
        long p1 = p0 + rb, p2 = p1 + rb, p3 = p2 + rb;
        int x1 = xo + cols, x2 = x1 + cols, x3 = x2 + cols, x4 = x3 + cols, x5 = x4 + cols;
        for (int k = 0; k < cols; k += L) {
            long d = 2L * k;
            FloatVector v0 = bf16(seg, p0 + d);
            FloatVector v1 = bf16(seg, p1 + d);
            FloatVector v2 = bf16(seg, p2 + d);
            FloatVector v3 = bf16(seg, p3 + d);
            FloatVector xv = FloatVector.fromArray(F, x, xo + k);
            a00 = v0.fma(xv, a00);
            a10 = v1.fma(xv, a10);
            a20 = v2.fma(xv, a20);
            a30 = v3.fma(xv, a30);
            xv = FloatVector.fromArray(F, x, x1 + k);
            a01 = v0.fma(xv, a01);
            a11 = v1.fma(xv, a11);
            a21 = v2.fma(xv, a21);
            a31 = v3.fma(xv, a31);
            xv = FloatVector.fromArray(F, x, x2 + k);
            a02 = v0.fma(xv, a02);
            a12 = v1.fma(xv, a12);
            a22 = v2.fma(xv, a22);
            a32 = v3.fma(xv, a32);
            xv = FloatVector.fromArray(F, x, x3 + k);
            a03 = v0.fma(xv, a03);
            a13 = v1.fma(xv, a13);
            a23 = v2.fma(xv, a23);
            a33 = v3.fma(xv, a33);
            xv = FloatVector.fromArray(F, x, x4 + k);
            a04 = v0.fma(xv, a04);
            a14 = v1.fma(xv, a14);
            a24 = v2.fma(xv, a24);
            a34 = v3.fma(xv, a34);
            xv = FloatVector.fromArray(F, x, x5 + k);
            a05 = v0.fma(xv, a05);
            a15 = v1.fma(xv, a15);
            a25 = v2.fma(xv, a25);
            a35 = v3.fma(xv, a35);
        }
        a00.intoArray(red, 0);
        a10.intoArray(red, L);
        a20.intoArray(red, 2 * L);
        a30.intoArray(red, 3 * L);
        a01.intoArray(red, 4 * L);
        a11.intoArray(red, 5 * L);
        a21.intoArray(red, 6 * L);
        a31.intoArray(red, 7 * L);
        a02.intoArray(red, 8 * L);
        a12.intoArray(red, 9 * L);
        a22.intoArray(red, 10 * L);
        a32.intoArray(red, 11 * L);
        a03.intoArray(red, 12 * L);
        a13.intoArray(red, 13 * L);
        a23.intoArray(red, 14 * L);
        a33.intoArray(red, 15 * L);
        a04.intoArray(red, 16 * L);
        a14.intoArray(red, 17 * L);
        a24.intoArray(red, 18 * L);
        a34.intoArray(red, 19 * L);
        a05.intoArray(red, 20 * L);
        a15.intoArray(red, 21 * L);
        a25.intoArray(red, 22 * L);
        a35.intoArray(red, 23 * L);
    }

    /** Four Q8_0 rows copied to {@code raw} times four sequences {@code cols} apart, half a block at a time. */
    private static void fusedQ8x4(byte[] raw, int rb, int cols, float[] x, int xo, float[] red) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int x1 = xo + cols, x2 = x1 + cols, x3 = x2 + cols;
        for (int k = 0; k < cols; k += 16) {
            int block = 34 * (k >> 5);
            int q = block + 2 + (k & 16);
            FloatVector v0 = q8Half(raw, block, q);
            FloatVector v1 = q8Half(raw, rb + block, rb + q);
            FloatVector v2 = q8Half(raw, 2 * rb + block, 2 * rb + q);
            FloatVector v3 = q8Half(raw, 3 * rb + block, 3 * rb + q);
            FloatVector xv = FloatVector.fromArray(F, x, xo + k);
            a00 = v0.fma(xv, a00);
            a10 = v1.fma(xv, a10);
            a20 = v2.fma(xv, a20);
            a30 = v3.fma(xv, a30);
            xv = FloatVector.fromArray(F, x, x1 + k);
            a01 = v0.fma(xv, a01);
            a11 = v1.fma(xv, a11);
            a21 = v2.fma(xv, a21);
            a31 = v3.fma(xv, a31);
            xv = FloatVector.fromArray(F, x, x2 + k);
            a02 = v0.fma(xv, a02);
            a12 = v1.fma(xv, a12);
            a22 = v2.fma(xv, a22);
            a32 = v3.fma(xv, a32);
            xv = FloatVector.fromArray(F, x, x3 + k);
            a03 = v0.fma(xv, a03);
            a13 = v1.fma(xv, a13);
            a23 = v2.fma(xv, a23);
            a33 = v3.fma(xv, a33);
        }
        a00.intoArray(red, 0);
        a10.intoArray(red, L);
        a20.intoArray(red, 2 * L);
        a30.intoArray(red, 3 * L);
        a01.intoArray(red, 4 * L);
        a11.intoArray(red, 5 * L);
        a21.intoArray(red, 6 * L);
        a31.intoArray(red, 7 * L);
        a02.intoArray(red, 8 * L);
        a12.intoArray(red, 9 * L);
        a22.intoArray(red, 10 * L);
        a32.intoArray(red, 11 * L);
        a03.intoArray(red, 12 * L);
        a13.intoArray(red, 13 * L);
        a23.intoArray(red, 14 * L);
        a33.intoArray(red, 15 * L);
    }

    /** 16 Q8_0 quants at {@code raw[q]} times the scale of their block at {@code raw[block]}. */
    private static FloatVector q8Half(byte[] raw, int block, int q) {
        float scale = Float.float16ToFloat((short) ((raw[block] & 0xff) | (raw[block + 1] << 8)));
        return ((FloatVector) ByteVector.fromArray(B, raw, q).convertShape(VectorOperators.B2F, F, 0)).mul(scale);
    }

    /** Sums of accumulator {@code 4j + i} (sequence j < 6, row i) from {@code red} into {@code out[o + j * rows + i]}. */
    private static void store24(float[] red, float[] out, int rows, int o) {
        for (int j = 0; j < WIDE_TILE; j++) {
            for (int i = 0; i < 4; i++) {
                out[o + j * rows + i] = reduce(red, (4 * j + i) * L);
            }
        }
    }

    /** Sums of accumulator {@code 4j + i} (sequence j, row i) from {@code red} into {@code out[o + j * rows + i]}. */
    private static void store16(float[] red, float[] out, int rows, int o) {
        for (int j = 0; j < 4; j++) {
            for (int i = 0; i < 4; i++) {
                out[o + j * rows + i] = reduce(red, (4 * j + i) * L);
            }
        }
    }

    private static void store4(float[] red, float[] out, int o) {
        for (int i = 0; i < 4; i++) {
            out[o + i] = reduce(red, i * L);
        }
    }

    /** Four decoded rows times six sequences: 24 accumulators, the widest tile that stays in registers. */
    private static void tile4x6(float[] ws, int stride, float[] xs, int b, float[] out, int rows, int r, float[] red) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00, a04 = a00, a05 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00, a14 = a00, a15 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00, a24 = a00, a25 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00, a34 = a00, a35 = a00;
        int x0 = b * stride, x1 = x0 + stride, x2 = x1 + stride, x3 = x2 + stride, x4 = x3 + stride, x5 = x4 + stride;
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
            x = FloatVector.fromArray(F, xs, x4 + k);
            a04 = v0.fma(x, a04);
            a14 = v1.fma(x, a14);
            a24 = v2.fma(x, a24);
            a34 = v3.fma(x, a34);
            x = FloatVector.fromArray(F, xs, x5 + k);
            a05 = v0.fma(x, a05);
            a15 = v1.fma(x, a15);
            a25 = v2.fma(x, a25);
            a35 = v3.fma(x, a35);
        }
        a00.intoArray(red, 0);
        a10.intoArray(red, L);
        a20.intoArray(red, 2 * L);
        a30.intoArray(red, 3 * L);
        a01.intoArray(red, 4 * L);
        a11.intoArray(red, 5 * L);
        a21.intoArray(red, 6 * L);
        a31.intoArray(red, 7 * L);
        a02.intoArray(red, 8 * L);
        a12.intoArray(red, 9 * L);
        a22.intoArray(red, 10 * L);
        a32.intoArray(red, 11 * L);
        a03.intoArray(red, 12 * L);
        a13.intoArray(red, 13 * L);
        a23.intoArray(red, 14 * L);
        a33.intoArray(red, 15 * L);
        a04.intoArray(red, 16 * L);
        a14.intoArray(red, 17 * L);
        a24.intoArray(red, 18 * L);
        a34.intoArray(red, 19 * L);
        a05.intoArray(red, 20 * L);
        a15.intoArray(red, 21 * L);
        a25.intoArray(red, 22 * L);
        a35.intoArray(red, 23 * L);
        for (int j = 0; j < WIDE_TILE; j++) {
            int o = (b + j) * rows + r;
            for (int i = 0; i < 4; i++) {
                out[o + i] = reduce(red, (4 * j + i) * L);
            }
        }
    }

    static void tile4x4(float[] ws, int stride, float[] xs, int b, float[] out, int rows, int r, float[] red) {
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
        // Lanes of sequence j, row i at red[(4j + i) * L].
        a00.intoArray(red, 0);
        a10.intoArray(red, L);
        a20.intoArray(red, 2 * L);
        a30.intoArray(red, 3 * L);
        a01.intoArray(red, 4 * L);
        a11.intoArray(red, 5 * L);
        a21.intoArray(red, 6 * L);
        a31.intoArray(red, 7 * L);
        a02.intoArray(red, 8 * L);
        a12.intoArray(red, 9 * L);
        a22.intoArray(red, 10 * L);
        a32.intoArray(red, 11 * L);
        a03.intoArray(red, 12 * L);
        a13.intoArray(red, 13 * L);
        a23.intoArray(red, 14 * L);
        a33.intoArray(red, 15 * L);
        for (int j = 0; j < 4; j++) {
            int o = (b + j) * rows + r;
            for (int i = 0; i < 4; i++) {
                out[o + i] = reduce(red, (4 * j + i) * L);
            }
        }
    }

    private static void tile4x1(float[] ws, int stride, float[] xs, int b, float[] out, int rows, int r, float[] red) {
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
        a0.intoArray(red, 0);
        a1.intoArray(red, L);
        a2.intoArray(red, 2 * L);
        a3.intoArray(red, 3 * L);
        int o = b * rows + r;
        for (int i = 0; i < 4; i++) {
            out[o + i] = reduce(red, i * L);
        }
    }

    private static void tile1x4(
            float[] ws, int wo, int stride, float[] xs, int b, float[] out, int rows, int r, float[] red) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int x0 = b * stride, x1 = x0 + stride, x2 = x1 + stride, x3 = x2 + stride;
        for (int k = 0; k < stride; k += L) {
            FloatVector v = FloatVector.fromArray(F, ws, wo + k);
            a0 = v.fma(FloatVector.fromArray(F, xs, x0 + k), a0);
            a1 = v.fma(FloatVector.fromArray(F, xs, x1 + k), a1);
            a2 = v.fma(FloatVector.fromArray(F, xs, x2 + k), a2);
            a3 = v.fma(FloatVector.fromArray(F, xs, x3 + k), a3);
        }
        a0.intoArray(red, 0);
        a1.intoArray(red, L);
        a2.intoArray(red, 2 * L);
        a3.intoArray(red, 3 * L);
        for (int j = 0; j < 4; j++) {
            out[(b + j) * rows + r] = reduce(red, j * L);
        }
    }

    private static void tile1x1(
            float[] ws, int wo, int stride, float[] xs, int b, float[] out, int rows, int r, float[] red) {
        FloatVector a = FloatVector.zero(F);
        int x0 = b * stride;
        for (int k = 0; k < stride; k += L) {
            a = FloatVector.fromArray(F, ws, wo + k).fma(FloatVector.fromArray(F, xs, x0 + k), a);
        }
        a.intoArray(red, 0);
        out[b * rows + r] = reduce(red, 0);
    }

    /**
     * Sum of the {@link #L} lanes at {@code lanes[off ..]} by a fixed pairwise tree (overwriting them): lane-wise float
     * adds in a fixed order, so the same on every tier of the JVM, and the same tree as {@link #sum}.
     */
    static float reduce(float[] lanes, int off) {
        if (L == 16) {
            // The same tree with the two widest levels as 256- and 128-bit adds: 2.5x faster than the scalar loop,
            // which cost the 4x6 tile a quarter of its time.
            FloatVector.fromArray(F8, lanes, off)
                    .add(FloatVector.fromArray(F8, lanes, off + 8))
                    .intoArray(lanes, off);
            FloatVector.fromArray(F4, lanes, off)
                    .add(FloatVector.fromArray(F4, lanes, off + 4))
                    .intoArray(lanes, off);
            return (lanes[off] + lanes[off + 2]) + (lanes[off + 1] + lanes[off + 3]);
        }
        for (int width = L / 2; width >= 1; width /= 2) {
            for (int i = 0; i < width; i++) {
                lanes[off + i] += lanes[off + i + width];
            }
        }
        return lanes[off];
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

    /**
     * Decodes row {@code r} of {@code w} into {@code dst[off ..]}, zero-filling up to {@code off + padTo}. The row is
     * first copied to a heap array in one bulk copy, so that the vector loops index arrays (whose bounds checks the JIT
     * hoists) rather than the segment.
     */
    private static void decodeRow(Matrix w, int r, float[] dst, int off, int padTo, Workspace space) {
        MemorySegment seg = w.data();
        long base = r * w.rowBytes();
        int cols = w.cols();
        switch (w.dtype()) {
            case F32 -> MemorySegment.copy(seg, Elements.FLOAT_LE, base, dst, off, cols);
            case BF16 -> {
                short[] raw = space.shorts(cols);
                MemorySegment.copy(seg, Elements.SHORT_LE, base, raw, 0, cols);
                decodeBf16(raw, dst, off, cols);
            }
            case F16 -> {
                short[] raw = space.shorts(cols);
                MemorySegment.copy(seg, Elements.SHORT_LE, base, raw, 0, cols);
                decodeF16(raw, dst, off, cols);
            }
            case Q8_0 -> {
                byte[] raw = space.bytes(w.rowBytes());
                MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, base, raw, 0, (int) w.rowBytes());
                decodeQ8(raw, dst, off, cols);
            }
            case Q4_0 -> {
                byte[] raw = space.bytes(w.rowBytes());
                MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, base, raw, 0, (int) w.rowBytes());
                decodeQ4(raw, dst, off, cols);
            }
        }
        if (padTo > cols) {
            Arrays.fill(dst, off + cols, off + padTo, 0f);
        }
    }

    private static void decodeBf16(short[] raw, float[] dst, int off, int n) {
        int k = 0;
        for (; k + 2 * L <= n; k += 2 * L) {
            ((IntVector) ShortVector.fromArray(S, raw, k).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats()
                    .intoArray(dst, off + k);
            ((IntVector) ShortVector.fromArray(S, raw, k + L).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats()
                    .intoArray(dst, off + k + L);
        }
        for (; k + L <= n; k += L) {
            ((IntVector) ShortVector.fromArray(S, raw, k).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats()
                    .intoArray(dst, off + k);
        }
        for (; k < n; k++) {
            dst[off + k] = Elements.bf16ToFloat(raw[k]);
        }
    }

    private static void decodeF16(short[] raw, float[] dst, int off, int n) {
        int k = 0;
        for (; k + L <= n; k += L) {
            f16((IntVector) ShortVector.fromArray(S, raw, k).convertShape(VectorOperators.S2I, I, 0))
                    .intoArray(dst, off + k);
        }
        for (; k < n; k++) {
            dst[off + k] = Elements.f16ToFloat(raw[k]);
        }
    }

    private static void decodeQ8(byte[] raw, float[] dst, int off, int n) {
        if (L != 16) {
            for (int blk = 0, p = 0; blk < n / 32; blk++, p += 34) {
                float scale = Float.float16ToFloat((short) ((raw[p] & 0xff) | (raw[p + 1] << 8)));
                for (int h = 0; h < 32; h += L) {
                    ((FloatVector) ByteVector.fromArray(B, raw, p + 2 + h).convertShape(VectorOperators.B2F, F, 0))
                            .mul(scale)
                            .intoArray(dst, off + 32 * blk + h);
                }
            }
            return;
        }
        // Both halves of a block written out: the JIT does not unroll the inner loop, which costs 1.7x.
        for (int blk = 0, p = 0; blk < n / 32; blk++, p += 34) {
            float scale = Float.float16ToFloat((short) ((raw[p] & 0xff) | (raw[p + 1] << 8)));
            ((FloatVector) ByteVector.fromArray(B, raw, p + 2).convertShape(VectorOperators.B2F, F, 0))
                    .mul(scale)
                    .intoArray(dst, off + 32 * blk);
            ((FloatVector) ByteVector.fromArray(B, raw, p + 18).convertShape(VectorOperators.B2F, F, 0))
                    .mul(scale)
                    .intoArray(dst, off + 32 * blk + 16);
        }
    }

    private static void decodeQ4(byte[] raw, float[] dst, int off, int n) {
        if (L != 16) {
            for (int k = 0; k < n; k++) {
                int p = 18 * (k / 32);
                float scale = Float.float16ToFloat((short) ((raw[p] & 0xff) | (raw[p + 1] << 8)));
                int packed = raw[p + 2 + k % 16] & 0xff;
                dst[off + k] = scale * ((k % 32 < 16 ? packed & 0x0f : packed >>> 4) - 8);
            }
            return;
        }
        for (int blk = 0, p = 0; blk < n / 32; blk++, p += 18) {
            float scale = Float.float16ToFloat((short) ((raw[p] & 0xff) | (raw[p + 1] << 8)));
            ByteVector q = ByteVector.fromArray(B, raw, p + 2);
            // The high nibbles are shifted as ints (x86 has no byte shift); bits from the next byte are masked off.
            ByteVector hi =
                    q.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes();
            ((FloatVector) q.and((byte) 0x0f).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0))
                    .mul(scale)
                    .intoArray(dst, off + 32 * blk);
            ((FloatVector) hi.and((byte) 0x0f).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0))
                    .mul(scale)
                    .intoArray(dst, off + 32 * blk + 16);
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
        return f16((IntVector) ShortVector.fromMemorySegment(S, seg, off, LE).convertShape(VectorOperators.S2I, I, 0));
    }

    private static FloatVector f16(IntVector h) {
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
        decodeRow(w, row, out, outOff, w.cols(), rowWorkspace.get());
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

    /** Per-thread buffers of the matmul: decoded rows, one raw row, and accumulator lanes to reduce. */
    static final class Workspace {
        final float[] lanes = new float[ROWS * WIDE_TILE * L];
        private float[] rows = new float[0];
        private byte[] bytes = new byte[0];
        private short[] shorts = new short[0];

        float[] rows(int n) {
            if (rows.length < n) {
                rows = new float[n];
            }
            return rows;
        }

        byte[] bytes(long n) {
            if (bytes.length < n) {
                bytes = new byte[Math.toIntExact(n)];
            }
            return bytes;
        }

        short[] shorts(int n) {
            if (shorts.length < n) {
                shorts = new short[n];
            }
            return shorts;
        }
    }
}
