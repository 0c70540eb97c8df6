package dev.yulan.inference.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.yulan.inference.engine.SamplingParams;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static final int[] NO_PROMPT = {};

    private static SamplingParams params(float temperature, int topK, float topP, float minP, Long seed) {
        return new SamplingParams(temperature, topK, topP, minP, 1f, 0f, 0f, seed, 100, List.of(), List.of(), false);
    }

    private static SamplingState state(SamplingParams params) {
        return new SamplingState(params, params.seed() == null ? 0 : params.seed(), NO_PROMPT);
    }

    private static int[] drawMany(Sampler sampler, float[] logits, SamplingState state, int steps) {
        int[] tokens = new int[steps];
        for (int step = 0; step < steps; step++) {
            tokens[step] = sampler.sample(logits, 0, logits.length, step, state);
        }
        return tokens;
    }

    private static Set<Integer> distinct(int[] tokens) {
        Set<Integer> set = new HashSet<>();
        for (int token : tokens) {
            set.add(token);
        }
        return set;
    }

    @Test
    void greedyPicksTheLargestLogitAndTheLowestIndexOnTies() {
        Sampler sampler = new Sampler(8);
        SamplingState greedy = state(SamplingParams.greedy(10));
        float[] logits = {0.5f, 3f, -1f, 3f, 2f, 3f};
        for (int step = 0; step < 5; step++) {
            assertThat(sampler.sample(logits, 0, 6, step, greedy)).isEqualTo(1);
        }
        float[] padded = {9f, 9f, -2f, -5f, -2f, 9f};
        assertThat(sampler.sample(padded, 2, 3, 0, greedy))
                .as("reads only its slice")
                .isEqualTo(0);
        assertThat(sampler.sample(new float[] {-0f, 0f}, 0, 2, 0, greedy)).isEqualTo(0);
    }

    @Test
    void sameSeedDrawsTheSameTokensAndDifferentSeedsDiffer() {
        float[] logits = IntStream.range(0, 50)
                .mapToObj(i -> (float) Math.sin(i))
                .collect(() -> new float[50], (a, v) -> {}, (a, b) -> {});
        for (int i = 0; i < 50; i++) {
            logits[i] = (float) Math.sin(i);
        }
        Sampler sampler = new Sampler(50);
        int[] first = drawMany(sampler, logits, state(params(1f, 0, 1f, 0f, 42L)), 64);
        int[] again = drawMany(new Sampler(50), logits, state(params(1f, 0, 1f, 0f, 42L)), 64);
        int[] other = drawMany(sampler, logits, state(params(1f, 0, 1f, 0f, 43L)), 64);
        assertThat(again).isEqualTo(first);
        assertThat(other).isNotEqualTo(first);
        assertThat(distinct(first)).hasSizeGreaterThan(5);
    }

    @Test
    void theDrawAtAStepDoesNotDependOnEarlierCalls() {
        float[] logits = new float[20];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = i % 7 * 0.3f;
        }
        SamplingParams params = params(0.9f, 10, 0.95f, 0.01f, 7L);
        int[] sequence = drawMany(new Sampler(20), logits, state(params), 10);
        for (int step = 0; step < 10; step++) {
            int alone = new Sampler(20).sample(logits, 0, 20, step, state(params));
            assertThat(alone).as("step %d", step).isEqualTo(sequence[step]);
        }
        assertThat(Sampler.uniform(7L, 5)).isEqualTo(Sampler.uniform(7L, 5));
    }

    @Test
    void uniformIsTheStepthDoubleOfASplittableRandom() {
        SplittableRandom random = new SplittableRandom(123456789L);
        for (int step = 0; step < 100; step++) {
            double u = Sampler.uniform(123456789L, step);
            assertThat(u).isEqualTo(random.nextDouble()).isBetween(0.0, 1.0).isNotEqualTo(1.0);
        }
    }

    @Test
    void seedForIsAStableHashOfTheUtf8RequestId() {
        assertThat(Sampler.fnv1a64(new byte[0])).isEqualTo(0xcbf29ce484222325L);
        assertThat(Sampler.fnv1a64("a".getBytes(StandardCharsets.UTF_8))).isEqualTo(0xaf63dc4c8601ec8cL);
        assertThat(Sampler.fnv1a64("foobar".getBytes(StandardCharsets.UTF_8))).isEqualTo(0x85944171f73967e8L);
        assertThat(Sampler.seedFor("request-1")).isEqualTo(SEED_OF_REQUEST_1);
        assertThat(Sampler.seedFor("request-2")).isNotEqualTo(SEED_OF_REQUEST_1);
        assertThat(SamplingState.forRequest(params(1f, 0, 1f, 0f, null), "request-1", NO_PROMPT)
                        .seed())
                .isEqualTo(SEED_OF_REQUEST_1);
        assertThat(SamplingState.forRequest(params(1f, 0, 1f, 0f, 5L), "request-1", NO_PROMPT)
                        .seed())
                .isEqualTo(5L);
    }

    private static final long SEED_OF_REQUEST_1 = 6996955302536081010L;

    @Test
    void empiricalFrequenciesMatchTheSoftmaxOfTheScaledLogits() {
        float[] logits = {1f, 2f, 0.5f, -1f, 1.5f};
        float temperature = 0.8f;
        double[] expected = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            expected[i] = Math.exp(logits[i] / temperature);
            sum += expected[i];
        }
        int draws = 40_000;
        int[] counts = new int[logits.length];
        for (int token : drawMany(new Sampler(5), logits, state(params(temperature, 0, 1f, 0f, 99L)), draws)) {
            counts[token]++;
        }
        for (int i = 0; i < logits.length; i++) {
            // 6 standard deviations at most 0.015 for 40k draws.
            assertThat((double) counts[i] / draws).as("token %d", i).isCloseTo(expected[i] / sum, within(0.015));
        }
    }

    @Test
    void drawsAmongTheNucleusInProportionToTheRenormalizedProbabilities() {
        float[] logits = {(float) Math.log(0.15), (float) Math.log(0.5), (float) Math.log(0.05), (float) Math.log(0.3)};
        int draws = 30_000;
        int[] counts = new int[4];
        for (int token : drawMany(new Sampler(4), logits, state(params(1f, 0, 0.85f, 0f, 11L)), draws)) {
            counts[token]++;
        }
        assertThat(counts[2]).isZero();
        assertThat((double) counts[1] / draws).isCloseTo(0.5 / 0.95, within(0.015));
        assertThat((double) counts[3] / draws).isCloseTo(0.3 / 0.95, within(0.015));
        assertThat((double) counts[0] / draws).isCloseTo(0.15 / 0.95, within(0.015));
    }

    @Test
    void topKKeepsTheKLargestLogitsPreferringLowerIdsOnTies() {
        Sampler sampler = new Sampler(10);
        float[] logits = {0f, 5f, 1f, 4f, 4f, -3f, 4f, 2f, 3f, 4f};
        assertThat(sampler.candidates(logits, 0, 10, state(params(1f, 1, 1f, 0f, 1L))))
                .containsExactly(1);
        assertThat(sampler.candidates(logits, 0, 10, state(params(1f, 3, 1f, 0f, 1L))))
                .containsExactly(1, 3, 4);
        assertThat(sampler.candidates(logits, 0, 10, state(params(1f, 5, 1f, 0f, 1L))))
                .containsExactly(1, 3, 4, 6, 9);
        assertThat(sampler.candidates(logits, 0, 10, state(params(1f, 6, 1f, 0f, 1L))))
                .containsExactly(1, 3, 4, 6, 8, 9);
        assertThat(sampler.candidates(logits, 0, 10, state(params(1f, 10, 1f, 0f, 1L))))
                .hasSize(10);
        int[] drawn = drawMany(sampler, logits, state(params(20f, 3, 1f, 0f, 1L)), 300);
        assertThat(distinct(drawn)).containsExactlyInAnyOrder(1, 3, 4);
    }

    @Test
    void topPKeepsTheSmallestPrefixReachingP() {
        Sampler sampler = new Sampler(4);
        // probabilities 0.15, 0.5, 0.05, 0.3 at temperature 1
        float[] logits = {(float) Math.log(0.15), (float) Math.log(0.5), (float) Math.log(0.05), (float) Math.log(0.3)};
        assertThat(sampler.candidates(logits, 0, 4, state(params(1f, 0, 0.45f, 0f, 1L))))
                .containsExactly(1);
        assertThat(sampler.candidates(logits, 0, 4, state(params(1f, 0, 0.75f, 0f, 1L))))
                .containsExactly(1, 3);
        assertThat(sampler.candidates(logits, 0, 4, state(params(1f, 0, 0.85f, 0f, 1L))))
                .containsExactly(0, 1, 3);
        assertThat(sampler.candidates(logits, 0, 4, state(params(1f, 0, 0.99f, 0f, 1L))))
                .containsExactly(0, 1, 2, 3);
        // after top-k 2 the renormalized probabilities are 0.625 and 0.375
        assertThat(sampler.candidates(logits, 0, 4, state(params(1f, 2, 0.6f, 0f, 1L))))
                .containsExactly(1);
        assertThat(sampler.candidates(logits, 0, 4, state(params(1f, 2, 0.65f, 0f, 1L))))
                .containsExactly(1, 3);
        int[] drawn = drawMany(sampler, logits, state(params(1f, 0, 0.75f, 0f, 1L)), 200);
        assertThat(distinct(drawn)).containsExactlyInAnyOrder(1, 3);
    }

    @Test
    void topPOverAFlatVocabularyKeepsTheLowestIds() {
        Sampler sampler = new Sampler(5000);
        float[] flat = new float[5000];
        assertThat(sampler.candidates(flat, 0, 5000, state(params(1f, 0, 0.5f, 0f, 1L))))
                .isEqualTo(IntStream.range(0, 2500).toArray());
    }

    @Test
    void minPKeepsTokensAtLeastThatFractionOfTheMostLikely() {
        Sampler sampler = new Sampler(5);
        // relative to the maximum: 1, 0.5, 0.2, 0.05, 0.3
        float[] logits = {
            0f, (float) Math.log(0.5), (float) Math.log(0.2), (float) Math.log(0.05), (float) Math.log(0.3)
        };
        assertThat(sampler.candidates(logits, 0, 5, state(params(1f, 0, 1f, 0.25f, 1L))))
                .containsExactly(0, 1, 4);
        assertThat(sampler.candidates(logits, 0, 5, state(params(1f, 0, 1f, 0.1f, 1L))))
                .containsExactly(0, 1, 2, 4);
        assertThat(sampler.candidates(logits, 0, 5, state(params(1f, 0, 1f, 0.6f, 1L))))
                .containsExactly(0);
        // temperature 2 flattens: relative weights become sqrt: 1, 0.71, 0.45, 0.22, 0.55
        assertThat(sampler.candidates(logits, 0, 5, state(params(2f, 0, 1f, 0.25f, 1L))))
                .containsExactly(0, 1, 2, 4);
        // min-p after top-k and top-p
        assertThat(sampler.candidates(logits, 0, 5, state(params(1f, 3, 1f, 0.4f, 1L))))
                .containsExactly(0, 1);
        assertThat(sampler.candidates(logits, 0, 5, state(params(1f, 0, 0.9f, 0.1f, 1L))))
                .containsExactly(0, 1, 2, 4);
    }

    @Test
    void filtersAgreeWithASortingReferenceOnRandomLogits() {
        Random random = new Random(2024);
        int vocab = 3000;
        Sampler sampler = new Sampler(vocab);
        float[] temperatures = {0.3f, 0.7f, 1f, 1.5f};
        int[] topKs = {0, 1, 5, 50, 2999};
        float[] topPs = {1f, 0.9f, 0.5f, 0.999f};
        float[] minPs = {0f, 0.05f, 0.5f};
        for (int trial = 0; trial < 6; trial++) {
            float[] logits = new float[vocab];
            for (int i = 0; i < vocab; i++) {
                logits[i] = (float) (random.nextGaussian() * (1 + trial)) + (i % 97 == 0 ? 1 : 0);
            }
            for (float t : temperatures) {
                for (int k : topKs) {
                    for (float p : topPs) {
                        for (float m : minPs) {
                            SamplingParams params = params(t, k, p, m, 1L);
                            assertThat(sampler.candidates(logits, 0, vocab, state(params)))
                                    .as("trial %d T %s k %d p %s m %s", trial, t, k, p, m)
                                    .isEqualTo(reference(logits, params));
                        }
                    }
                }
            }
        }
    }

    /** Full sort, then the filters exactly as documented. */
    private static int[] reference(float[] logits, SamplingParams params) {
        List<Integer> order =
                new ArrayList<>(IntStream.range(0, logits.length).boxed().toList());
        order.sort(Comparator.<Integer>comparingDouble(i -> -logits[i]).thenComparingInt(i -> i));
        int n = params.topK() > 0 ? Math.min(params.topK(), logits.length) : logits.length;
        double max = logits[order.get(0)];
        double[] weights = new double[n];
        double total = 0;
        for (int j = 0; j < n; j++) {
            weights[j] = Math.exp((logits[order.get(j)] - max) / params.temperature());
            total += weights[j];
        }
        int kept = n;
        double cumulative = 0;
        for (int j = 0; j < n && params.topP() < 1f; j++) {
            if (cumulative >= params.topP() * total) {
                kept = j;
                break;
            }
            cumulative += weights[j];
        }
        List<Integer> result = new ArrayList<>();
        for (int j = 0; j < kept; j++) {
            if (weights[j] < params.minP()) {
                break;
            }
            if (weights[j] > 0) {
                result.add(order.get(j));
            }
        }
        return result.stream().mapToInt(Integer::intValue).sorted().toArray();
    }

    @Test
    void penaltiesFollowVllmSemantics() {
        SamplingParams params =
                new SamplingParams(0f, 0, 1f, 0f, 2f, 0.5f, 0.25f, 1L, 100, List.of(), List.of(), false);
        SamplingState state = new SamplingState(params, 1L, new int[] {1, 2});
        state.accept(2);
        state.accept(3);
        state.accept(3);
        float[] logits = {1f, 4f, -1f, 3f, 0.5f};
        state.applyPenalties(logits, 0, 5);
        // 0: unseen; 1: prompt only, positive -> /2; 2: prompt and once, negative -> *2 - 0.25 - 0.5;
        // 3: twice, positive -> /2 - 0.5 - 0.5; 4: unseen
        assertThat(logits).containsExactly(1f, 2f, -2.75f, 0.5f, 0.5f);
        assertThat(state.generated()).isEqualTo(3);
        assertThat(state.generatedCount(3)).isEqualTo(2);
    }

    @Test
    void penaltiesChangeTheChoiceButNotTheCallersLogits() {
        SamplingParams params = new SamplingParams(0f, 0, 1f, 0f, 1f, 2f, 0f, 1L, 100, List.of(), List.of(), false);
        SamplingState state = new SamplingState(params, 1L, new int[] {0});
        float[] logits = {0f, 3f, 2f, 1f};
        Sampler sampler = new Sampler(4);
        assertThat(sampler.sample(logits, 0, 4, 0, state)).isEqualTo(1);
        state.accept(1);
        assertThat(sampler.sample(logits, 0, 4, 1, state))
                .as("presence 2 puts token 1 below token 2")
                .isEqualTo(2);
        assertThat(logits).containsExactly(0f, 3f, 2f, 1f);
    }

    @Test
    void repetitionPenaltyCountsPromptTokens() {
        SamplingParams params = new SamplingParams(0f, 0, 1f, 0f, 1.5f, 0f, 0f, 1L, 100, List.of(), List.of(), false);
        float[] logits = {1f, 3f, 2.5f};
        assertThat(new Sampler(3).sample(logits, 0, 3, 0, new SamplingState(params, 1L, new int[] {1})))
                .isEqualTo(2);
        assertThat(new Sampler(3).sample(logits, 0, 3, 0, new SamplingState(params, 1L, new int[] {0})))
                .isEqualTo(1);
    }

    @Test
    void manyDistinctTokensGrowTheHistory() {
        SamplingParams params = new SamplingParams(1f, 0, 1f, 0f, 1f, 0f, 1f, 1L, 100, List.of(), List.of(), false);
        SamplingState state = new SamplingState(params, 1L, NO_PROMPT);
        for (int token = 0; token < 1000; token++) {
            state.accept(token * 7);
            state.accept(token * 7);
        }
        float[] logits = new float[7000];
        state.applyPenalties(logits, 0, 7000);
        for (int token = 0; token < 7000; token++) {
            assertThat(logits[token]).isEqualTo(token % 7 == 0 ? -2f : 0f);
        }
    }

    @Test
    void logprobIsTheLogSoftmaxOfTheRawLogits() {
        float[] logits = {9f, 1f, 2f, 0f, -1f};
        double sum = Math.exp(1) + Math.exp(2) + Math.exp(0) + Math.exp(-1);
        assertThat(Sampler.logprob(logits, 1, 4, 1)).isCloseTo((float) (2 - Math.log(sum)), within(1e-6f));
        float total = 0;
        for (int i = 0; i < 4; i++) {
            total += (float) Math.exp(Sampler.logprob(logits, 1, 4, i));
        }
        assertThat(total).isCloseTo(1f, within(1e-6f));
    }

    @Test
    void allMaskedButOneLogitIsAlwaysChosen() {
        float inf = Float.NEGATIVE_INFINITY;
        float[] logits = {inf, inf, 0.3f, inf};
        int[] drawn = drawMany(new Sampler(4), logits, state(params(1f, 0, 0.9f, 0f, 3L)), 50);
        assertThat(distinct(drawn)).containsExactly(2);
        assertThat(distinct(drawMany(new Sampler(4), logits, state(params(1f, 0, 1f, 0f, 3L)), 50)))
                .containsExactly(2);
    }
}
