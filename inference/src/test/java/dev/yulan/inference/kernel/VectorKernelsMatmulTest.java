package dev.yulan.inference.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import dev.yulan.inference.tensor.DType;
import dev.yulan.inference.tensor.Elements;
import dev.yulan.inference.tensor.Matrix;
import dev.yulan.inference.tensor.Panels;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class VectorKernelsMatmulTest {

    private static final int[] PLAIN_COLS = {8, 17, 32, 64, 172, 1952};
    private static final int[] QUANT_COLS = {32, 64, 160, 1952};
    private static final int[] ROWS = {1, 3, 13, 64, 150};

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

    private static int[] colsFor(DType dtype) {
        return dtype.isQuantized() ? QUANT_COLS : PLAIN_COLS;
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void isBitIdenticalToTheScalarSpecificationForEveryShapeAndBatch(DType dtype) {
        SplittableRandom random = new SplittableRandom(1);
        try (Arena arena = Arena.ofShared()) {
            for (int cols : colsFor(dtype)) {
                for (int rows : ROWS) {
                    Matrix w = RandomData.matrix(arena, random, dtype, rows, cols);
                    for (int batch : new int[] {1, 2, 4, 5, 9, 19}) {
                        float[] x = RandomData.floats(random, batch * cols);
                        float[] expected = new float[batch * rows];
                        float[] actual = new float[batch * rows];
                        scalar.matmul(w, x, expected, batch);
                        vector.matmul(w, x, actual, batch);
                        assertThat(actual)
                                .as("%s %dx%d batch %d", dtype, rows, cols, batch)
                                .containsExactly(expected);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void eachSequenceIsBitIdenticalAloneAndAtAnyPositionOfAnyBatch(DType dtype) {
        SplittableRandom random = new SplittableRandom(2);
        try (Arena arena = Arena.ofShared()) {
            for (int cols : colsFor(dtype)) {
                int rows = 13;
                Matrix w = RandomData.matrix(arena, random, dtype, rows, cols);
                int batch = 19;
                float[] x = RandomData.floats(random, batch * cols);
                float[] full = new float[batch * rows];
                vector.matmul(w, x, full, batch);

                // Alone, at batch 1.
                for (int b = 0; b < batch; b++) {
                    float[] alone = new float[rows];
                    vector.matmul(w, Arrays.copyOfRange(x, b * cols, (b + 1) * cols), alone, 1);
                    assertThat(alone)
                            .as("%s cols %d sequence %d alone", dtype, cols, b)
                            .containsExactly(Arrays.copyOfRange(full, b * rows, (b + 1) * rows));
                }
                // Reversed order, and every prefix of the batch.
                float[] reversedX = new float[batch * cols];
                for (int b = 0; b < batch; b++) {
                    System.arraycopy(x, b * cols, reversedX, (batch - 1 - b) * cols, cols);
                }
                float[] reversed = new float[batch * rows];
                vector.matmul(w, reversedX, reversed, batch);
                for (int b = 0; b < batch; b++) {
                    assertThat(Arrays.copyOfRange(reversed, (batch - 1 - b) * rows, (batch - b) * rows))
                            .as("%s cols %d sequence %d reversed", dtype, cols, b)
                            .containsExactly(Arrays.copyOfRange(full, b * rows, (b + 1) * rows));
                }
                for (int prefix = 1; prefix < batch; prefix++) {
                    float[] part = new float[prefix * rows];
                    vector.matmul(w, x, part, prefix);
                    assertThat(part)
                            .as("%s cols %d prefix %d", dtype, cols, prefix)
                            .containsExactly(Arrays.copyOf(full, prefix * rows));
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(
            value = DType.class,
            names = {"Q8_0", "Q4_0"})
    void blockScalesOfEveryKindMatchTheScalarSpecificationAtBatchOneAndAbove(DType dtype) {
        // Zero, negative zero, the smallest and largest subnormal, negative subnormal, the largest finite, infinity
        // (a quantized weight beyond F16's range) and NaN: F16 scales the vector code must widen exactly.
        short[] special = {
            0x0000, (short) 0x8000, 0x0001, 0x03ff, (short) 0x8001, 0x7bff, 0x7c00, (short) 0xfc00, 0x7e00
        };
        SplittableRandom random = new SplittableRandom(12);
        try (Arena arena = Arena.ofShared()) {
            int rows = 20;
            int cols = 32 * special.length;
            Matrix source = RandomData.rowMajor(arena, random, dtype, rows, cols);
            for (int r = 0; r < rows; r++) {
                for (int b = 0; b < special.length; b++) {
                    long at = r * source.rowBytes() + (long) b * dtype.blockBytes();
                    source.data().set(Elements.SHORT_LE, at, special[(b + r) % special.length]);
                }
            }
            Matrix w = Panels.pack(source, arena);
            for (int batch : new int[] {1, 2, 7}) {
                float[] x = RandomData.floats(random, batch * cols);
                float[] expected = new float[batch * rows];
                float[] actual = new float[batch * rows];
                scalar.matmul(w, x, expected, batch);
                vector.matmul(w, x, actual, batch);
                assertThat(actual).as("%s batch %d", dtype, batch).containsExactly(expected);
            }
        }
    }

    @Test
    void staysBitIdenticalOnceTheJitHasCompiledTheKernels() {
        // The first calls run interpreted, the later ones compiled by C2: results must not change with the tier.
        // Batch 7 runs every tile (6 + 1) and 96 columns a partial last chunk.
        SplittableRandom random = new SplittableRandom(5);
        try (Arena arena = Arena.ofShared()) {
            for (DType dtype : DType.values()) {
                int rows = 8;
                int cols = 96;
                int batch = 7;
                Matrix w = RandomData.matrix(arena, random, dtype, rows, cols);
                float[] x = RandomData.floats(random, batch * cols);
                float[][] alone = new float[batch][rows];
                for (int b = 0; b < batch; b++) {
                    vector.matmul(w, Arrays.copyOfRange(x, b * cols, (b + 1) * cols), alone[b], 1);
                }
                float[] out = new float[batch * rows];
                float[] single = new float[rows];
                for (int iteration = 0; iteration < 3000; iteration++) {
                    vector.matmul(w, x, out, batch);
                    vector.matmul(w, Arrays.copyOfRange(x, 0, cols), single, 1);
                }
                for (int b = 0; b < batch; b++) {
                    assertThat(Arrays.copyOfRange(out, b * rows, (b + 1) * rows))
                            .as("%s sequence %d", dtype, b)
                            .containsExactly(alone[b]);
                }
                assertThat(single).as("%s alone, compiled", dtype).containsExactly(alone[0]);
            }
        }
    }

    @Test
    void readsWeightsConfinedToTheCallingThread() {
        SplittableRandom random = new SplittableRandom(4);
        try (Arena arena = Arena.ofConfined()) {
            Matrix w = RandomData.matrix(arena, random, DType.Q8_0, 9, 64);
            float[] x = RandomData.floats(random, 2 * 64);
            float[] expected = new float[2 * 9];
            float[] actual = new float[2 * 9];
            scalar.matmul(w, x, expected, 2);
            vector.matmul(w, x, actual, 2);
            assertThat(actual).containsExactly(expected);
        }
    }

    @Test
    void resultsDoNotDependOnTheThreadCountOrOnBatchesLargerThanAChunk() {
        SplittableRandom random = new SplittableRandom(3);
        int batch = 71;
        try (Arena arena = Arena.ofShared()) {
            for (DType dtype : DType.values()) {
                int rows = 229; // 4 groups of 64 rows, the last partial: more workers than groups below
                int cols = 96;
                Matrix w = RandomData.matrix(arena, random, dtype, rows, cols);
                float[] x = RandomData.floats(random, batch * cols);
                float[] reference = new float[batch * rows];
                vector.matmul(w, x, reference, batch);
                for (int threads : new int[] {1, 3, 5}) {
                    try (Kernels other = Kernels.create(threads)) {
                        float[] out = new float[batch * rows];
                        other.matmul(w, x, out, batch);
                        assertThat(out).as("%s on %d threads", dtype, threads).containsExactly(reference);
                    }
                }
                float[] last = new float[rows];
                vector.matmul(w, Arrays.copyOfRange(x, (batch - 1) * cols, batch * cols), last, 1);
                assertThat(last).containsExactly(Arrays.copyOfRange(reference, (batch - 1) * rows, batch * rows));
            }
        }
    }
}
