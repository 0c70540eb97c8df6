package dev.yulan.inference.sampling;

import dev.yulan.inference.engine.InvalidRequestException;
import dev.yulan.inference.engine.SamplingParams;
import java.util.Optional;

/** Range checks of {@link SamplingParams}, each failure a one-line reason fit for a dead-letter record. */
public final class SamplingValidation {
    public static final float MAX_TEMPERATURE = 100f;
    public static final float MAX_ABS_PRESENCE_OR_FREQUENCY = 2f;
    public static final int MAX_STOP_STRINGS = 16;
    public static final int MAX_STOP_STRING_LENGTH = 1000;

    private SamplingValidation() {}

    /** Throws {@link InvalidRequestException} with the first problem, if any. */
    public static void requireValid(SamplingParams params, int vocab) {
        Optional<String> problem = problem(params, vocab);
        if (problem.isPresent()) {
            throw new InvalidRequestException(problem.get());
        }
    }

    /**
     * The first out-of-range value, as a one-line reason; empty when the parameters are valid. {@code vocab} bounds the
     * stop token ids.
     */
    public static Optional<String> problem(SamplingParams p, int vocab) {
        if (!(p.temperature() >= 0f && p.temperature() <= MAX_TEMPERATURE)) {
            return reason("temperature must be between 0 and " + (int) MAX_TEMPERATURE + ", got " + p.temperature());
        }
        if (p.topK() < 0) {
            return reason("top_k must be 0 (disabled) or positive, got " + p.topK());
        }
        if (!(p.topP() > 0f && p.topP() <= 1f)) {
            return reason("top_p must be in (0, 1], got " + p.topP());
        }
        if (!(p.minP() >= 0f && p.minP() <= 1f)) {
            return reason("min_p must be in [0, 1], got " + p.minP());
        }
        if (!(p.repetitionPenalty() > 0f && p.repetitionPenalty() < Float.POSITIVE_INFINITY)) {
            return reason("repetition_penalty must be positive and finite, got " + p.repetitionPenalty());
        }
        if (!inPenaltyRange(p.presencePenalty())) {
            return reason("presence_penalty must be between -2 and 2, got " + p.presencePenalty());
        }
        if (!inPenaltyRange(p.frequencyPenalty())) {
            return reason("frequency_penalty must be between -2 and 2, got " + p.frequencyPenalty());
        }
        if (p.maxTokens() < 1) {
            return reason("max_tokens must be at least 1, got " + p.maxTokens());
        }
        if (p.stop().size() > MAX_STOP_STRINGS) {
            return reason("at most " + MAX_STOP_STRINGS + " stop strings are allowed, got "
                    + p.stop().size());
        }
        for (String stop : p.stop()) {
            if (stop.isEmpty()) {
                return reason("stop strings must not be empty");
            }
            if (stop.length() > MAX_STOP_STRING_LENGTH) {
                return reason("stop strings must be at most " + MAX_STOP_STRING_LENGTH + " characters, got one of "
                        + stop.length());
            }
        }
        for (int id : p.stopTokenIds()) {
            if (id < 0 || id >= vocab) {
                return reason("stop token id " + id + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        return Optional.empty();
    }

    private static boolean inPenaltyRange(float value) {
        return value >= -MAX_ABS_PRESENCE_OR_FREQUENCY && value <= MAX_ABS_PRESENCE_OR_FREQUENCY;
    }

    private static Optional<String> reason(String reason) {
        return Optional.of(reason);
    }
}
