package dev.yulan.inference.engine;

import java.util.List;

/**
 * How to pick tokens. Temperature 0 is greedy. {@code seed} null means "derive from the request id", so a request run
 * twice draws the same tokens. {@code topK} 0 and {@code topP}/{@code minP} at their neutral values (1 and 0) disable
 * those filters; penalties of 1 (repetition) and 0 (presence, frequency) disable them.
 */
public record SamplingParams(
        float temperature,
        int topK,
        float topP,
        float minP,
        float repetitionPenalty,
        float presencePenalty,
        float frequencyPenalty,
        Long seed,
        int maxTokens,
        List<String> stop,
        List<Integer> stopTokenIds,
        boolean logprobs) {

    public SamplingParams {
        stop = stop == null ? List.of() : List.copyOf(stop);
        stopTokenIds = stopTokenIds == null ? List.of() : List.copyOf(stopTokenIds);
    }

    public static SamplingParams greedy(int maxTokens) {
        return new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 0f, null, maxTokens, List.of(), List.of(), false);
    }
}
