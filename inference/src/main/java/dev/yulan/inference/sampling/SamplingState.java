package dev.yulan.inference.sampling;

import dev.yulan.inference.engine.SamplingParams;
import java.util.Arrays;

/**
 * The sampling state of one sequence: its parameters, its seed and the penalty history (which tokens the prompt holds,
 * how often each token was generated). Memory grows with the number of distinct tokens seen, not with the vocabulary.
 * Not thread-safe; a sequence is sampled by one thread at a time.
 */
public final class SamplingState {
    private static final int EMPTY = -1;

    private final SamplingParams params;
    private final long seed;
    private final boolean tracksHistory;
    // Open-addressing table token -> (generated count, in prompt); only filled when a penalty is active.
    private int[] tokens;
    private int[] counts;
    private boolean[] inPrompt;
    private int size;
    private int generated;

    /**
     * @param seed the seed of the draws (use {@link #forRequest} to derive it from a request id when the params have
     *     none)
     * @param promptTokens the prompt's token ids, which the repetition penalty counts as seen
     */
    public SamplingState(SamplingParams params, long seed, int[] promptTokens) {
        this.params = params;
        this.seed = seed;
        this.tracksHistory =
                params.repetitionPenalty() != 1f || params.presencePenalty() != 0f || params.frequencyPenalty() != 0f;
        int capacity = 16;
        this.tokens = new int[capacity];
        this.counts = new int[capacity];
        this.inPrompt = new boolean[capacity];
        Arrays.fill(tokens, EMPTY);
        if (tracksHistory && params.repetitionPenalty() != 1f) {
            for (int token : promptTokens) {
                int slot = slotFor(token); // may grow the arrays: evaluate before indexing
                inPrompt[slot] = true;
            }
        }
    }

    /** The state of a new request: its own seed if it has one, else {@link Sampler#seedFor} of its id. */
    public static SamplingState forRequest(SamplingParams params, String requestId, int[] promptTokens) {
        long seed = params.seed() != null ? params.seed() : Sampler.seedFor(requestId);
        return new SamplingState(params, seed, promptTokens);
    }

    public SamplingParams params() {
        return params;
    }

    public long seed() {
        return seed;
    }

    /** How many tokens were {@link #accept accepted}: the step of the next draw. */
    public int generated() {
        return generated;
    }

    /** Records a generated token (the one {@link Sampler#sample} returned, or one the engine forced). */
    public void accept(int token) {
        generated++;
        if (tracksHistory) {
            int slot = slotFor(token); // may grow the arrays: evaluate before indexing
            counts[slot]++;
        }
    }

    /** How often {@code token} was generated (0 when no penalty is active: the history is not kept then). */
    public int generatedCount(int token) {
        int slot = token < 0 ? -1 : find(token);
        return slot < 0 ? 0 : counts[slot];
    }

    boolean hasPenalties() {
        return tracksHistory && size > 0;
    }

    /** Applies the penalties to {@code logits[off + token]} for every token in the history. */
    void applyPenalties(float[] logits, int off, int vocab) {
        float repetition = params.repetitionPenalty();
        float presence = params.presencePenalty();
        float frequency = params.frequencyPenalty();
        for (int slot = 0; slot < tokens.length; slot++) {
            int token = tokens[slot];
            if (token == EMPTY || token >= vocab) {
                continue;
            }
            int count = counts[slot];
            float logit = logits[off + token];
            if (repetition != 1f && (count > 0 || inPrompt[slot])) {
                logit = logit > 0 ? logit / repetition : logit * repetition;
            }
            if (count > 0) {
                logit -= frequency * count + presence;
            }
            logits[off + token] = logit;
        }
    }

    private int find(int token) {
        int mask = tokens.length - 1;
        for (int slot = mix(token) & mask; ; slot = (slot + 1) & mask) {
            if (tokens[slot] == token) {
                return slot;
            }
            if (tokens[slot] == EMPTY) {
                return -1;
            }
        }
    }

    private int slotFor(int token) {
        if (token < 0) {
            throw new IllegalArgumentException("token id must not be negative, got " + token);
        }
        int slot = find(token);
        if (slot >= 0) {
            return slot;
        }
        if ((size + 1) * 2 > tokens.length) {
            grow();
        }
        int mask = tokens.length - 1;
        slot = mix(token) & mask;
        while (tokens[slot] != EMPTY) {
            slot = (slot + 1) & mask;
        }
        tokens[slot] = token;
        size++;
        return slot;
    }

    private void grow() {
        int[] oldTokens = tokens;
        int[] oldCounts = counts;
        boolean[] oldInPrompt = inPrompt;
        tokens = new int[oldTokens.length * 2];
        counts = new int[tokens.length];
        inPrompt = new boolean[tokens.length];
        Arrays.fill(tokens, EMPTY);
        int mask = tokens.length - 1;
        for (int i = 0; i < oldTokens.length; i++) {
            if (oldTokens[i] != EMPTY) {
                int slot = mix(oldTokens[i]) & mask;
                while (tokens[slot] != EMPTY) {
                    slot = (slot + 1) & mask;
                }
                tokens[slot] = oldTokens[i];
                counts[slot] = oldCounts[i];
                inPrompt[slot] = oldInPrompt[i];
            }
        }
    }

    private static int mix(int token) {
        int h = token * 0x9E3779B9;
        return h ^ (h >>> 16);
    }
}
