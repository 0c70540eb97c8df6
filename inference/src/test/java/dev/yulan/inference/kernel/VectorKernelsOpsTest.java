package dev.yulan.inference.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.yulan.inference.tensor.DType;
import dev.yulan.inference.tensor.Elements;
import dev.yulan.inference.tensor.Matrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicIntegerArray;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class VectorKernelsOpsTest {

    private static final int[] SIZES = {1, 7, 8, 16, 31, 64, 100, 172, 1952};
    private static final DType[] KV_TYPES = {DType.F32, DType.F16, DType.BF16};

    private static Kernels vector;
    private static Kernels scalar;

    @BeforeAll
    static void start() {
        vector = Kernels.create(2);
        scalar = Kernels.scalar();
    }

    @AfterAll
    static void stop() {
        vector.close();
        scalar.close();
    }

    @Test
    void laneSumsFollowTheFixedPairwiseTree() {
        // Lanes of mixed magnitudes, so that any other summation order would round differently.
        SplittableRandom random = new SplittableRandom(9);
        int lanes = VectorKernels.L;
        for (int trial = 0; trial < 1000; trial++) {
            float[] values = new float[lanes];
            for (int i = 0; i < lanes; i++) {
                values[i] = (float) (random.nextDouble(-1, 1) * Math.pow(10, random.nextInt(-4, 5)));
            }
            float[] tree = values.clone();
            for (int width = lanes / 2; width >= 1; width /= 2) {
                for (int i = 0; i < width; i++) {
                    tree[i] += tree[i + width];
                }
            }
            assertThat(VectorKernels.sum(FloatVector.fromArray(VectorKernels.F, values, 0)))
                    .as("trial %d", trial)
                    .isEqualTo(tree[0]);
        }
    }

    private static void assertClose(float[] actual, float[] expected, float relative, String what) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i])
                    .as("%s at %d", what, i)
                    .isCloseTo(expected[i], within(relative * Math.max(1f, Math.abs(expected[i]))));
        }
    }

    @Test
    void rmsnormMatchesScalarAtOffsetsAndInPlace() {
        SplittableRandom random = new SplittableRandom(4);
        for (int n : SIZES) {
            float[] x = RandomData.floats(random, n + 5);
            float[] weight = RandomData.floats(random, n);
            float[] expected = new float[n + 3];
            float[] actual = new float[n + 3];
            scalar.rmsnorm(expected, 3, x, 5, weight, n, 1e-5f);
            vector.rmsnorm(actual, 3, x, 5, weight, n, 1e-5f);
            assertClose(actual, expected, 1e-5f, "rmsnorm " + n);
            float[] inPlace = x.clone();
            vector.rmsnorm(inPlace, 5, inPlace, 5, weight, n, 1e-5f);
            assertClose(
                    Arrays.copyOfRange(inPlace, 5, n + 5), Arrays.copyOfRange(expected, 3, n + 3), 1e-5f, "in place");
        }
    }

    @Test
    void softmaxMatchesScalarAndSumsToOne() {
        SplittableRandom random = new SplittableRandom(5);
        for (int n : SIZES) {
            float[] x = RandomData.floats(random, n + 2);
            for (int i = 0; i < x.length; i++) {
                x[i] *= 20;
            }
            float[] expected = x.clone();
            float[] actual = x.clone();
            scalar.softmax(expected, 2, n);
            vector.softmax(actual, 2, n);
            assertClose(actual, expected, 1e-6f, "softmax " + n);
            assertThat(actual[0]).isEqualTo(x[0]);
        }
    }

    @Test
    void swigluAndAddMatchScalar() {
        SplittableRandom random = new SplittableRandom(6);
        for (int n : SIZES) {
            float[] gate = RandomData.floats(random, n + 1);
            float[] up = RandomData.floats(random, n + 4);
            float[] expected = gate.clone();
            float[] actual = gate.clone();
            scalar.swiglu(expected, 1, up, 4, n);
            vector.swiglu(actual, 1, up, 4, n);
            assertClose(actual, expected, 1e-6f, "swiglu " + n);
            scalar.add(expected, 1, up, 4, n);
            vector.add(actual, 1, up, 4, n);
            assertClose(actual, expected, 1e-6f, "add " + n);
        }
    }

    @Test
    void ropeMatchesScalarForSeveralHeadSizes() {
        SplittableRandom random = new SplittableRandom(7);
        for (int headDim : new int[] {8, 16, 32, 64, 96, 128}) {
            int heads = 3;
            float[] x = RandomData.floats(random, 2 + heads * headDim);
            float[] cos = RandomData.floats(random, 1 + headDim / 2);
            float[] sin = RandomData.floats(random, 1 + headDim / 2);
            float[] expected = x.clone();
            float[] actual = x.clone();
            scalar.rope(expected, 2, heads, headDim, cos, sin, 1);
            vector.rope(actual, 2, heads, headDim, cos, sin, 1);
            assertClose(actual, expected, 1e-6f, "rope " + headDim);
        }
    }

    @Test
    void storeMatchesScalarForEveryKvTypeContiguousAndStrided() {
        SplittableRandom random = new SplittableRandom(8);
        try (Arena arena = Arena.ofShared()) {
            for (DType dtype : KV_TYPES) {
                for (int n : SIZES) {
                    float[] values = RandomData.floats(random, n + 1);
                    long off = 6;
                    MemorySegment expectedKv = arena.allocate(off + 4L * n + 16L * 4 * n);
                    MemorySegment actualKv = arena.allocate(off + 4L * n + 16L * 4 * n);
                    scalar.store(expectedKv, off, dtype, values, 1, n);
                    vector.store(actualKv, off, dtype, values, 1, n);
                    scalar.store(expectedKv, off + 4L * n, 16L * Elements.bytes(dtype), dtype, values, 0, n);
                    vector.store(actualKv, off + 4L * n, 16L * Elements.bytes(dtype), dtype, values, 0, n);
                    assertThat(actualKv.toArray(ValueLayout.JAVA_BYTE))
                            .as("%s store %d", dtype, n)
                            .containsExactly(expectedKv.toArray(ValueLayout.JAVA_BYTE));
                }
            }
        }
    }

    @Test
    void blockAttentionIsBitIdenticalToTheScalarSpecification() {
        // A KV block of 16 slots: keys transposed ([dim][slot]) then values ([slot][dim]), for every KV type, head
        // size,
        // group size and number of filled slots (a sequence's last block is partial; its other slots hold garbage).
        SplittableRandom random = new SplittableRandom(13);
        int blockTokens = 16;
        try (Arena arena = Arena.ofShared()) {
            for (DType dtype : KV_TYPES) {
                for (int headDim : new int[] {8, 64, 96}) {
                    for (int heads : new int[] {1, 2, 5}) {
                        for (int slots : new int[] {1, 7, 16}) {
                            int es = Elements.bytes(dtype);
                            long keyAt = 10L * es;
                            long valueAt = keyAt + (long) headDim * blockTokens * es;
                            MemorySegment kv = arena.allocate(valueAt + (long) headDim * blockTokens * es);
                            float[] all = RandomData.floats(random, 2 * headDim * blockTokens);
                            scalar.store(kv, keyAt, dtype, all, 0, all.length);
                            float[] q = RandomData.floats(random, 3 + heads * headDim);
                            int stride = 20;
                            float[] expected = new float[heads * stride];
                            float[] actual = new float[heads * stride];
                            scalar.keyScores(
                                    q, 3, heads, headDim, kv, keyAt, dtype, slots, blockTokens, expected, 2, stride);
                            vector.keyScores(
                                    q, 3, heads, headDim, kv, keyAt, dtype, slots, blockTokens, actual, 2, stride);
                            assertThat(actual)
                                    .as("%s scores d=%d heads=%d slots=%d", dtype, headDim, heads, slots)
                                    .containsExactly(expected);

                            float[] p = RandomData.floats(random, 1 + heads * stride);
                            float[] expectedOut = RandomData.floats(random, 4 + heads * headDim);
                            float[] actualOut = expectedOut.clone();
                            scalar.valueSum(expectedOut, 4, heads, headDim, p, 1, stride, kv, valueAt, dtype, slots);
                            vector.valueSum(actualOut, 4, heads, headDim, p, 1, stride, kv, valueAt, dtype, slots);
                            assertThat(actualOut)
                                    .as("%s values d=%d heads=%d slots=%d", dtype, headDim, heads, slots)
                                    .containsExactly(expectedOut);
                        }
                    }
                }
            }
        }
    }

    @Test
    void bf16StoreRoundsTiesToEvenAndKeepsSpecialValues() {
        float[] values = new float[32];
        for (int i = 0; i < values.length; i++) {
            // Exact ties between two BF16 values, both parities, plus specials.
            values[i] = Float.intBitsToFloat(0x3f800000 + (i << 16) + 0x8000);
        }
        values[3] = Float.NaN;
        values[4] = Float.POSITIVE_INFINITY;
        values[5] = -0f;
        values[6] = Float.MIN_VALUE;
        values[7] = Float.MAX_VALUE;
        values[8] = Float.intBitsToFloat(0x7fc00001);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment kv = arena.allocate(64);
            vector.store(kv, 0, DType.BF16, values, 0, 32);
            for (int i = 0; i < 32; i++) {
                assertThat(kv.get(Elements.SHORT_LE, 2L * i))
                        .as("element %d", i)
                        .isEqualTo(Elements.floatToBf16(values[i]));
            }
        }
    }

    @Test
    void f16DecodingIsExactForSubnormalsInfinitiesAndNans() {
        try (Arena arena = Arena.ofShared()) {
            int count = 1 << 16;
            MemorySegment all = arena.allocate(2L * count);
            for (int i = 0; i < count; i++) {
                all.set(Elements.SHORT_LE, 2L * i, (short) i);
            }
            Matrix w = new Matrix(DType.F16, 1, count, all);
            float[] decoded = new float[count];
            vector.row(w, 0, decoded, 0);
            for (int i = 0; i < count; i++) {
                float expected = Elements.f16ToFloat((short) i);
                if (Float.isNaN(expected)) {
                    assertThat(decoded[i]).as("f16 %04x", i).isNaN();
                } else {
                    assertThat(Float.floatToRawIntBits(decoded[i]))
                            .as("f16 %04x", i)
                            .isEqualTo(Float.floatToRawIntBits(expected));
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void rowDecodesExactlyLikeTheScalarReference(DType dtype) {
        SplittableRandom random = new SplittableRandom(9);
        try (Arena arena = Arena.ofShared()) {
            for (int cols : dtype.isQuantized() ? new int[] {32, 96, 1952} : new int[] {1, 8, 17, 172, 1952}) {
                Matrix w = RandomData.rowMajor(arena, random, dtype, 3, cols);
                for (int r = 0; r < 3; r++) {
                    float[] expected = new float[cols + 1];
                    float[] actual = new float[cols + 1];
                    scalar.row(w, r, expected, 1);
                    vector.row(w, r, actual, 1);
                    assertThat(actual).as("%s %d cols row %d", dtype, cols, r).containsExactly(expected);
                }
            }
        }
    }

    @Test
    void parallelForRunsEveryIndexOnceIncludingNestedCalls() {
        int count = 1000;
        AtomicIntegerArray runs = new AtomicIntegerArray(count);
        vector.parallelFor(count, i -> {
            runs.incrementAndGet(i);
            if (i % 100 == 0) {
                vector.parallelFor(3, j -> runs.addAndGet(i, 10));
            }
        });
        for (int i = 0; i < count; i++) {
            assertThat(runs.get(i)).as("index %d", i).isEqualTo(i % 100 == 0 ? 31 : 1);
        }
    }

    @Test
    void matmulInsideParallelForMatchesADirectCall() {
        SplittableRandom random = new SplittableRandom(10);
        try (Arena arena = Arena.ofShared()) {
            Matrix w = RandomData.matrix(arena, random, DType.BF16, 9, 40);
            float[] x = RandomData.floats(random, 3 * 40);
            float[] direct = new float[3 * 9];
            vector.matmul(w, x, direct, 3);
            float[][] nested = new float[4][3 * 9];
            vector.parallelFor(4, i -> vector.matmul(w, x, nested[i], 3));
            for (float[] out : nested) {
                assertThat(out).containsExactly(direct);
            }
        }
    }

    @Test
    void parallelForPropagatesATaskFailure() {
        assertThatThrownBy(() -> vector.parallelFor(50, i -> {
                    if (i == 37) {
                        throw new IllegalStateException("task 37 failed");
                    }
                }))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("task 37 failed");
        int[] after = new int[10];
        vector.parallelFor(10, i -> after[i] = i + 1);
        assertThat(after).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
    }

    @Test
    void machineLimitsMeasurePositiveNumbers() {
        assertThat(MachineLimits.measureReadBandwidth(vector, 64L << 20, 1)).isPositive();
        assertThat(MachineLimits.measureFmaPeak(vector)).isPositive();
    }
}
