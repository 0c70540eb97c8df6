package dev.yulan.inference.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.yulan.inference.cache.BlockPool;
import dev.yulan.inference.cache.BlockTable;
import dev.yulan.inference.cache.KvLayout;
import dev.yulan.inference.kernel.Kernels;
import dev.yulan.inference.tensor.DType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A sequence's logits are bit-identical whatever else shares its steps: alone or batched, prefilled whole or in chunks,
 * joining and leaving mid-run, recomputed or read from the prefix cache. And the vector kernels compute the same model
 * as the scalar reference on a YuLan-shaped checkpoint (biases, untied head, GQA 5:1, BF16).
 */
class ForwardInvarianceTest {

    /** YuLan-Mini's structure at a small size: head_dim 64 as in the real model, GQA 5:1, biases, untied head. */
    static final SyntheticShape SHAPE = new SyntheticShape("mini-yulan", 320, 640, 2, 5, 1, 64, 400, 1e-6, 490000, 256);

    @TempDir
    static Path dir;

    private static Checkpoint model;
    private static Kernels kernels;

    @BeforeAll
    static void load() {
        SyntheticCheckpoint.write(dir, SHAPE, DType.BF16, 7, 1, LoadProgress.NONE);
        model = ModelLoader.load(dir, LoadOptions.defaults());
        kernels = Kernels.create(2);
    }

    @AfterAll
    static void close() {
        kernels.close();
        model.close();
    }

    /** A sequence under test: its prompt, and the greedy tokens and logits of each sampling point. */
    private static final class Seq {
        final int[] tokens;
        int length;
        final int promptLength;
        final int generate;
        final List<float[]> logits = new ArrayList<>();
        BlockTable table;

        Seq(int[] prompt, int generate) {
            this.tokens = Arrays.copyOf(prompt, prompt.length + generate);
            this.length = prompt.length;
            this.promptLength = prompt.length;
            this.generate = generate;
        }

        boolean done() {
            return length - promptLength == generate;
        }
    }

