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
 * <p>Matmul runs over weights packed into panels ({@link PanelMatmul}): each worker owns a contiguous range of
 * 64-row groups and applies them to the whole batch. Every (sequence, row) output is one chain of fused multiply-adds
 * in column order, exactly the scalar reference's, whatever the tile, the batch size or the thread split.
 *
 * <p>Attention works a KV block at a time: keys are stored transposed, so a block's scores for a whole query-head group
 * are FMA chains over the dimensions with no lane sums, exactly the scalar reference's. The one lane sum left (RMSNorm's
 * sum of squares) follows a fixed pairwise tree, never {@code reduceLanes(ADD)}, whose order differs between the JIT
 * and the interpreter; the exponentials of softmax and SwiGLU use {@link Math#exp} for the same reason.
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

    private final WorkerPool pool;
    private final ScalarKernels reference = new ScalarKernels(); // shapes the vector code does not cover
    private final PanelMatmul.Scratch[] scratches; // one per worker
    private final ThreadLocal<Workspace> rowWorkspace = ThreadLocal.withInitial(Workspace::new);
    private final ThreadLocal<PanelMatmul.Scratch> callerScratch = ThreadLocal.withInitial(PanelMatmul.Scratch::new);
    private final IntConsumer matmulPart = this::matmulPart;
    private final IntConsumer parallelForPart = this::parallelForPart;
    private final AtomicInteger nextTask = new AtomicInteger();

    // Arguments of the job in flight; written by the caller before dispatch (the pool publishes them).
    private Matrix mW;
    private float[] mX;
    private float[] mOut;
    private int mBatch;
    private int pfCount;
    private IntConsumer pfTask;

    /** Kernels computing on {@code threads} threads (the caller plus {@code threads - 1} daemon workers). */
    public VectorKernels(int threads) {
        if (PanelMatmul.F.length() > F.length()) {
            throw new UnsupportedOperationException(
                    "the vector kernels need 512-bit vectors (AVX-512); this CPU offers " + F.vectorBitSize()
                            + "-bit ones, where the JDK would emulate them far slower than plain loops");
        }
        this.pool = new WorkerPool(threads);
        this.scratches = new PanelMatmul.Scratch[threads];
        Arrays.setAll(scratches, i -> new PanelMatmul.Scratch());
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
        if (w.layout() != Matrix.Layout.PANELS) {
            throw new IllegalArgumentException("the vector matmul needs weights packed into panels (Panels.pack), got "
                    + w.layout() + " " + rows + "x" + cols);
        }
        if (x.length < (long) batch * cols || out.length < (long) batch * rows) {
            throw new IllegalArgumentException("matmul of " + rows + "x" + cols + " at batch " + batch + " needs x of "
                    + (long) batch * cols + " and out of " + (long) batch * rows + ", got " + x.length + " and "
                    + out.length);
        }
        int groups = PanelMatmul.groups(rows);
        if (pool.insideJob() || !pool.canRead(w.data())) {
            // Called from inside a parallelFor task, or weights confined to this thread: compute here alone.
            PanelMatmul.apply(w, x, out, batch, 0, groups, callerScratch.get());
            return;
        }
        synchronized (this) {
            mW = w;
            mX = x;
            mOut = out;
            mBatch = batch;
            try {
                pool.run(matmulPart);
            } finally {
                mW = null;
                mX = null;
                mOut = null;
            }
        }
    }

    private void matmulPart(int part) {
        int groups = PanelMatmul.groups(mW.rows());
        int parts = pool.size();
        int g0 = (int) ((long) groups * part / parts);
        int g1 = (int) ((long) groups * (part + 1) / parts);
        if (g0 < g1) {
            PanelMatmul.apply(mW, mX, mOut, mBatch, g0, g1, scratches[part]);
        }
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
        if (w.layout()
                == Matrix.Layout.PANELS) { // not on the forward path (the embedding is never packed): plain reads
            for (int k = 0; k < w.cols(); k++) {
                out[outOff + k] = w.get(row, k);
            }
            return;
        }
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
        if (blockTokens != L) {
            reference.keyScores(q, qOff, heads, headDim, kv, keyAt, dtype, slots, blockTokens, out, outOff, outStride);
            return;
        }
        // One vector per dimension holds that element of all 16 keys of the block: 16 scores per FMA, no lane sums.
        long stride = (long) blockTokens * Elements.bytes(dtype);
        VectorMask<Float> valid = F.indexInRange(0, slots);
        for (int g = 0; g < heads; g++) {
            int qg = qOff + g * headDim;
            FloatVector acc = FloatVector.zero(F);
            for (int d = 0; d < headDim; d++) {
                acc = FloatVector.broadcast(F, q[qg + d]).fma(load(kv, keyAt + d * stride, dtype), acc);
            }
            acc.intoArray(out, outOff + g * outStride, valid);
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
        if (headDim % L != 0) {
            reference.valueSum(out, outOff, heads, headDim, p, pOff, pStride, kv, valueAt, dtype, slots);
            return;
        }
        long vectorBytes = (long) headDim * Elements.bytes(dtype);
        for (int g = 0; g < heads; g++) {
            for (int j = 0; j < headDim; j += L) {
                int o = outOff + g * headDim + j;
                FloatVector acc = FloatVector.fromArray(F, out, o);
                for (int s = 0; s < slots; s++) {
                    acc = FloatVector.broadcast(F, p[pOff + g * pStride + s])
                            .fma(load(kv, valueAt + s * vectorBytes + (long) j * Elements.bytes(dtype), dtype), acc);
                }
                acc.intoArray(out, o);
            }
        }
    }

    @Override
    public void store(MemorySegment dst, long byteOff, long strideBytes, DType dtype, float[] src, int off, int n) {
        reference.store(dst, byteOff, strideBytes, dtype, src, off, n);
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

    /** Buffers of {@link #row}: the raw row copied from its segment. */
    static final class Workspace {
        private byte[] bytes = new byte[0];
        private short[] shorts = new short[0];

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
