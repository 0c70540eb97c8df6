package dev.yulan.inference.kernel;

import dev.yulan.inference.tensor.DType;
import dev.yulan.inference.tensor.Elements;
import dev.yulan.inference.tensor.Matrix;
import dev.yulan.inference.tensor.Panels;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The batched matmul over {@link Panels}. Each worker owns a range of groups (64 output rows) and reads their weights
 * once per call, front to back, whatever the batch:
 *
 * <ul>
 *   <li>small batches (BF16 up to {@value #SMALL_BF16} sequences, Q8_0 up to {@value #SMALL_Q8}, Q4_0 at 1) widen
 *       each weight vector in registers straight from the weights' memory and apply it to up to four sequences'
 *       broadcast activations: memory-bound, and these loops stream at the machine's bandwidth;
 *   <li>larger batches decode each {@value #KC}-column chunk of a group once into a float buffer that stays in L1, then
 *       apply it to every sequence in register tiles of 4 panels x up to 6 sequences: compute-bound.
 * </ul>
 *
 * <p>Every output is exactly the FMA chain {@link Kernels#matmul} specifies (per 32-column block for quantized
 * weights), so the result is bit-identical to the scalar reference at any batch size and thread count.
 *
 * <p>The streaming loops are flat loops over a panel's columns with the four panels' offsets as invariants: in that
 * shape the JIT drops the bounds check of every segment load, and only then do loads spread among the FMAs keep memory
 * busy (with a check per load, or with a bulk copy per chunk, batch-1 Q8_0 streamed at about 0.55 of the bandwidth).
 */
final class PanelMatmul {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_256;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;

    private static final int LANES = Panels.ROWS;
    private static final int GROUP = Panels.GROUP;
    private static final int KC = 64;
    private static final int PANEL_FLOATS = KC * LANES;
    // Accumulator slots past the batch, for the padding sequences of a 4-sequence tile.
    private static final int PAD = 2;
    /** Largest Q8_0 batch applied straight from memory, four sequences per pass over a group (measured crossover). */
    static final int SMALL_Q8 = 16;

    /** Largest BF16 batch applied straight from memory. */
    static final int SMALL_BF16 = 8;

    private PanelMatmul() {}

    /** Per-thread buffers: the raw chunk, the decoded chunk and its scales, and the accumulators. */
    static final class Scratch {
        final float[] weights = new float[GROUP * PANEL_FLOATS];
        final float[] scales = new float[KC / 32 * GROUP * LANES];
        private float[] acc = new float[GROUP * (1 + PAD) * LANES];

        float[] acc(int floats) {
            if (acc.length < floats) {
                acc = new float[floats];
            }
            return acc;
        }
    }

    /** Groups of panels packed for {@code rows} rows. */
    static int groups(int rows) {
        return Panels.paddedRows(rows) / (LANES * GROUP);
    }

    /**
     * Output rows of groups {@code [g0, g1)} for the whole batch: each chunk of a group's weights is decoded once and
     * applied to every sequence, so a step reads its weights from memory once whatever its size.
     */
    static void apply(Matrix w, float[] x, float[] out, int batch, int g0, int g1, Scratch scratch) {
        if (batch == 1 && w.dtype().isQuantized()) {
            int ps = (4 + PAD) * LANES;
            float[] acc = scratch.acc(GROUP * ps);
            for (int g = g0; g < g1; g++) {
                long group = g * Panels.groupBytes(w.dtype(), w.cols());
                if (w.dtype() == DType.Q8_0) {
                    streamQ8x1(w.data(), group, w.cols(), x, acc, ps, scratch.scales);
                } else {
                    streamQ4x1(w.data(), group, w.cols(), x, acc, ps, scratch.scales);
                }
                store(acc, ps, out, w.rows(), g * GROUP * LANES, 1);
            }
            return;
        }
        if (batch <= SMALL_BF16 && w.dtype() == DType.BF16) {
            streamBf16(w, x, out, batch, g0, g1, scratch);
            return;
        }
        if (batch <= SMALL_Q8 && w.dtype() == DType.Q8_0) {
            int ps = (batch + 3) * LANES; // every sequence, plus padding to whole quads
            float[] acc = scratch.acc(GROUP * ps);
            int cols = w.cols();
            int last = (batch - 1) * cols;
            for (int g = g0; g < g1; g++) {
                Arrays.fill(acc, 0, GROUP * ps, 0f);
                long group = g * Panels.groupBytes(DType.Q8_0, cols);
                for (int b = 0; b < batch; b += 4) {
                    // Sequences past the batch repeat the last one into slots that are not stored.
                    int x0 = b * cols;
                    int x1 = Math.min(x0 + cols, last);
                    int x2 = Math.min(x0 + 2 * cols, last);
                    int x3 = Math.min(x0 + 3 * cols, last);
                    streamQ8x4(w.data(), group, cols, x, x0, x1, x2, x3, acc, b * LANES, ps, scratch.scales);
                }
                store(acc, ps, out, w.rows(), g * GROUP * LANES, batch);
            }
            return;
        }
        int cols = w.cols();
        long groupBytes = Panels.groupBytes(w.dtype(), cols);
        boolean blocked = w.dtype().isQuantized();
        int ps = (batch + PAD) * LANES; // accumulators of one panel: every sequence, plus the padding slots
        float[] acc = scratch.acc(GROUP * ps);
        for (int g = g0; g < g1; g++) {
            Arrays.fill(acc, 0, GROUP * ps, 0f);
            for (int k0 = 0; k0 < cols; k0 += KC) {
                int kc = Math.min(KC, cols - k0);
                decode(w, g * groupBytes, k0, kc, scratch);
                applyChunk(scratch.weights, kc, x, cols, k0, batch, acc, ps, blocked ? scratch.scales : null);
            }
            store(acc, ps, out, w.rows(), g * GROUP * LANES, batch);
        }
    }

    /**
     * Every sequence against one decoded column chunk, in tiles sized to what is left; {@code sc} holds the chunk's
     * block scales for quantized weights, else is null.
     */
    private static void applyChunk(
            float[] wb, int kc, float[] x, int cols, int k0, int batch, float[] acc, int ps, float[] sc) {
        int b = 0;
        while (b < batch) {
            int left = batch - b;
            int x0 = b * cols + k0;
            if (left >= 6) {
                int x1 = x0 + cols;
                int x2 = x1 + cols;
                int x3 = x2 + cols;
                int x4 = x3 + cols;
                int x5 = x4 + cols;
                if (sc == null) {
                    tile4x6(wb, kc, x, x0, x1, x2, x3, x4, x5, acc, b * LANES, ps);
                } else {
                    tile4x6Blocks(wb, kc, x, x0, x1, x2, x3, x4, x5, acc, b * LANES, ps, sc);
                }
                b += 6;
            } else if (left >= 2) {
                // Up to two padding sequences repeat the last one; their accumulators are slots past the batch.
                int last = (batch - 1) * cols + k0;
                int x1 = x0 + cols;
                int x2 = Math.min(x1 + cols, last);
                int x3 = Math.min(x1 + 2 * cols, last);
                if (sc == null) {
                    tile4x4(wb, kc, x, x0, x1, x2, x3, acc, b * LANES, ps);
                } else {
                    tile4x4Blocks(wb, kc, x, x0, x1, x2, x3, acc, b * LANES, ps, sc);
                }
                b += 4;
            } else {
                if (sc == null) {
                    tile4x1(wb, kc, x, x0, acc, b * LANES, ps);
                } else {
                    tile4x1Blocks(wb, kc, x, x0, acc, b * LANES, ps, sc);
                }
                b += 1;
            }
        }
    }

    private static void store(float[] acc, int ps, float[] out, int rows, int row0, int batch) {
        for (int p = 0; p < GROUP; p++) {
            int r = row0 + p * LANES;
            if (r >= rows) {
                return;
            }
            int n = Math.min(LANES, rows - r);
            for (int b = 0; b < batch; b++) {
                FloatVector v = FloatVector.fromArray(F, acc, p * ps + b * LANES);
                if (n == LANES) {
                    v.intoArray(out, b * rows + r);
                } else {
                    v.intoArray(out, b * rows + r, F.indexInRange(0, n));
                }
            }
        }
    }

    // ---------------------------------------------------------------- batch 1

    /**
     * Groups of BF16 weights for up to four sequences, widened in registers straight from the weights' memory. BF16
     * needs so little arithmetic per byte that loads spread among the FMAs keep memory busier than a copy per chunk
     * does (measured at batch 1: 21 GB/s against 20; at batch 4: 15.4 against 13.5).
     */
    private static void streamBf16(Matrix w, float[] x, float[] out, int batch, int g0, int g1, Scratch scratch) {
        int cols = w.cols();
        int ps = (batch + 3) * LANES; // every sequence, plus padding to whole quads
        float[] acc = scratch.acc(GROUP * ps);
        int last = (batch - 1) * cols;
        for (int g = g0; g < g1; g++) {
            long group = g * Panels.groupBytes(DType.BF16, cols);
            if (batch == 1) { // four chains instead of sixteen: 5% faster than a padded quad at batch 1
                streamBf16x1(w.data(), group, cols, x, acc, ps);
            } else {
                for (int b = 0; b < batch; b += 4) {
                    // Sequences past the batch repeat the last one into slots that are not stored.
                    int x0 = b * cols;
                    int x1 = Math.min(x0 + cols, last);
                    int x2 = Math.min(x0 + 2 * cols, last);
                    int x3 = Math.min(x0 + 3 * cols, last);
                    streamBf16x4(w.data(), group, cols, x, x0, x1, x2, x3, acc, b * LANES, ps);
                }
            }
            store(acc, ps, out, w.rows(), g * GROUP * LANES, batch);
        }
    }

    private static void streamBf16x1(MemorySegment seg, long group, int cols, float[] x, float[] acc, int ps) {
        FloatVector a00 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F);
        long panel = Panels.panelBytes(DType.BF16, cols);
        for (int k = 0; k < cols; k++) {
            long at = group + k * 2L * LANES;
            FloatVector w0 = bf16(seg, at);
            FloatVector w1 = bf16(seg, at + panel);
            FloatVector w2 = bf16(seg, at + 2 * panel);
            FloatVector w3 = bf16(seg, at + 3 * panel);
            FloatVector v0 = FloatVector.broadcast(F, x[k]);
            a00 = w0.fma(v0, a00);
            a10 = w1.fma(v0, a10);
            a20 = w2.fma(v0, a20);
            a30 = w3.fma(v0, a30);
        }
        a00.intoArray(acc, 0);
        a10.intoArray(acc, ps);
        a20.intoArray(acc, 2 * ps);
        a30.intoArray(acc, 3 * ps);
    }

    private static void streamBf16x4(
            MemorySegment seg,
            long group,
            int cols,
            float[] x,
            int x0,
            int x1,
            int x2,
            int x3,
            float[] acc,
            int ao,
            int ps) {
        FloatVector a00 = FloatVector.zero(F);
        FloatVector a01 = FloatVector.zero(F);
        FloatVector a02 = FloatVector.zero(F);
        FloatVector a03 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F);
        FloatVector a11 = FloatVector.zero(F);
        FloatVector a12 = FloatVector.zero(F);
        FloatVector a13 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F);
        FloatVector a21 = FloatVector.zero(F);
        FloatVector a22 = FloatVector.zero(F);
        FloatVector a23 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F);
        FloatVector a31 = FloatVector.zero(F);
        FloatVector a32 = FloatVector.zero(F);
        FloatVector a33 = FloatVector.zero(F);
        long panel = Panels.panelBytes(DType.BF16, cols);
        for (int k = 0; k < cols; k++) {
            long at = group + k * 2L * LANES;
            FloatVector w0 = bf16(seg, at);
            FloatVector w1 = bf16(seg, at + panel);
            FloatVector w2 = bf16(seg, at + 2 * panel);
            FloatVector w3 = bf16(seg, at + 3 * panel);
            FloatVector v0 = FloatVector.broadcast(F, x[x0 + k]);
            a00 = w0.fma(v0, a00);
            a10 = w1.fma(v0, a10);
            a20 = w2.fma(v0, a20);
            a30 = w3.fma(v0, a30);
            FloatVector v1 = FloatVector.broadcast(F, x[x1 + k]);
            a01 = w0.fma(v1, a01);
            a11 = w1.fma(v1, a11);
            a21 = w2.fma(v1, a21);
            a31 = w3.fma(v1, a31);
            FloatVector v2 = FloatVector.broadcast(F, x[x2 + k]);
            a02 = w0.fma(v2, a02);
            a12 = w1.fma(v2, a12);
            a22 = w2.fma(v2, a22);
            a32 = w3.fma(v2, a32);
            FloatVector v3 = FloatVector.broadcast(F, x[x3 + k]);
            a03 = w0.fma(v3, a03);
            a13 = w1.fma(v3, a13);
            a23 = w2.fma(v3, a23);
            a33 = w3.fma(v3, a33);
        }
        a00.intoArray(acc, ao);
        a01.intoArray(acc, ao + LANES);
        a02.intoArray(acc, ao + 2 * LANES);
        a03.intoArray(acc, ao + 3 * LANES);
        a10.intoArray(acc, ao + ps);
        a11.intoArray(acc, ao + ps + LANES);
        a12.intoArray(acc, ao + ps + 2 * LANES);
        a13.intoArray(acc, ao + ps + 3 * LANES);
        a20.intoArray(acc, ao + 2 * ps);
        a21.intoArray(acc, ao + 2 * ps + LANES);
        a22.intoArray(acc, ao + 2 * ps + 2 * LANES);
        a23.intoArray(acc, ao + 2 * ps + 3 * LANES);
        a30.intoArray(acc, ao + 3 * ps);
        a31.intoArray(acc, ao + 3 * ps + LANES);
        a32.intoArray(acc, ao + 3 * ps + 2 * LANES);
        a33.intoArray(acc, ao + 3 * ps + 3 * LANES);
    }

    /** One group of Q8_0 weights for one sequence, widened in registers straight from the weights' memory. */
    private static void streamQ8x1(
            MemorySegment seg, long group, int cols, float[] x, float[] acc, int ps, float[] sc) {
        long panel = Panels.panelBytes(DType.Q8_0, cols);
        int blockBytes = Panels.blockBytes(DType.Q8_0);
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        for (int b = 0; b < cols / 32; b++) {
            long block = group + (long) b * blockBytes;
            // The scales are decoded in a call of their own: inlined, they push the loop past the JIT's budget.
            segmentScales(seg, block, panel, sc, 0);
            FloatVector i0 = FloatVector.zero(F);
            FloatVector i1 = i0;
            FloatVector i2 = i0;
            FloatVector i3 = i0;
            long q = block + Panels.SCALE_BYTES;
            for (int i = 0; i < 32; i++) {
                FloatVector v = FloatVector.broadcast(F, x[b * 32 + i]);
                long at = q + i * (long) LANES;
                i0 = q8(seg, at).fma(v, i0);
                i1 = q8(seg, at + panel).fma(v, i1);
                i2 = q8(seg, at + 2 * panel).fma(v, i2);
                i3 = q8(seg, at + 3 * panel).fma(v, i3);
            }
            a0 = FloatVector.fromArray(F, sc, 0).fma(i0, a0);
            a1 = FloatVector.fromArray(F, sc, LANES).fma(i1, a1);
            a2 = FloatVector.fromArray(F, sc, 2 * LANES).fma(i2, a2);
            a3 = FloatVector.fromArray(F, sc, 3 * LANES).fma(i3, a3);
        }
        a0.intoArray(acc, 0);
        a1.intoArray(acc, ps);
        a2.intoArray(acc, 2 * ps);
        a3.intoArray(acc, 3 * ps);
    }

    /**
     * One group of Q8_0 weights for four sequences (activations at {@code x[x0 + k]} ...), widened in registers
     * straight from the weights' memory; each block's chains join the sums in {@code acc} by one FMA with its scales.
     */
    private static void streamQ8x4(
            MemorySegment seg,
            long group,
            int cols,
            float[] x,
            int x0,
            int x1,
            int x2,
            int x3,
            float[] acc,
            int ao,
            int ps,
            float[] sc) {
        long panel = Panels.panelBytes(DType.Q8_0, cols);
        int blockBytes = Panels.blockBytes(DType.Q8_0);
        for (int b = 0; b < cols / 32; b++) {
            long block = group + (long) b * blockBytes;
            segmentScales(seg, block, panel, sc, 0);
            FloatVector a00 = FloatVector.zero(F);
            FloatVector a01 = FloatVector.zero(F);
            FloatVector a02 = FloatVector.zero(F);
            FloatVector a03 = FloatVector.zero(F);
            FloatVector a10 = FloatVector.zero(F);
            FloatVector a11 = FloatVector.zero(F);
            FloatVector a12 = FloatVector.zero(F);
            FloatVector a13 = FloatVector.zero(F);
            FloatVector a20 = FloatVector.zero(F);
            FloatVector a21 = FloatVector.zero(F);
            FloatVector a22 = FloatVector.zero(F);
            FloatVector a23 = FloatVector.zero(F);
            FloatVector a30 = FloatVector.zero(F);
            FloatVector a31 = FloatVector.zero(F);
            FloatVector a32 = FloatVector.zero(F);
            FloatVector a33 = FloatVector.zero(F);
            long q = block + Panels.SCALE_BYTES;
            int k0 = b * 32;
            for (int i = 0; i < 32; i++) {
                long at = q + i * (long) LANES;
                FloatVector w0 = q8(seg, at);
                FloatVector w1 = q8(seg, at + panel);
                FloatVector w2 = q8(seg, at + 2 * panel);
                FloatVector w3 = q8(seg, at + 3 * panel);
                FloatVector v0 = FloatVector.broadcast(F, x[x0 + k0 + i]);
                a00 = w0.fma(v0, a00);
                a10 = w1.fma(v0, a10);
                a20 = w2.fma(v0, a20);
                a30 = w3.fma(v0, a30);
                FloatVector v1 = FloatVector.broadcast(F, x[x1 + k0 + i]);
                a01 = w0.fma(v1, a01);
                a11 = w1.fma(v1, a11);
                a21 = w2.fma(v1, a21);
                a31 = w3.fma(v1, a31);
                FloatVector v2 = FloatVector.broadcast(F, x[x2 + k0 + i]);
                a02 = w0.fma(v2, a02);
                a12 = w1.fma(v2, a12);
                a22 = w2.fma(v2, a22);
                a32 = w3.fma(v2, a32);
                FloatVector v3 = FloatVector.broadcast(F, x[x3 + k0 + i]);
                a03 = w0.fma(v3, a03);
                a13 = w1.fma(v3, a13);
                a23 = w2.fma(v3, a23);
                a33 = w3.fma(v3, a33);
            }
            FloatVector s0 = FloatVector.fromArray(F, sc, 0 * LANES);
            FloatVector s1 = FloatVector.fromArray(F, sc, 1 * LANES);
            FloatVector s2 = FloatVector.fromArray(F, sc, 2 * LANES);
            FloatVector s3 = FloatVector.fromArray(F, sc, 3 * LANES);
            s0.fma(a00, FloatVector.fromArray(F, acc, ao + 0 * ps + 0 * LANES)).intoArray(acc, ao + 0 * ps + 0 * LANES);
            s0.fma(a01, FloatVector.fromArray(F, acc, ao + 0 * ps + 1 * LANES)).intoArray(acc, ao + 0 * ps + 1 * LANES);
            s0.fma(a02, FloatVector.fromArray(F, acc, ao + 0 * ps + 2 * LANES)).intoArray(acc, ao + 0 * ps + 2 * LANES);
            s0.fma(a03, FloatVector.fromArray(F, acc, ao + 0 * ps + 3 * LANES)).intoArray(acc, ao + 0 * ps + 3 * LANES);
            s1.fma(a10, FloatVector.fromArray(F, acc, ao + 1 * ps + 0 * LANES)).intoArray(acc, ao + 1 * ps + 0 * LANES);
            s1.fma(a11, FloatVector.fromArray(F, acc, ao + 1 * ps + 1 * LANES)).intoArray(acc, ao + 1 * ps + 1 * LANES);
            s1.fma(a12, FloatVector.fromArray(F, acc, ao + 1 * ps + 2 * LANES)).intoArray(acc, ao + 1 * ps + 2 * LANES);
            s1.fma(a13, FloatVector.fromArray(F, acc, ao + 1 * ps + 3 * LANES)).intoArray(acc, ao + 1 * ps + 3 * LANES);
            s2.fma(a20, FloatVector.fromArray(F, acc, ao + 2 * ps + 0 * LANES)).intoArray(acc, ao + 2 * ps + 0 * LANES);
            s2.fma(a21, FloatVector.fromArray(F, acc, ao + 2 * ps + 1 * LANES)).intoArray(acc, ao + 2 * ps + 1 * LANES);
            s2.fma(a22, FloatVector.fromArray(F, acc, ao + 2 * ps + 2 * LANES)).intoArray(acc, ao + 2 * ps + 2 * LANES);
            s2.fma(a23, FloatVector.fromArray(F, acc, ao + 2 * ps + 3 * LANES)).intoArray(acc, ao + 2 * ps + 3 * LANES);
            s3.fma(a30, FloatVector.fromArray(F, acc, ao + 3 * ps + 0 * LANES)).intoArray(acc, ao + 3 * ps + 0 * LANES);
            s3.fma(a31, FloatVector.fromArray(F, acc, ao + 3 * ps + 1 * LANES)).intoArray(acc, ao + 3 * ps + 1 * LANES);
            s3.fma(a32, FloatVector.fromArray(F, acc, ao + 3 * ps + 2 * LANES)).intoArray(acc, ao + 3 * ps + 2 * LANES);
            s3.fma(a33, FloatVector.fromArray(F, acc, ao + 3 * ps + 3 * LANES)).intoArray(acc, ao + 3 * ps + 3 * LANES);
        }
    }

    /** One group of Q4_0 weights for one sequence, widened in registers straight from the weights' memory. */
    private static void streamQ4x1(
            MemorySegment seg, long group, int cols, float[] x, float[] acc, int ps, float[] sc) {
        long panel = Panels.panelBytes(DType.Q4_0, cols);
        int blockBytes = Panels.blockBytes(DType.Q4_0);
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        for (int b = 0; b < cols / 32; b++) {
            long block = group + (long) b * blockBytes;
            segmentScales(seg, block, panel, sc, 0);
            FloatVector i0 = FloatVector.zero(F);
            FloatVector i1 = i0;
            FloatVector i2 = i0;
            FloatVector i3 = i0;
            long q = block + Panels.SCALE_BYTES;
            // Columns 0..15 of the block are the low nibbles, 16..31 the high ones: two passes keep the chain in
            // order. Written out rather than in helpers: the JIT declines to inline helpers it compiled large.
            for (int i = 0; i < 16; i++) {
                FloatVector v = FloatVector.broadcast(F, x[b * 32 + i]);
                long at = q + i * (long) LANES;
                i0 = ((FloatVector) ((IntVector) ByteVector.fromMemorySegment(B, seg, at, ByteOrder.LITTLE_ENDIAN)
                                        .convertShape(VectorOperators.B2I, I, 0))
                                .and(0x0f)
                                .sub(8)
                                .convert(VectorOperators.I2F, 0))
                        .fma(v, i0);
                i1 = ((FloatVector)
                                ((IntVector) ByteVector.fromMemorySegment(B, seg, at + panel, ByteOrder.LITTLE_ENDIAN)
                                                .convertShape(VectorOperators.B2I, I, 0))
                                        .and(0x0f)
                                        .sub(8)
                                        .convert(VectorOperators.I2F, 0))
                        .fma(v, i1);
                i2 = ((FloatVector) ((IntVector)
                                        ByteVector.fromMemorySegment(B, seg, at + 2 * panel, ByteOrder.LITTLE_ENDIAN)
                                                .convertShape(VectorOperators.B2I, I, 0))
                                .and(0x0f)
                                .sub(8)
                                .convert(VectorOperators.I2F, 0))
                        .fma(v, i2);
                i3 = ((FloatVector) ((IntVector)
                                        ByteVector.fromMemorySegment(B, seg, at + 3 * panel, ByteOrder.LITTLE_ENDIAN)
                                                .convertShape(VectorOperators.B2I, I, 0))
                                .and(0x0f)
                                .sub(8)
                                .convert(VectorOperators.I2F, 0))
                        .fma(v, i3);
            }
            for (int i = 0; i < 16; i++) {
                FloatVector v = FloatVector.broadcast(F, x[b * 32 + 16 + i]);
                long at = q + i * (long) LANES;
                i0 = ((FloatVector) ((IntVector) ByteVector.fromMemorySegment(B, seg, at, ByteOrder.LITTLE_ENDIAN)
                                        .convertShape(VectorOperators.B2I, I, 0))
                                .lanewise(VectorOperators.ASHR, 4)
                                .and(0x0f)
                                .sub(8)
                                .convert(VectorOperators.I2F, 0))
                        .fma(v, i0);
                i1 = ((FloatVector)
                                ((IntVector) ByteVector.fromMemorySegment(B, seg, at + panel, ByteOrder.LITTLE_ENDIAN)
                                                .convertShape(VectorOperators.B2I, I, 0))
                                        .lanewise(VectorOperators.ASHR, 4)
                                        .and(0x0f)
                                        .sub(8)
                                        .convert(VectorOperators.I2F, 0))
                        .fma(v, i1);
                i2 = ((FloatVector) ((IntVector)
                                        ByteVector.fromMemorySegment(B, seg, at + 2 * panel, ByteOrder.LITTLE_ENDIAN)
                                                .convertShape(VectorOperators.B2I, I, 0))
                                .lanewise(VectorOperators.ASHR, 4)
                                .and(0x0f)
                                .sub(8)
                                .convert(VectorOperators.I2F, 0))
                        .fma(v, i2);
                i3 = ((FloatVector) ((IntVector)
                                        ByteVector.fromMemorySegment(B, seg, at + 3 * panel, ByteOrder.LITTLE_ENDIAN)
                                                .convertShape(VectorOperators.B2I, I, 0))
                                .lanewise(VectorOperators.ASHR, 4)
                                .and(0x0f)
                                .sub(8)
                                .convert(VectorOperators.I2F, 0))
                        .fma(v, i3);
            }
            a0 = FloatVector.fromArray(F, sc, 0).fma(i0, a0);
            a1 = FloatVector.fromArray(F, sc, LANES).fma(i1, a1);
            a2 = FloatVector.fromArray(F, sc, 2 * LANES).fma(i2, a2);
            a3 = FloatVector.fromArray(F, sc, 3 * LANES).fma(i3, a3);
        }
        a0.intoArray(acc, 0);
        a1.intoArray(acc, ps);
        a2.intoArray(acc, 2 * ps);
        a3.intoArray(acc, 3 * ps);
    }

    /** The scales of one block of the four panels, from the weights' memory into {@code sc[panel][16]}. */
    private static void segmentScales(MemorySegment seg, long block, long panel, float[] sc, int off) {
        for (int p = 0; p < GROUP; p++) {
            f16((IntVector) ShortVector.fromMemorySegment(S, seg, block + p * panel, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.S2I, I, 0))
                    .intoArray(sc, off + p * LANES);
        }
    }

    private static FloatVector q8(MemorySegment seg, long off) {
        return (FloatVector) ByteVector.fromMemorySegment(B, seg, off, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.B2F, F, 0);
    }

    private static FloatVector bf16(MemorySegment seg, long off) {
        return bf16((IntVector) ShortVector.fromMemorySegment(S, seg, off, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.S2I, I, 0));
    }

    // ---------------------------------------------------------------- tiles

    /** Four panels x six sequences (activations at {@code x[x0 + k]} ...): 24 accumulators, 10 loads per 24 FMAs. Each sequence's FMAs follow its broadcast, which keeps the live vectors within the 32 registers; the accumulators of panel {@code p}, sequence {@code s} are at {@code acc[ao + p*ps + s*16]}. */
    private static void tile4x6(
            float[] wb,
            int kc,
            float[] x,
            int x0,
            int x1,
            int x2,
            int x3,
            int x4,
            int x5,
            float[] acc,
            int ao,
            int ps) {
        FloatVector a00 = FloatVector.fromArray(F, acc, ao);
        FloatVector a01 = FloatVector.fromArray(F, acc, ao + 1 * LANES);
        FloatVector a02 = FloatVector.fromArray(F, acc, ao + 2 * LANES);
        FloatVector a03 = FloatVector.fromArray(F, acc, ao + 3 * LANES);
        FloatVector a04 = FloatVector.fromArray(F, acc, ao + 4 * LANES);
        FloatVector a05 = FloatVector.fromArray(F, acc, ao + 5 * LANES);
        FloatVector a10 = FloatVector.fromArray(F, acc, 1 * ps + ao);
        FloatVector a11 = FloatVector.fromArray(F, acc, 1 * ps + ao + 1 * LANES);
        FloatVector a12 = FloatVector.fromArray(F, acc, 1 * ps + ao + 2 * LANES);
        FloatVector a13 = FloatVector.fromArray(F, acc, 1 * ps + ao + 3 * LANES);
        FloatVector a14 = FloatVector.fromArray(F, acc, 1 * ps + ao + 4 * LANES);
        FloatVector a15 = FloatVector.fromArray(F, acc, 1 * ps + ao + 5 * LANES);
        FloatVector a20 = FloatVector.fromArray(F, acc, 2 * ps + ao);
        FloatVector a21 = FloatVector.fromArray(F, acc, 2 * ps + ao + 1 * LANES);
        FloatVector a22 = FloatVector.fromArray(F, acc, 2 * ps + ao + 2 * LANES);
        FloatVector a23 = FloatVector.fromArray(F, acc, 2 * ps + ao + 3 * LANES);
        FloatVector a24 = FloatVector.fromArray(F, acc, 2 * ps + ao + 4 * LANES);
        FloatVector a25 = FloatVector.fromArray(F, acc, 2 * ps + ao + 5 * LANES);
        FloatVector a30 = FloatVector.fromArray(F, acc, 3 * ps + ao);
        FloatVector a31 = FloatVector.fromArray(F, acc, 3 * ps + ao + 1 * LANES);
        FloatVector a32 = FloatVector.fromArray(F, acc, 3 * ps + ao + 2 * LANES);
        FloatVector a33 = FloatVector.fromArray(F, acc, 3 * ps + ao + 3 * LANES);
        FloatVector a34 = FloatVector.fromArray(F, acc, 3 * ps + ao + 4 * LANES);
        FloatVector a35 = FloatVector.fromArray(F, acc, 3 * ps + ao + 5 * LANES);
        for (int k = 0; k < kc; k++) {
            FloatVector w0 = FloatVector.fromArray(F, wb, k * LANES);
            FloatVector w1 = FloatVector.fromArray(F, wb, 1 * PANEL_FLOATS + k * LANES);
            FloatVector w2 = FloatVector.fromArray(F, wb, 2 * PANEL_FLOATS + k * LANES);
            FloatVector w3 = FloatVector.fromArray(F, wb, 3 * PANEL_FLOATS + k * LANES);
            FloatVector v0 = FloatVector.broadcast(F, x[x0 + k]);
            a00 = w0.fma(v0, a00);
            a10 = w1.fma(v0, a10);
            a20 = w2.fma(v0, a20);
            a30 = w3.fma(v0, a30);
            FloatVector v1 = FloatVector.broadcast(F, x[x1 + k]);
            a01 = w0.fma(v1, a01);
            a11 = w1.fma(v1, a11);
            a21 = w2.fma(v1, a21);
            a31 = w3.fma(v1, a31);
            FloatVector v2 = FloatVector.broadcast(F, x[x2 + k]);
            a02 = w0.fma(v2, a02);
            a12 = w1.fma(v2, a12);
            a22 = w2.fma(v2, a22);
            a32 = w3.fma(v2, a32);
            FloatVector v3 = FloatVector.broadcast(F, x[x3 + k]);
            a03 = w0.fma(v3, a03);
            a13 = w1.fma(v3, a13);
            a23 = w2.fma(v3, a23);
            a33 = w3.fma(v3, a33);
            FloatVector v4 = FloatVector.broadcast(F, x[x4 + k]);
            a04 = w0.fma(v4, a04);
            a14 = w1.fma(v4, a14);
            a24 = w2.fma(v4, a24);
            a34 = w3.fma(v4, a34);
            FloatVector v5 = FloatVector.broadcast(F, x[x5 + k]);
            a05 = w0.fma(v5, a05);
            a15 = w1.fma(v5, a15);
            a25 = w2.fma(v5, a25);
            a35 = w3.fma(v5, a35);
        }
        a00.intoArray(acc, ao);
        a01.intoArray(acc, ao + 1 * LANES);
        a02.intoArray(acc, ao + 2 * LANES);
        a03.intoArray(acc, ao + 3 * LANES);
        a04.intoArray(acc, ao + 4 * LANES);
        a05.intoArray(acc, ao + 5 * LANES);
        a10.intoArray(acc, 1 * ps + ao);
        a11.intoArray(acc, 1 * ps + ao + 1 * LANES);
        a12.intoArray(acc, 1 * ps + ao + 2 * LANES);
        a13.intoArray(acc, 1 * ps + ao + 3 * LANES);
        a14.intoArray(acc, 1 * ps + ao + 4 * LANES);
        a15.intoArray(acc, 1 * ps + ao + 5 * LANES);
        a20.intoArray(acc, 2 * ps + ao);
        a21.intoArray(acc, 2 * ps + ao + 1 * LANES);
        a22.intoArray(acc, 2 * ps + ao + 2 * LANES);
        a23.intoArray(acc, 2 * ps + ao + 3 * LANES);
        a24.intoArray(acc, 2 * ps + ao + 4 * LANES);
        a25.intoArray(acc, 2 * ps + ao + 5 * LANES);
        a30.intoArray(acc, 3 * ps + ao);
        a31.intoArray(acc, 3 * ps + ao + 1 * LANES);
        a32.intoArray(acc, 3 * ps + ao + 2 * LANES);
        a33.intoArray(acc, 3 * ps + ao + 3 * LANES);
        a34.intoArray(acc, 3 * ps + ao + 4 * LANES);
        a35.intoArray(acc, 3 * ps + ao + 5 * LANES);
    }

    /** Four panels x four sequences. */
    private static void tile4x4(
            float[] wb, int kc, float[] x, int x0, int x1, int x2, int x3, float[] acc, int ao, int ps) {
        FloatVector a00 = FloatVector.fromArray(F, acc, ao);
        FloatVector a01 = FloatVector.fromArray(F, acc, ao + 1 * LANES);
        FloatVector a02 = FloatVector.fromArray(F, acc, ao + 2 * LANES);
        FloatVector a03 = FloatVector.fromArray(F, acc, ao + 3 * LANES);
        FloatVector a10 = FloatVector.fromArray(F, acc, 1 * ps + ao);
        FloatVector a11 = FloatVector.fromArray(F, acc, 1 * ps + ao + 1 * LANES);
        FloatVector a12 = FloatVector.fromArray(F, acc, 1 * ps + ao + 2 * LANES);
        FloatVector a13 = FloatVector.fromArray(F, acc, 1 * ps + ao + 3 * LANES);
        FloatVector a20 = FloatVector.fromArray(F, acc, 2 * ps + ao);
        FloatVector a21 = FloatVector.fromArray(F, acc, 2 * ps + ao + 1 * LANES);
        FloatVector a22 = FloatVector.fromArray(F, acc, 2 * ps + ao + 2 * LANES);
        FloatVector a23 = FloatVector.fromArray(F, acc, 2 * ps + ao + 3 * LANES);
        FloatVector a30 = FloatVector.fromArray(F, acc, 3 * ps + ao);
        FloatVector a31 = FloatVector.fromArray(F, acc, 3 * ps + ao + 1 * LANES);
        FloatVector a32 = FloatVector.fromArray(F, acc, 3 * ps + ao + 2 * LANES);
        FloatVector a33 = FloatVector.fromArray(F, acc, 3 * ps + ao + 3 * LANES);
        for (int k = 0; k < kc; k++) {
            FloatVector w0 = FloatVector.fromArray(F, wb, k * LANES);
            FloatVector w1 = FloatVector.fromArray(F, wb, 1 * PANEL_FLOATS + k * LANES);
            FloatVector w2 = FloatVector.fromArray(F, wb, 2 * PANEL_FLOATS + k * LANES);
            FloatVector w3 = FloatVector.fromArray(F, wb, 3 * PANEL_FLOATS + k * LANES);
            FloatVector v0 = FloatVector.broadcast(F, x[x0 + k]);
            a00 = w0.fma(v0, a00);
            a10 = w1.fma(v0, a10);
            a20 = w2.fma(v0, a20);
            a30 = w3.fma(v0, a30);
            FloatVector v1 = FloatVector.broadcast(F, x[x1 + k]);
            a01 = w0.fma(v1, a01);
            a11 = w1.fma(v1, a11);
            a21 = w2.fma(v1, a21);
            a31 = w3.fma(v1, a31);
            FloatVector v2 = FloatVector.broadcast(F, x[x2 + k]);
            a02 = w0.fma(v2, a02);
            a12 = w1.fma(v2, a12);
            a22 = w2.fma(v2, a22);
            a32 = w3.fma(v2, a32);
            FloatVector v3 = FloatVector.broadcast(F, x[x3 + k]);
            a03 = w0.fma(v3, a03);
            a13 = w1.fma(v3, a13);
            a23 = w2.fma(v3, a23);
            a33 = w3.fma(v3, a33);
        }
        a00.intoArray(acc, ao);
        a01.intoArray(acc, ao + 1 * LANES);
        a02.intoArray(acc, ao + 2 * LANES);
        a03.intoArray(acc, ao + 3 * LANES);
        a10.intoArray(acc, 1 * ps + ao);
        a11.intoArray(acc, 1 * ps + ao + 1 * LANES);
        a12.intoArray(acc, 1 * ps + ao + 2 * LANES);
        a13.intoArray(acc, 1 * ps + ao + 3 * LANES);
        a20.intoArray(acc, 2 * ps + ao);
        a21.intoArray(acc, 2 * ps + ao + 1 * LANES);
        a22.intoArray(acc, 2 * ps + ao + 2 * LANES);
        a23.intoArray(acc, 2 * ps + ao + 3 * LANES);
        a30.intoArray(acc, 3 * ps + ao);
        a31.intoArray(acc, 3 * ps + ao + 1 * LANES);
        a32.intoArray(acc, 3 * ps + ao + 2 * LANES);
        a33.intoArray(acc, 3 * ps + ao + 3 * LANES);
    }

    /** Four panels x one sequence: four independent chains. */
    private static void tile4x1(float[] wb, int kc, float[] x, int x0, float[] acc, int ao, int ps) {
        FloatVector a00 = FloatVector.fromArray(F, acc, ao);
        FloatVector a10 = FloatVector.fromArray(F, acc, 1 * ps + ao);
        FloatVector a20 = FloatVector.fromArray(F, acc, 2 * ps + ao);
        FloatVector a30 = FloatVector.fromArray(F, acc, 3 * ps + ao);
        for (int k = 0; k < kc; k++) {
            FloatVector w0 = FloatVector.fromArray(F, wb, k * LANES);
            FloatVector w1 = FloatVector.fromArray(F, wb, 1 * PANEL_FLOATS + k * LANES);
            FloatVector w2 = FloatVector.fromArray(F, wb, 2 * PANEL_FLOATS + k * LANES);
            FloatVector w3 = FloatVector.fromArray(F, wb, 3 * PANEL_FLOATS + k * LANES);
            FloatVector v0 = FloatVector.broadcast(F, x[x0 + k]);
            a00 = w0.fma(v0, a00);
            a10 = w1.fma(v0, a10);
            a20 = w2.fma(v0, a20);
            a30 = w3.fma(v0, a30);
        }
        a00.intoArray(acc, ao);
        a10.intoArray(acc, 1 * ps + ao);
        a20.intoArray(acc, 2 * ps + ao);
        a30.intoArray(acc, 3 * ps + ao);
    }

    /** {@link #tile4x6} for quantized weights: a chain per 32-column block, added to the sum scaled by the block's scales {@code sc[block][panel][16]}. */
    private static void tile4x6Blocks(
            float[] wb,
            int kc,
            float[] x,
            int x0,
            int x1,
            int x2,
            int x3,
            int x4,
            int x5,
            float[] acc,
            int ao,
            int ps,
            float[] sc) {
        for (int k0 = 0; k0 < kc; k0 += 32) {
            FloatVector a00 = FloatVector.zero(F);
            FloatVector a01 = FloatVector.zero(F);
            FloatVector a02 = FloatVector.zero(F);
            FloatVector a03 = FloatVector.zero(F);
            FloatVector a04 = FloatVector.zero(F);
            FloatVector a05 = FloatVector.zero(F);
            FloatVector a10 = FloatVector.zero(F);
            FloatVector a11 = FloatVector.zero(F);
            FloatVector a12 = FloatVector.zero(F);
            FloatVector a13 = FloatVector.zero(F);
            FloatVector a14 = FloatVector.zero(F);
            FloatVector a15 = FloatVector.zero(F);
            FloatVector a20 = FloatVector.zero(F);
            FloatVector a21 = FloatVector.zero(F);
            FloatVector a22 = FloatVector.zero(F);
            FloatVector a23 = FloatVector.zero(F);
            FloatVector a24 = FloatVector.zero(F);
            FloatVector a25 = FloatVector.zero(F);
            FloatVector a30 = FloatVector.zero(F);
            FloatVector a31 = FloatVector.zero(F);
            FloatVector a32 = FloatVector.zero(F);
            FloatVector a33 = FloatVector.zero(F);
            FloatVector a34 = FloatVector.zero(F);
            FloatVector a35 = FloatVector.zero(F);
            for (int k = k0; k < k0 + 32; k++) {
                FloatVector w0 = FloatVector.fromArray(F, wb, k * LANES);
                FloatVector w1 = FloatVector.fromArray(F, wb, 1 * PANEL_FLOATS + k * LANES);
                FloatVector w2 = FloatVector.fromArray(F, wb, 2 * PANEL_FLOATS + k * LANES);
                FloatVector w3 = FloatVector.fromArray(F, wb, 3 * PANEL_FLOATS + k * LANES);
                FloatVector v0 = FloatVector.broadcast(F, x[x0 + k]);
                a00 = w0.fma(v0, a00);
                a10 = w1.fma(v0, a10);
                a20 = w2.fma(v0, a20);
                a30 = w3.fma(v0, a30);
                FloatVector v1 = FloatVector.broadcast(F, x[x1 + k]);
                a01 = w0.fma(v1, a01);
                a11 = w1.fma(v1, a11);
                a21 = w2.fma(v1, a21);
                a31 = w3.fma(v1, a31);
                FloatVector v2 = FloatVector.broadcast(F, x[x2 + k]);
                a02 = w0.fma(v2, a02);
                a12 = w1.fma(v2, a12);
                a22 = w2.fma(v2, a22);
                a32 = w3.fma(v2, a32);
                FloatVector v3 = FloatVector.broadcast(F, x[x3 + k]);
                a03 = w0.fma(v3, a03);
                a13 = w1.fma(v3, a13);
                a23 = w2.fma(v3, a23);
                a33 = w3.fma(v3, a33);
                FloatVector v4 = FloatVector.broadcast(F, x[x4 + k]);
                a04 = w0.fma(v4, a04);
                a14 = w1.fma(v4, a14);
                a24 = w2.fma(v4, a24);
                a34 = w3.fma(v4, a34);
                FloatVector v5 = FloatVector.broadcast(F, x[x5 + k]);
                a05 = w0.fma(v5, a05);
                a15 = w1.fma(v5, a15);
                a25 = w2.fma(v5, a25);
                a35 = w3.fma(v5, a35);
            }
            int s = k0 / 32 * GROUP * LANES;
            FloatVector s0 = FloatVector.fromArray(F, sc, s);
            FloatVector s1 = FloatVector.fromArray(F, sc, s + 1 * LANES);
            FloatVector s2 = FloatVector.fromArray(F, sc, s + 2 * LANES);
            FloatVector s3 = FloatVector.fromArray(F, sc, s + 3 * LANES);
            s0.fma(a00, FloatVector.fromArray(F, acc, ao)).intoArray(acc, ao);
            s0.fma(a01, FloatVector.fromArray(F, acc, ao + 1 * LANES)).intoArray(acc, ao + 1 * LANES);
            s0.fma(a02, FloatVector.fromArray(F, acc, ao + 2 * LANES)).intoArray(acc, ao + 2 * LANES);
            s0.fma(a03, FloatVector.fromArray(F, acc, ao + 3 * LANES)).intoArray(acc, ao + 3 * LANES);
            s0.fma(a04, FloatVector.fromArray(F, acc, ao + 4 * LANES)).intoArray(acc, ao + 4 * LANES);
            s0.fma(a05, FloatVector.fromArray(F, acc, ao + 5 * LANES)).intoArray(acc, ao + 5 * LANES);
            s1.fma(a10, FloatVector.fromArray(F, acc, 1 * ps + ao)).intoArray(acc, 1 * ps + ao);
            s1.fma(a11, FloatVector.fromArray(F, acc, 1 * ps + ao + 1 * LANES)).intoArray(acc, 1 * ps + ao + 1 * LANES);
            s1.fma(a12, FloatVector.fromArray(F, acc, 1 * ps + ao + 2 * LANES)).intoArray(acc, 1 * ps + ao + 2 * LANES);
            s1.fma(a13, FloatVector.fromArray(F, acc, 1 * ps + ao + 3 * LANES)).intoArray(acc, 1 * ps + ao + 3 * LANES);
            s1.fma(a14, FloatVector.fromArray(F, acc, 1 * ps + ao + 4 * LANES)).intoArray(acc, 1 * ps + ao + 4 * LANES);
            s1.fma(a15, FloatVector.fromArray(F, acc, 1 * ps + ao + 5 * LANES)).intoArray(acc, 1 * ps + ao + 5 * LANES);
            s2.fma(a20, FloatVector.fromArray(F, acc, 2 * ps + ao)).intoArray(acc, 2 * ps + ao);
            s2.fma(a21, FloatVector.fromArray(F, acc, 2 * ps + ao + 1 * LANES)).intoArray(acc, 2 * ps + ao + 1 * LANES);
            s2.fma(a22, FloatVector.fromArray(F, acc, 2 * ps + ao + 2 * LANES)).intoArray(acc, 2 * ps + ao + 2 * LANES);
            s2.fma(a23, FloatVector.fromArray(F, acc, 2 * ps + ao + 3 * LANES)).intoArray(acc, 2 * ps + ao + 3 * LANES);
            s2.fma(a24, FloatVector.fromArray(F, acc, 2 * ps + ao + 4 * LANES)).intoArray(acc, 2 * ps + ao + 4 * LANES);
            s2.fma(a25, FloatVector.fromArray(F, acc, 2 * ps + ao + 5 * LANES)).intoArray(acc, 2 * ps + ao + 5 * LANES);
            s3.fma(a30, FloatVector.fromArray(F, acc, 3 * ps + ao)).intoArray(acc, 3 * ps + ao);
            s3.fma(a31, FloatVector.fromArray(F, acc, 3 * ps + ao + 1 * LANES)).intoArray(acc, 3 * ps + ao + 1 * LANES);
            s3.fma(a32, FloatVector.fromArray(F, acc, 3 * ps + ao + 2 * LANES)).intoArray(acc, 3 * ps + ao + 2 * LANES);
            s3.fma(a33, FloatVector.fromArray(F, acc, 3 * ps + ao + 3 * LANES)).intoArray(acc, 3 * ps + ao + 3 * LANES);
            s3.fma(a34, FloatVector.fromArray(F, acc, 3 * ps + ao + 4 * LANES)).intoArray(acc, 3 * ps + ao + 4 * LANES);
            s3.fma(a35, FloatVector.fromArray(F, acc, 3 * ps + ao + 5 * LANES)).intoArray(acc, 3 * ps + ao + 5 * LANES);
        }
    }

    /** {@link #tile4x4} for quantized weights. */
    private static void tile4x4Blocks(
            float[] wb, int kc, float[] x, int x0, int x1, int x2, int x3, float[] acc, int ao, int ps, float[] sc) {
        for (int k0 = 0; k0 < kc; k0 += 32) {
            FloatVector a00 = FloatVector.zero(F);
            FloatVector a01 = FloatVector.zero(F);
            FloatVector a02 = FloatVector.zero(F);
            FloatVector a03 = FloatVector.zero(F);
            FloatVector a10 = FloatVector.zero(F);
            FloatVector a11 = FloatVector.zero(F);
            FloatVector a12 = FloatVector.zero(F);
            FloatVector a13 = FloatVector.zero(F);
            FloatVector a20 = FloatVector.zero(F);
            FloatVector a21 = FloatVector.zero(F);
            FloatVector a22 = FloatVector.zero(F);
            FloatVector a23 = FloatVector.zero(F);
            FloatVector a30 = FloatVector.zero(F);
            FloatVector a31 = FloatVector.zero(F);
            FloatVector a32 = FloatVector.zero(F);
            FloatVector a33 = FloatVector.zero(F);
            for (int k = k0; k < k0 + 32; k++) {
                FloatVector w0 = FloatVector.fromArray(F, wb, k * LANES);
                FloatVector w1 = FloatVector.fromArray(F, wb, 1 * PANEL_FLOATS + k * LANES);
                FloatVector w2 = FloatVector.fromArray(F, wb, 2 * PANEL_FLOATS + k * LANES);
                FloatVector w3 = FloatVector.fromArray(F, wb, 3 * PANEL_FLOATS + k * LANES);
                FloatVector v0 = FloatVector.broadcast(F, x[x0 + k]);
                a00 = w0.fma(v0, a00);
                a10 = w1.fma(v0, a10);
                a20 = w2.fma(v0, a20);
                a30 = w3.fma(v0, a30);
                FloatVector v1 = FloatVector.broadcast(F, x[x1 + k]);
                a01 = w0.fma(v1, a01);
                a11 = w1.fma(v1, a11);
                a21 = w2.fma(v1, a21);
                a31 = w3.fma(v1, a31);
                FloatVector v2 = FloatVector.broadcast(F, x[x2 + k]);
                a02 = w0.fma(v2, a02);
                a12 = w1.fma(v2, a12);
                a22 = w2.fma(v2, a22);
                a32 = w3.fma(v2, a32);
                FloatVector v3 = FloatVector.broadcast(F, x[x3 + k]);
                a03 = w0.fma(v3, a03);
                a13 = w1.fma(v3, a13);
                a23 = w2.fma(v3, a23);
                a33 = w3.fma(v3, a33);
            }
            int s = k0 / 32 * GROUP * LANES;
            FloatVector s0 = FloatVector.fromArray(F, sc, s);
            FloatVector s1 = FloatVector.fromArray(F, sc, s + 1 * LANES);
            FloatVector s2 = FloatVector.fromArray(F, sc, s + 2 * LANES);
            FloatVector s3 = FloatVector.fromArray(F, sc, s + 3 * LANES);
            s0.fma(a00, FloatVector.fromArray(F, acc, ao)).intoArray(acc, ao);
            s0.fma(a01, FloatVector.fromArray(F, acc, ao + 1 * LANES)).intoArray(acc, ao + 1 * LANES);
            s0.fma(a02, FloatVector.fromArray(F, acc, ao + 2 * LANES)).intoArray(acc, ao + 2 * LANES);
            s0.fma(a03, FloatVector.fromArray(F, acc, ao + 3 * LANES)).intoArray(acc, ao + 3 * LANES);
            s1.fma(a10, FloatVector.fromArray(F, acc, 1 * ps + ao)).intoArray(acc, 1 * ps + ao);
            s1.fma(a11, FloatVector.fromArray(F, acc, 1 * ps + ao + 1 * LANES)).intoArray(acc, 1 * ps + ao + 1 * LANES);
            s1.fma(a12, FloatVector.fromArray(F, acc, 1 * ps + ao + 2 * LANES)).intoArray(acc, 1 * ps + ao + 2 * LANES);
            s1.fma(a13, FloatVector.fromArray(F, acc, 1 * ps + ao + 3 * LANES)).intoArray(acc, 1 * ps + ao + 3 * LANES);
            s2.fma(a20, FloatVector.fromArray(F, acc, 2 * ps + ao)).intoArray(acc, 2 * ps + ao);
            s2.fma(a21, FloatVector.fromArray(F, acc, 2 * ps + ao + 1 * LANES)).intoArray(acc, 2 * ps + ao + 1 * LANES);
            s2.fma(a22, FloatVector.fromArray(F, acc, 2 * ps + ao + 2 * LANES)).intoArray(acc, 2 * ps + ao + 2 * LANES);
            s2.fma(a23, FloatVector.fromArray(F, acc, 2 * ps + ao + 3 * LANES)).intoArray(acc, 2 * ps + ao + 3 * LANES);
            s3.fma(a30, FloatVector.fromArray(F, acc, 3 * ps + ao)).intoArray(acc, 3 * ps + ao);
            s3.fma(a31, FloatVector.fromArray(F, acc, 3 * ps + ao + 1 * LANES)).intoArray(acc, 3 * ps + ao + 1 * LANES);
            s3.fma(a32, FloatVector.fromArray(F, acc, 3 * ps + ao + 2 * LANES)).intoArray(acc, 3 * ps + ao + 2 * LANES);
            s3.fma(a33, FloatVector.fromArray(F, acc, 3 * ps + ao + 3 * LANES)).intoArray(acc, 3 * ps + ao + 3 * LANES);
        }
    }

    /** {@link #tile4x1} for quantized weights. */
    private static void tile4x1Blocks(float[] wb, int kc, float[] x, int x0, float[] acc, int ao, int ps, float[] sc) {
        for (int k0 = 0; k0 < kc; k0 += 32) {
            FloatVector a00 = FloatVector.zero(F);
            FloatVector a10 = FloatVector.zero(F);
            FloatVector a20 = FloatVector.zero(F);
            FloatVector a30 = FloatVector.zero(F);
            for (int k = k0; k < k0 + 32; k++) {
                FloatVector w0 = FloatVector.fromArray(F, wb, k * LANES);
                FloatVector w1 = FloatVector.fromArray(F, wb, 1 * PANEL_FLOATS + k * LANES);
                FloatVector w2 = FloatVector.fromArray(F, wb, 2 * PANEL_FLOATS + k * LANES);
                FloatVector w3 = FloatVector.fromArray(F, wb, 3 * PANEL_FLOATS + k * LANES);
                FloatVector v0 = FloatVector.broadcast(F, x[x0 + k]);
                a00 = w0.fma(v0, a00);
                a10 = w1.fma(v0, a10);
                a20 = w2.fma(v0, a20);
                a30 = w3.fma(v0, a30);
            }
            int s = k0 / 32 * GROUP * LANES;
            FloatVector s0 = FloatVector.fromArray(F, sc, s);
            FloatVector s1 = FloatVector.fromArray(F, sc, s + 1 * LANES);
            FloatVector s2 = FloatVector.fromArray(F, sc, s + 2 * LANES);
            FloatVector s3 = FloatVector.fromArray(F, sc, s + 3 * LANES);
            s0.fma(a00, FloatVector.fromArray(F, acc, ao)).intoArray(acc, ao);
            s1.fma(a10, FloatVector.fromArray(F, acc, 1 * ps + ao)).intoArray(acc, 1 * ps + ao);
            s2.fma(a20, FloatVector.fromArray(F, acc, 2 * ps + ao)).intoArray(acc, 2 * ps + ao);
            s3.fma(a30, FloatVector.fromArray(F, acc, 3 * ps + ao)).intoArray(acc, 3 * ps + ao);
        }
    }

    // ---------------------------------------------------------------- decoding

    /**
     * Decodes the group's chunk of {@code kc} columns at {@code off} into {@code weights[panel][k][16]}; quantized
     * weights as their integers, with their scales into {@code scales[block][panel][16]}.
     */
    private static void decode(Matrix w, long group, int k0, int kc, Scratch scratch) {
        MemorySegment seg = w.data();
        DType dtype = w.dtype();
        long panel = Panels.panelBytes(dtype, w.cols());
        float[] wb = scratch.weights;
        switch (dtype) {
            case F32 -> {
                for (int p = 0; p < GROUP; p++) {
                    MemorySegment.copy(
                            seg, Elements.FLOAT_LE, group + p * panel + k0 * 64L, wb, p * PANEL_FLOATS, kc * LANES);
                }
            }
            case F16 -> {
                for (int p = 0; p < GROUP; p++) {
                    for (int k = 0; k < kc; k++) {
                        f16((IntVector) ShortVector.fromMemorySegment(
                                                S, seg, group + p * panel + (k0 + k) * 32L, ByteOrder.LITTLE_ENDIAN)
                                        .convertShape(VectorOperators.S2I, I, 0))
                                .intoArray(wb, p * PANEL_FLOATS + k * LANES);
                    }
                }
            }
            case BF16 -> decodeBf16(seg, group, panel, k0, kc, wb);
            case Q8_0, Q4_0 -> {
                for (int k = 0; k < kc; k += 32) {
                    long block = group + (long) ((k0 + k) / 32) * Panels.blockBytes(dtype);
                    segmentScales(seg, block, panel, scratch.scales, k / 32 * GROUP * LANES);
                    if (dtype == DType.Q8_0) {
                        decodeQ8(seg, block + Panels.SCALE_BYTES, panel, wb, k * LANES);
                    } else {
                        decodeQ4(seg, block + Panels.SCALE_BYTES, panel, wb, k * LANES);
                    }
                }
            }
        }
    }

    /** Columns {@code [k0, k0+kc)} of the group's four BF16 panels, widened straight from the weights' memory. */
    private static void decodeBf16(MemorySegment seg, long group, long panel, int k0, int kc, float[] wb) {
        for (int k = 0; k < kc; k++) {
            long at = group + (k0 + k) * 2L * LANES;
            bf16(seg, at).intoArray(wb, k * LANES);
            bf16(seg, at + panel).intoArray(wb, PANEL_FLOATS + k * LANES);
            bf16(seg, at + 2 * panel).intoArray(wb, 2 * PANEL_FLOATS + k * LANES);
            bf16(seg, at + 3 * panel).intoArray(wb, 3 * PANEL_FLOATS + k * LANES);
        }
    }

    /** The 32 integers of one block of the group's four Q8_0 panels, widened straight from the weights' memory. */
    private static void decodeQ8(MemorySegment seg, long q, long panel, float[] wb, int d) {
        for (int i = 0; i < 32; i++) {
            long at = q + i * (long) LANES;
            q8(seg, at).intoArray(wb, d + i * LANES);
            q8(seg, at + panel).intoArray(wb, PANEL_FLOATS + d + i * LANES);
            q8(seg, at + 2 * panel).intoArray(wb, 2 * PANEL_FLOATS + d + i * LANES);
            q8(seg, at + 3 * panel).intoArray(wb, 3 * PANEL_FLOATS + d + i * LANES);
        }
    }

    /** The 32 integers of one block of the group's four Q4_0 panels ({@code nibble - 8}), widened in place. */
    private static void decodeQ4(MemorySegment seg, long q, long panel, float[] wb, int d) {
        for (int i = 0; i < 16; i++) {
            long at = q + i * (long) LANES;
            for (int p = 0; p < GROUP; p++) {
                IntVector packed =
                        (IntVector) ByteVector.fromMemorySegment(B, seg, at + p * panel, ByteOrder.LITTLE_ENDIAN)
                                .convertShape(VectorOperators.B2I, I, 0);
                // Sign extension of the byte does not reach its low 8 bits, so the masks give both nibbles.
                ((FloatVector) packed.and(0x0f).sub(8).convert(VectorOperators.I2F, 0))
                        .intoArray(wb, p * PANEL_FLOATS + d + i * LANES);
                ((FloatVector) packed.lanewise(VectorOperators.ASHR, 4)
                                .and(0x0f)
                                .sub(8)
                                .convert(VectorOperators.I2F, 0))
                        .intoArray(wb, p * PANEL_FLOATS + d + (i + 16) * LANES);
            }
        }
    }

    /** BF16 bits (in the low 16 bits of each lane) widened to floats: a BF16 is the top half of a float. */
    private static FloatVector bf16(IntVector bits) {
        return bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /**
     * F16 bits (in the low 16 bits of each lane) widened exactly to floats: the exponent and mantissa bits shifted into
     * float position and scaled by 2^112 rebias normals and subnormals alike; infinities and NaNs get the float's
     * all-ones exponent.
     */
    static FloatVector f16(IntVector h) {
        IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        IntVector mag = h.and(0x7fff);
        IntVector shifted = mag.lanewise(VectorOperators.LSHL, 13);
        FloatVector finite = shifted.reinterpretAsFloats().mul(0x1p112f);
        VectorMask<Integer> special = mag.compare(VectorOperators.GE, 0x7c00);
        IntVector bits = finite.reinterpretAsInts().blend(shifted.or(0x7f800000), special);
        return bits.or(sign).reinterpretAsFloats();
    }
}
