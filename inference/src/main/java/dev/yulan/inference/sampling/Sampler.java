package dev.yulan.inference.sampling;

import dev.yulan.inference.engine.SamplingParams;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Picks the next token from one sequence's logits. Holds only scratch space of the vocabulary's size, allocated once:
 * create one per worker thread and pass each sequence's {@link SamplingState}. Not thread-safe.
 *
 * <p>Cost per token stays linear in the vocabulary: top-k keeps a heap of k candidates, top-p (without top-k) buckets
 * the tokens by scaled logit and sorts only the bucket where the nucleus ends, min-p is a threshold, and plain
 * temperature sampling needs no ordering at all. Greedy is one argmax pass. Ties are broken by the lower token id
 * everywhere, so the result is a pure function of the logits, the parameters, the seed and the step.
 *
 * <p>Typical use, per sequence and step: {@code token = sampler.sample(logits, off, vocab, state.generated(), state);
 * state.accept(token);} plus {@link #logprob} when the request asks for logprobs.
 */
public final class Sampler {
    private static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;
    // Top-p buckets tokens by scaled logit z = (logit - max) / T, 1/32 wide over [-40, 0] (lower ones share the
    // last bucket), so that only the bucket where the nucleus ends needs sorting.
    private static final int BUCKETS_PER_UNIT = 32;
    private static final int BUCKETS = 40 * BUCKETS_PER_UNIT;

    private final int capacity;
    private final float[] penalized;
    private final long[] keys;
    private final int[] indices;
    private final double[] weights;
    private final double[] tokenWeights;
    private final double[] bucketMass = new double[BUCKETS];

    /** Scratch for vocabularies up to {@code vocab} tokens. */
    public Sampler(int vocab) {
        if (vocab < 1) {
            throw new IllegalArgumentException("vocab must be positive, got " + vocab);
        }
        this.capacity = vocab;
        this.penalized = new float[vocab];
        this.keys = new long[vocab];
        this.indices = new int[vocab];
        this.weights = new double[vocab];
        this.tokenWeights = new double[vocab];
    }

    /**
     * The token to generate at {@code step} (0-based index of the generated token; it selects the random draw). Reads
     * {@code logits[off, off + vocab)} without changing them. Does not record the token: call {@link
     * SamplingState#accept} with the token that is finally generated.
     */
    public int sample(float[] logits, int off, int vocab, int step, SamplingState state) {
        int n = filter(logits, off, vocab, state);
        if (n < 0) {
            return -n - 1;
        }
        return drawAmong(n, uniform(state.seed(), step));
    }

    /**
     * The tokens that {@link #sample} can draw for these logits (whatever the step), in ascending order; a test hook
     * for the filters.
     */
    int[] candidates(float[] logits, int off, int vocab, SamplingState state) {
        int n = filter(logits, off, vocab, state);
        if (n < 0) {
            return new int[] {-n - 1};
        }
        return IntStream.range(0, n)
                .filter(j -> weights[j] > 0)
                .map(j -> indices[j])
                .sorted()
                .toArray();
    }

    /**
     * Applies penalties, temperature, top-k, top-p and min-p. Returns {@code -token - 1} when the choice needs no draw
     * (greedy), else the number of candidates left in {@code indices} / {@code weights} (weights relative to the most
     * likely token).
     */
    private int filter(float[] logits, int off, int vocab, SamplingState state) {
        if (vocab < 1 || vocab > capacity) {
            throw new IllegalArgumentException("vocab " + vocab + " outside 1.." + capacity);
        }
        float[] l = logits;
        int base = off;
        if (state.hasPenalties()) {
            System.arraycopy(logits, off, penalized, 0, vocab);
            state.applyPenalties(penalized, 0, vocab);
            l = penalized;
            base = 0;
        }
        int best = argmax(l, base, vocab);
        float max = l[base + best];
        if (Float.isNaN(max)) {
            throw new IllegalStateException("logits are NaN");
        }
        SamplingParams params = state.params();
        if (params.temperature() == 0f || max == Float.NEGATIVE_INFINITY || max == Float.POSITIVE_INFINITY) {
            return -best - 1;
        }
        double invT = 1.0 / params.temperature();
        int topK = params.topK();
        if (topK > 0 && topK < vocab) {
            int n = selectTopK(l, base, vocab, topK);
            return filterTopK(l, base, n, max, invT, params);
        }
        if (params.topP() < 1f) {
            return filterNucleus(l, base, vocab, max, invT, params.topP(), params.minP());
        }
        return filterUnsorted(l, base, vocab, max, invT, params.minP());
    }

    /**
     * The log-probability of {@code token} under the raw model distribution: log-softmax of the logits, before
     * penalties, temperature and filtering (vLLM's default).
     */
    public static float logprob(float[] logits, int off, int vocab, int token) {
        float max = logits[off + argmax(logits, off, vocab)];
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += Math.exp(logits[off + i] - max);
        }
        return (float) (logits[off + token] - max - Math.log(sum));
    }

    /**
     * The uniform number in [0, 1) drawn at {@code step}: a pure function of {@code (seed, step)}. Equals the {@code
     * step}-th {@code nextDouble()} of {@code new SplittableRandom(seed)}, without its state.
     */
    public static double uniform(long seed, int step) {
        return (mix64(seed + (step + 1L) * GOLDEN_GAMMA) >>> 11) * 0x1.0p-53;
    }

    /** A stable 64-bit seed for a request id: FNV-1a 64 over its UTF-8 bytes, then a 64-bit finalizer. */
    public static long seedFor(String requestId) {
        return mix64(fnv1a64(requestId.getBytes(StandardCharsets.UTF_8)));
    }

    static long fnv1a64(byte[] bytes) {
        long hash = 0xcbf29ce484222325L;
        for (byte b : bytes) {
            hash ^= b & 0xff;
            hash *= 0x100000001b3L;
        }
        return hash;
    }

    /** The lowest index of the largest logit. */
    static int argmax(float[] l, int base, int vocab) {
        int best = 0;
        float bestValue = l[base];
        for (int i = 1; i < vocab; i++) {
            float v = l[base + i];
            if (v > bestValue) {
                bestValue = v;
                best = i;
            }
        }
        return best;
    }

    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** A key whose ascending order is descending logit, then ascending token id. */
    private static long key(float logit, int token) {
        int bits = Float.floatToRawIntBits(logit + 0f); // + 0f turns -0 into +0
        int sortable = bits ^ ((bits >> 31) & 0x7fffffff);
        return ((long) ~sortable << 32) | token;
    }

    private static float logitOf(long key) {
        int sortable = ~(int) (key >>> 32);
        return Float.intBitsToFloat(sortable ^ ((sortable >> 31) & 0x7fffffff));
    }

    /** Puts the k best keys into {@code keys[0, k)}, sorted; returns k. */
    private int selectTopK(float[] l, int base, int vocab, int k) {
        // Max-heap on key: the root is the worst candidate kept so far.
        for (int i = 0; i < k; i++) {
            long key = key(l[base + i], i);
            int child = i;
            while (child > 0) {
                int parent = (child - 1) >>> 1;
                if (keys[parent] >= key) {
                    break;
                }
                keys[child] = keys[parent];
                child = parent;
            }
            keys[child] = key;
        }
        float worst = logitOf(keys[0]);
        for (int i = k; i < vocab; i++) {
            float v = l[base + i];
            // A later token with an equal logit loses the tie, so only strictly better ones enter.
            if (v > worst) {
                siftDownRoot(key(v, i), k);
                worst = logitOf(keys[0]);
            }
        }
        Arrays.sort(keys, 0, k);
        return k;
    }

    private void siftDownRoot(long key, int size) {
        int parent = 0;
        while (true) {
            int child = 2 * parent + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && keys[child + 1] > keys[child]) {
                child++;
            }
            if (keys[child] <= key) {
                break;
            }
            keys[parent] = keys[child];
            parent = child;
        }
        keys[parent] = key;
    }

    /**
     * Top-p without top-k, then min-p. The nucleus is the shortest prefix of the tokens sorted by (probability
     * descending, id ascending) whose mass reaches {@code topP}; buckets of the scaled logit respect that order, so
     * whole buckets before the one where the mass is reached are kept unsorted and only that bucket is sorted.
     */
    private int filterNucleus(float[] l, int base, int vocab, float max, double invT, float topP, float minP) {
        Arrays.fill(bucketMass, 0);
        double total = 0;
        for (int i = 0; i < vocab; i++) {
            double z = (l[base + i] - max) * invT;
            double w = Math.exp(z);
            tokenWeights[i] = w;
            total += w;
            bucketMass[bucketOf(z)] += w;
        }
        double limit = topP * total;
        double before = 0;
        int boundary = BUCKETS; // rounding kept the mass below the limit: keep everything
        for (int b = 0; b < BUCKETS; b++) {
            if (before + bucketMass[b] >= limit) {
                boundary = b;
                break;
            }
            before += bucketMass[b];
        }
        int n = 0;
        int sorted = 0;
        for (int i = 0; i < vocab; i++) {
            int b = bucketOf((l[base + i] - max) * invT);
            if (b < boundary) {
                double w = tokenWeights[i];
                if (w >= minP && w > 0) {
                    indices[n] = i;
                    weights[n++] = w;
                }
            } else if (b == boundary) {
                keys[sorted++] = key(l[base + i], i);
            }
        }
        Arrays.sort(keys, 0, sorted);
        double cumulative = before;
        for (int j = 0; j < sorted && cumulative < limit; j++) {
            int token = (int) keys[j];
            double w = tokenWeights[token];
            cumulative += w;
            if (w >= minP && w > 0) {
                indices[n] = token;
                weights[n++] = w;
            }
        }
        return n;
    }

    private static int bucketOf(double z) {
        double scaled = -z * BUCKETS_PER_UNIT;
        return scaled < BUCKETS - 1 ? (int) scaled : BUCKETS - 1;
    }

    /** Keeps those of the top-k candidates {@code keys[0, n)} (sorted) that pass top-p and min-p; returns how many. */
    private int filterTopK(float[] l, int base, int n, float max, double invT, SamplingParams params) {
        double own = 0;
        for (int j = 0; j < n; j++) {
            indices[j] = (int) keys[j];
            weights[j] = Math.exp((l[base + indices[j]] - max) * invT);
            own += weights[j];
        }
        int kept = n;
        if (params.topP() < 1f) {
            double limit = params.topP() * own;
            double cumulative = 0;
            for (int j = 0; j < n; j++) {
                if (cumulative >= limit) {
                    kept = j;
                    break;
                }
                cumulative += weights[j];
            }
        }
        float minP = params.minP();
        if (minP > 0f) {
            // weights are p / p_max: the first candidate is the overall maximum, weight 1.
            for (int j = 1; j < kept; j++) {
                if (weights[j] < minP) {
                    kept = j;
                    break;
                }
            }
        }
        return kept;
    }

    private int filterUnsorted(float[] l, int base, int vocab, float max, double invT, float minP) {
        // Logit-space pre-check saves an exp for most tokens; the exact test is on the weight itself.
        double minZ = minP > 0f ? Math.log(minP) - 1e-6 : Double.NEGATIVE_INFINITY;
        int n = 0;
        for (int i = 0; i < vocab; i++) {
            double z = (l[base + i] - max) * invT;
            if (z >= minZ) {
                double w = Math.exp(z);
                if (w >= minP && w > 0) {
                    indices[n] = i;
                    weights[n++] = w;
                }
            }
        }
        return n;
    }

    /** Inverse-CDF draw over {@code weights[0, n)}, in candidate order. */
    private int drawAmong(int n, double u) {
        double mass = 0;
        for (int j = 0; j < n; j++) {
            mass += weights[j];
        }
        double target = u * mass;
        double cumulative = 0;
        int lastPositive = 0;
        for (int j = 0; j < n; j++) {
            if (weights[j] > 0) {
                cumulative += weights[j];
                lastPositive = j;
                if (target < cumulative) {
                    return indices[j];
                }
            }
        }
        return indices[lastPositive];
    }
}