    private static int[] prompt(int length, int seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] p = new int[length];
        for (int i = 0; i < length; i++) {
            p[i] = 3 + random.nextInt(SHAPE.vocab() - 3);
        }
        return p;
    }

    private static List<Seq> sequences() {
        return List.of(
                new Seq(prompt(5, 1), 6),
                new Seq(prompt(37, 2), 4),
                new Seq(prompt(2, 3), 9),
                new Seq(prompt(18, 4), 5));
    }

    /**
     * Runs the sequences through one pool. Each step, every active sequence contributes up to {@code chunk(step, i)}
     * rows; sequence i becomes active at step {@code start[i]}. Cached prefixes are attached when {@code prefixCache}.
     */
    private static void run(
            List<Seq> seqs, Kernels k, int[] start, ChunkRule chunk, BlockPool pool, boolean prefixCache) {
        int vocab = SHAPE.vocab();
        Transformer transformer = new Transformer(model.config(), model.weights(), k, 128, 128);
        ForwardBatch batch = new ForwardBatch(128);
        float[] logits = new float[seqs.size() * vocab];
        for (int step = 0; seqs.stream().anyMatch(s -> !s.done()); step++) {
            batch.clear();
            List<Seq> sampled = new ArrayList<>();
            List<int[]> advanced = new ArrayList<>();
            for (int i = 0; i < seqs.size(); i++) {
                Seq s = seqs.get(i);
                if (s.done() || step < start[i]) {
                    continue;
                }
                if (s.table == null) {
                    s.table = new BlockTable(pool, 0);
                    if (prefixCache) {
                        s.table.attachCachedPrefix(s.tokens, s.length - 1);
                    }
                }
                int from = s.table.tokens();
                int rows = Math.min(s.length - from, chunk.rows(step, i));
                assertThat(s.table.reserve(from + rows)).isTrue();
                for (int p = from; p < from + rows; p++) {
                    if (batch.add(s.table, s.tokens[p], p, p == s.length - 1) >= 0) {
                        sampled.add(s);
                    }
                }
                advanced.add(new int[] {i, from + rows});
            }
            transformer.forward(batch, pool, logits);
            for (int[] a : advanced) {
                Seq s = seqs.get(a[0]);
                s.table.advance(a[1], s.tokens);
            }
            for (int j = 0; j < sampled.size(); j++) {
                Seq s = sampled.get(j);
                float[] l = Arrays.copyOfRange(logits, j * vocab, (j + 1) * vocab);
                s.logits.add(l);
                s.tokens[s.length++] = argmax(l);
                if (s.done()) {
                    s.table.release();
                }
            }
        }
    }

    interface ChunkRule {
        int rows(int step, int seq);
    }

    private static int argmax(float[] l) {
        int best = 0;
        for (int i = 1; i < l.length; i++) {
            if (l[i] > l[best]) {
                best = i;
            }
        }
        return best;
    }

    private static BlockPool pool() {
        KvLayout layout = Transformer.kvLayout(model.config(), 16, DType.BF16);
        return new BlockPool(layout, layout.blockBytes() * 64, 0);
    }

    private static List<Seq> alone(Kernels k) {
        List<Seq> result = new ArrayList<>();
        for (Seq s : sequences()) {
            try (BlockPool pool = pool()) {
                run(List.of(s), k, new int[] {0}, (step, i) -> Integer.MAX_VALUE, pool, false);
            }
            result.add(s);
        }
        return result;
    }

    @Test
    void batchedChunkedAndStaggeredRunsGiveBitIdenticalLogits() {
        List<Seq> reference = alone(kernels);
        List<Seq> batched = sequences();
        SplittableRandom random = new SplittableRandom(11);
        int[][] chunks = new int[64][4];
        for (int[] row : chunks) {
            for (int i = 0; i < row.length; i++) {
                row[i] = 1 + random.nextInt(9);
            }
        }
        try (BlockPool pool = pool()) {
            run(batched, kernels, new int[] {0, 1, 3, 6}, (step, i) -> chunks[step % 64][i], pool, false);
        }
        for (int i = 0; i < reference.size(); i++) {
            assertThat(batched.get(i).logits).hasSameSizeAs(reference.get(i).logits);
            for (int t = 0; t < reference.get(i).logits.size(); t++) {
                assertThat(batched.get(i).logits.get(t))
                        .as("sequence %d, token %d", i, t)
                        .containsExactly(reference.get(i).logits.get(t));
            }
        }
    }

    @Test
    void prefixCacheHitsGiveBitIdenticalLogits() {
        int[] shared = prompt(40, 9);
        int[] withSuffix = Arrays.copyOf(shared, 45);
        System.arraycopy(prompt(5, 10), 0, withSuffix, 40, 5);
        Seq fresh = new Seq(withSuffix, 5);
        try (BlockPool pool = pool()) {
            run(List.of(fresh), kernels, new int[] {0}, (step, i) -> 7, pool, false);
        }
        try (BlockPool pool = pool()) {
            run(List.of(new Seq(shared, 3)), kernels, new int[] {0}, (step, i) -> 64, pool, true);
            Seq cached = new Seq(withSuffix, 5);
            run(List.of(cached), kernels, new int[] {0}, (step, i) -> 64, pool, true);
            assertThat(pool.prefixHits()).isEqualTo(2); // 32 of the 40 shared tokens, in whole blocks
            for (int t = 0; t < fresh.logits.size(); t++) {
                assertThat(cached.logits.get(t)).containsExactly(fresh.logits.get(t));
            }
        }
    }

    @Test
    void vectorKernelsComputeTheSameModelAsTheScalarReference() {
        try (Kernels scalar = Kernels.scalar()) {
            List<Seq> expected = alone(scalar);
            List<Seq> actual = alone(kernels);
            for (int i = 0; i < expected.size(); i++) {
                for (int t = 0; t < expected.get(i).logits.size(); t++) {
                    float[] e = expected.get(i).logits.get(t);
                    float[] a = actual.get(i).logits.get(t);
                    float scale = 0;
                    for (float v : e) {
                        scale = Math.max(scale, Math.abs(v));
                    }
                    for (int j = 0; j < e.length; j++) {
                        assertThat(Math.abs(a[j] - e[j]))
                                .as("sequence %d token %d logit %d", i, t, j)
                                .isLessThanOrEqualTo(2e-3f * scale + 1e-4f);
                    }
                }
                // The greedy paths agree too (random weights give well-separated maxima at this size).
                assertThat(actual.get(i).tokens).containsExactly(expected.get(i).tokens);
            }
        }
    }
}
