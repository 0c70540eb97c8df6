package dev.yulan.inference.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Quantize-at-load: converts a matrix of any plain dtype to Q8_0 or Q4_0 (GGUF's rounding rules). */
public final class Quantizer {

    private Quantizer() {}

    /** A copy of {@code source} in {@code target} (Q8_0 or Q4_0), allocated in {@code arena}. */
    public static Matrix quantize(Matrix source, DType target, Arena arena) {
        if (!target.isQuantized()) {
            throw new IllegalArgumentException("quantize to Q8_0 or Q4_0, not " + target);
        }
        if (source.cols() % target.blockSize() != 0) {
            throw new IllegalArgumentException("cannot quantize to " + target + ": " + source.cols()
                    + " columns is not a multiple of " + target.blockSize());
        }
        long rowBytes = target.bytesFor(source.cols());
        MemorySegment out = arena.allocate(rowBytes * source.rows(), 64);
        float[] block = new float[32];
        for (int r = 0; r < source.rows(); r++) {
            long srcRow = r * source.rowBytes();
            for (int b = 0; b < source.cols() / 32; b++) {
                for (int i = 0; i < 32; i++) {
                    block[i] = Elements.get(source.data(), srcRow, source.dtype(), b * 32 + i);
                }
                long dst = r * rowBytes + (long) b * target.blockBytes();
                if (target == DType.Q8_0) {
                    writeQ8Block(out, dst, block);
                } else {
                    writeQ4Block(out, dst, block);
                }
            }
        }
        return new Matrix(target, source.rows(), source.cols(), out);
    }

    /** Q8_0: scale = max|x| / 127, q = round(x / scale). */
    static void writeQ8Block(MemorySegment out, long off, float[] x) {
        float amax = 0f;
        for (float v : x) {
            amax = Math.max(amax, Math.abs(v));
        }
        float scale = amax / 127f;
        float inv = scale != 0f ? 1f / scale : 0f;
        out.set(Elements.SHORT_LE, off, Elements.floatToF16(scale));
        for (int i = 0; i < 32; i++) {
            out.set(ValueLayout.JAVA_BYTE, off + 2 + i, (byte) Math.round(x[i] * inv));
        }
    }

    /** Q4_0: scale = (the value of largest magnitude) / -8, nibble = clamp(round(x / scale) + 8, 0, 15). */
    static void writeQ4Block(MemorySegment out, long off, float[] x) {
        float amax = 0f;
        float max = 0f;
        for (float v : x) {
            if (Math.abs(v) > amax) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float scale = max / -8f;
        float inv = scale != 0f ? 1f / scale : 0f;
        out.set(Elements.SHORT_LE, off, Elements.floatToF16(scale));
        for (int i = 0; i < 16; i++) {
            int lo = Math.min(15, (int) (x[i] * inv + 8.5f));
            int hi = Math.min(15, (int) (x[i + 16] * inv + 8.5f));
            out.set(ValueLayout.JAVA_BYTE, off + 2 + i, (byte) (lo | (hi << 4)));
        }
    }
}
