package dev.yulan.inference.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.yulan.inference.tensor.DType;
import dev.yulan.inference.tensor.Matrix;
import dev.yulan.inference.tensor.Quantizer;
import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class QuantizerRoundTripTest {

    @Test
    void quantizedRowsDecodeCloseToTheOriginal() {
        SplittableRandom random = new SplittableRandom(11);
        try (Arena arena = Arena.ofShared();
                Kernels kernels = Kernels.create(2)) {
            Matrix source = RandomData.rowMajor(arena, random, DType.BF16, 5, 96);
            for (DType target : new DType[] {DType.Q8_0, DType.Q4_0}) {
                Matrix q = Quantizer.quantize(source, target, arena);
                // Values lie in (-1, 1): Q8_0 errs by at most half a step of max/127; Q4_0 by half a step of max/8,
                // except at the clamped end opposite the largest value (its levels run -8..7), by up to a whole step.
                float tolerance = target == DType.Q8_0 ? 0.5f / 127 + 1e-3f : 1f / 8 + 1e-3f;
                for (int r = 0; r < 5; r++) {
                    float[] original = new float[96];
                    float[] decoded = new float[96];
                    kernels.row(source, r, original, 0);
                    kernels.row(q, r, decoded, 0);
                    for (int k = 0; k < 96; k++) {
                        assertThat(decoded[k])
                                .as("%s r=%d k=%d", target, r, k)
                                .isCloseTo(original[k], within(tolerance));
                    }
                }
            }
        }
    }
}
