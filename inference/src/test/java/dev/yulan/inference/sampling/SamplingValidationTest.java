package dev.yulan.inference.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatNoException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.yulan.inference.engine.InvalidRequestException;
import dev.yulan.inference.engine.SamplingParams;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class SamplingValidationTest {
    private static final int VOCAB = 1000;

    private static SamplingParams with(
            float temperature, int topK, float topP, float minP, float repetition, float presence, float frequency) {
        return new SamplingParams(
                temperature, topK, topP, minP, repetition, presence, frequency, null, 16, List.of(), List.of(), false);
    }

    private static String problem(SamplingParams params) {
        return SamplingValidation.problem(params, VOCAB).orElse("valid");
    }

    @Test
    void acceptsTypicalParameters() {
        assertThat(problem(SamplingParams.greedy(1))).isEqualTo("valid");
        assertThat(problem(with(0.7f, 40, 0.9f, 0.05f, 1.1f, -2f, 2f))).isEqualTo("valid");
        assertThat(problem(with(100f, 5000, 1f, 1f, 0.5f, 0f, 0f))).isEqualTo("valid");
        assertThatNoException().isThrownBy(() -> SamplingValidation.requireValid(SamplingParams.greedy(5), VOCAB));
    }

    @Test
    void namesTheOutOfRangeValue() {
        assertThat(problem(with(-0.1f, 0, 1f, 0f, 1f, 0f, 0f)))
                .isEqualTo("temperature must be between 0 and 100, got -0.1");
        assertThat(problem(with(100.5f, 0, 1f, 0f, 1f, 0f, 0f)))
                .isEqualTo("temperature must be between 0 and 100, got 100.5");
        assertThat(problem(with(Float.NaN, 0, 1f, 0f, 1f, 0f, 0f)))
                .isEqualTo("temperature must be between 0 and 100, got NaN");
        assertThat(problem(with(1f, -1, 1f, 0f, 1f, 0f, 0f)))
                .isEqualTo("top_k must be 0 (disabled) or positive, got -1");
        assertThat(problem(with(1f, 0, 0f, 0f, 1f, 0f, 0f))).isEqualTo("top_p must be in (0, 1], got 0.0");
        assertThat(problem(with(1f, 0, 1.01f, 0f, 1f, 0f, 0f))).isEqualTo("top_p must be in (0, 1], got 1.01");
        assertThat(problem(with(1f, 0, Float.NaN, 0f, 1f, 0f, 0f))).isEqualTo("top_p must be in (0, 1], got NaN");
        assertThat(problem(with(1f, 0, 1f, -0.5f, 1f, 0f, 0f))).isEqualTo("min_p must be in [0, 1], got -0.5");
        assertThat(problem(with(1f, 0, 1f, 2f, 1f, 0f, 0f))).isEqualTo("min_p must be in [0, 1], got 2.0");
        assertThat(problem(with(1f, 0, 1f, 0f, 0f, 0f, 0f)))
                .isEqualTo("repetition_penalty must be positive and finite, got 0.0");
        assertThat(problem(with(1f, 0, 1f, 0f, Float.POSITIVE_INFINITY, 0f, 0f)))
                .isEqualTo("repetition_penalty must be positive and finite, got Infinity");
        assertThat(problem(with(1f, 0, 1f, 0f, 1f, 2.5f, 0f)))
                .isEqualTo("presence_penalty must be between -2 and 2, got 2.5");
        assertThat(problem(with(1f, 0, 1f, 0f, 1f, 0f, -3f)))
                .isEqualTo("frequency_penalty must be between -2 and 2, got -3.0");
        assertThat(problem(with(1f, 0, 1f, 0f, 1f, 0f, Float.NaN)))
                .isEqualTo("frequency_penalty must be between -2 and 2, got NaN");
    }

    @Test
    void checksLengthAndStopConditions() {
        assertThat(problem(SamplingParams.greedy(0))).isEqualTo("max_tokens must be at least 1, got 0");
        assertThat(problem(stops(List.of("a", ""), List.of()))).isEqualTo("stop strings must not be empty");
        assertThat(problem(stops(Collections.nCopies(17, "x"), List.of())))
                .isEqualTo("at most 16 stop strings are allowed, got 17");
        assertThat(problem(stops(List.of("x".repeat(1001)), List.of())))
                .isEqualTo("stop strings must be at most 1000 characters, got one of 1001");
        assertThat(problem(stops(List.of(), List.of(5, -1))))
                .isEqualTo("stop token id -1 is outside the vocabulary [0, 1000)");
        assertThat(problem(stops(List.of(), List.of(1000))))
                .isEqualTo("stop token id 1000 is outside the vocabulary [0, 1000)");
        assertThat(problem(stops(Collections.nCopies(16, "x"), List.of(0, 999))))
                .isEqualTo("valid");
    }

    @Test
    void requireValidThrowsTheReason() {
        assertThatThrownBy(() -> SamplingValidation.requireValid(with(1f, 0, 1f, 0f, -1f, 0f, 0f), VOCAB))
                .isInstanceOf(InvalidRequestException.class)
                .hasMessage("repetition_penalty must be positive and finite, got -1.0");
    }

    private static SamplingParams stops(List<String> stop, List<Integer> ids) {
        return new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 0f, null, 16, stop, ids, false);
    }
}
