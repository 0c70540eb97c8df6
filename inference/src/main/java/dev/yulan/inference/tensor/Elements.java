package dev.yulan.inference.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Scalar reads and writes of single elements of every {@link DType}; the reference the fast kernels are tested against. */
public final class Elements {

    public static final ValueLayout.OfShort SHORT_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfFloat FLOAT_LE =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Elements() {}

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** Rounds to the nearest BF16, ties to even; NaN stays NaN. */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    public static float f16ToFloat(short bits) {
        return Float.float16ToFloat(bits);
    }

    public static short floatToF16(float value) {
        return Float.floatToFloat16(value);
    }

    /** Bytes of one element of a plain dtype. */
    public static int bytes(DType dtype) {
        return switch (dtype) {
            case F32 -> 4;
            case F16, BF16 -> 2;
            default -> throw new IllegalArgumentException(dtype + " has no single-element size");
        };
    }

    /** Element {@code index} of a row of {@code dtype} that starts at {@code rowOff} bytes into {@code data}. */
    public static float get(MemorySegment data, long rowOff, DType dtype, int index) {
        return switch (dtype) {
            case F32 -> data.get(FLOAT_LE, rowOff + 4L * index);
            case F16 -> f16ToFloat(data.get(SHORT_LE, rowOff + 2L * index));
            case BF16 -> bf16ToFloat(data.get(SHORT_LE, rowOff + 2L * index));
            case Q8_0 -> {
                long block = rowOff + (long) (index / 32) * 34;
                float scale = f16ToFloat(data.get(SHORT_LE, block));
                yield scale * data.get(ValueLayout.JAVA_BYTE, block + 2 + index % 32);
            }
            case Q4_0 -> {
                long block = rowOff + (long) (index / 32) * 18;
                float scale = f16ToFloat(data.get(SHORT_LE, block));
                int within = index % 32;
                int packed = data.get(ValueLayout.JAVA_BYTE, block + 2 + within % 16) & 0xff;
                int nibble = within < 16 ? packed & 0x0f : packed >>> 4;
                yield scale * (nibble - 8);
            }
        };
    }

    /** The integer of element {@code index} of a quantized row (Q8_0's byte, Q4_0's {@code nibble - 8}). */
    public static int quant(MemorySegment data, long rowOff, DType dtype, int index) {
        long block = rowOff + (long) (index / 32) * dtype.blockBytes();
        return switch (dtype) {
            case Q8_0 -> data.get(ValueLayout.JAVA_BYTE, block + 2 + index % 32);
            case Q4_0 -> {
                int within = index % 32;
                int packed = data.get(ValueLayout.JAVA_BYTE, block + 2 + within % 16) & 0xff;
                yield (within < 16 ? packed & 0x0f : packed >>> 4) - 8;
            }
            default -> throw new IllegalArgumentException(dtype + " is not quantized");
        };
    }

    /** Writes element {@code index} of a row of a plain (unquantized) {@code dtype}. */
    public static void set(MemorySegment data, long rowOff, DType dtype, int index, float value) {
        switch (dtype) {
            case F32 -> data.set(FLOAT_LE, rowOff + 4L * index, value);
            case F16 -> data.set(SHORT_LE, rowOff + 2L * index, floatToF16(value));
            case BF16 -> data.set(SHORT_LE, rowOff + 2L * index, floatToBf16(value));
            default -> throw new IllegalArgumentException("element-wise writes need a plain dtype, not " + dtype);
        }
    }
}
