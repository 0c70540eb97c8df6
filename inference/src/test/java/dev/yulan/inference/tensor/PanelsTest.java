package dev.yulan.inference.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class PanelsTest {

    @ParameterizedTest
    @EnumSource(DType.class)
    void packingKeepsEveryElementScaleAndInteger(DType dtype) {
        SplittableRandom random = new SplittableRandom(3);
        int[] colsList = dtype.isQuantized() ? new int[] {32, 96, 160} : new int[] {5, 64, 100};
        try (Arena arena = Arena.ofShared()) {
            for (int cols : colsList) {
                for (int rows : new int[] {1, 17, 70}) {
                    MemorySegment data = arena.allocate(rows * dtype.bytesFor(cols));
                    for (long i = 0; i < data.byteSize(); i++) {
                        data.set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt(256));
                    }
                    if (dtype.isQuantized()) { // finite scales: clear the top exponent bit of every F16 scale
                        for (long b = 0; b < data.byteSize(); b += dtype.blockBytes()) {
                            byte high = data.get(ValueLayout.JAVA_BYTE, b + 1);
                            data.set(ValueLayout.JAVA_BYTE, b + 1, (byte) (high & 0xbf));
                        }
                    }
                    Matrix source = new Matrix(dtype, rows, cols, data);
                    Matrix packed = Panels.pack(source, arena);
                    assertThat(packed.layout()).isEqualTo(Matrix.Layout.PANELS);
                    for (int r = 0; r < rows; r++) {
                        for (int c = 0; c < cols; c++) {
                            assertThat(Float.floatToRawIntBits(packed.get(r, c)))
                                    .as("%s %dx%d (%d,%d)", dtype, rows, cols, r, c)
                                    .isEqualTo(Float.floatToRawIntBits(source.get(r, c)));
                            if (dtype.isQuantized()) {
                                assertThat(packed.quant(r, c)).isEqualTo(source.quant(r, c));
                                assertThat(packed.scale(r, c / 32)).isEqualTo(source.scale(r, c / 32));
                            }
                        }
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void packedMatricesTakeAsManyBytesAsTheirRowsPaddedToWholeGroups(DType dtype) {
        assertThat(Panels.byteSize(dtype, 100, 64)).isEqualTo(128 * dtype.bytesFor(64));
        assertThat(Panels.paddedRows(64)).isEqualTo(64);
        assertThat(Panels.paddedRows(65)).isEqualTo(128);
    }

    @Test
    void aPackedMatrixIsNotPackedAgain() {
        try (Arena arena = Arena.ofConfined()) {
            Matrix packed = Panels.pack(new Matrix(DType.BF16, 2, 4, arena.allocate(DType.BF16.bytesFor(8))), arena);
            assertThatThrownBy(() -> Panels.pack(packed, arena)).hasMessageContaining("already packed");
        }
    }
}
