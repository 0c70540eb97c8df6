package dev.yulan.inference.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.yulan.inference.tensor.DType;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class BlockPoolTest {

    private static final KvLayout LAYOUT = new KvLayout(2, 2, 8, 4, DType.BF16);

    private static BlockPool pool(int blocks, int shardLimit) {
        return new BlockPool(LAYOUT, blocks * LAYOUT.blockBytes(), shardLimit);
    }

    private static int[] tokens(int n, int seed) {
        return IntStream.range(0, n).map(i -> seed * 1000 + i).toArray();
    }

    @Test
    void sizesBlocksFromTheByteBudget() {
        try (BlockPool pool = pool(10, 0)) {
            assertThat(pool.capacity()).isEqualTo(10);
            assertThat(LAYOUT.blockBytes()).isEqualTo(2L * 2 * 2 * 4 * 8 * 2);
            assertThat(LAYOUT.bytesPerToken()).isEqualTo(LAYOUT.blockBytes() / 4);
        }
    }

    @Test
    void reserveTakesWholeBlocksAndReleaseReturnsThem() {
        try (BlockPool pool = pool(4, 0)) {
            BlockTable table = new BlockTable(pool, 0);
            assertThat(table.reserve(9)).isTrue();
            assertThat(table.blockCount()).isEqualTo(3);
            assertThat(pool.freeBlocks()).isEqualTo(1);
            assertThat(table.reserve(17)).isFalse();
            table.release();
            assertThat(pool.freeBlocks()).isEqualTo(4);
        }
    }

    @Test
    void offsetsOfDifferentPositionsNeverOverlap() {
        try (BlockPool pool = pool(4, 0)) {
            BlockTable table = new BlockTable(pool, 0);
            table.reserve(16);
            java.util.Set<Long> seen = new java.util.HashSet<>();
            for (int layer = 0; layer < 2; layer++) {
                for (int kind = 0; kind < 2; kind++) {
                    for (int head = 0; head < 2; head++) {
                        for (int pos = 0; pos < 16; pos++) {
                            long off = table.offset(layer, kind, head, pos);
                            long step = kind == KvLayout.KEY ? LAYOUT.keyStride() : LAYOUT.elementBytes();
                            for (int d = 0; d < LAYOUT.headDim(); d++) { // every element of every vector is its own
                                assertThat(seen.add(off + d * step)).isTrue();
                                assertThat(off + d * step + LAYOUT.elementBytes())
                                        .isLessThanOrEqualTo(pool.memory().byteSize());
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void fullBlocksAreReusedByALaterSequenceWithTheSamePrefix() {
        try (BlockPool pool = pool(8, 0)) {
            int[] prompt = tokens(10, 1);
            BlockTable first = new BlockTable(pool, 3);
            first.reserve(10);
            first.advance(10, prompt);
            int firstBlock = first.block(0);
            first.release();

            BlockTable second = new BlockTable(pool, 3);
            assertThat(second.attachCachedPrefix(prompt, 9)).isEqualTo(8);
            assertThat(second.block(0)).isEqualTo(firstBlock);
            assertThat(pool.prefixHits()).isEqualTo(2);

            BlockTable otherShard = new BlockTable(pool, 4);
            assertThat(otherShard.attachCachedPrefix(prompt, 9)).isZero();
        }
    }

    @Test
    void aDifferentTokenInAnEarlierBlockMissesEveryLaterBlock() {
        try (BlockPool pool = pool(8, 0)) {
            int[] prompt = tokens(12, 1);
            BlockTable first = new BlockTable(pool, 0);
            first.reserve(12);
            first.advance(12, prompt);
            first.release();
            int[] changed = prompt.clone();
            changed[1] = -5;
            assertThat(new BlockTable(pool, 0).attachCachedPrefix(changed, 12)).isZero();
        }
    }

    @Test
    void unreferencedCachedBlocksAreEvictedLeastRecentlyUsedFirst() {
        try (BlockPool pool = pool(3, 0)) {
            for (int seed = 0; seed < 3; seed++) {
                BlockTable t = new BlockTable(pool, 0);
                t.reserve(4);
                t.advance(4, tokens(4, seed));
                t.release();
            }
            assertThat(pool.freeBlocks()).isZero();
            assertThat(pool.availableBlocks(0)).isEqualTo(3);
            // Touch seed 0 so that seed 1 becomes the oldest.
            BlockTable touch = new BlockTable(pool, 0);
            assertThat(touch.attachCachedPrefix(tokens(4, 0), 4)).isEqualTo(4);
            touch.release();

            BlockTable fresh = new BlockTable(pool, 0);
            assertThat(fresh.reserve(4)).isTrue();
            assertThat(pool.evictions()).isEqualTo(1);
            assertThat(new BlockTable(pool, 0).attachCachedPrefix(tokens(4, 1), 4))
                    .isZero();
            assertThat(new BlockTable(pool, 0).attachCachedPrefix(tokens(4, 0), 4))
                    .isEqualTo(4);
        }
    }

    @Test
    void aShardCannotGrowPastItsLimit() {
        try (BlockPool pool = pool(8, 2)) {
            BlockTable a = new BlockTable(pool, 0);
            assertThat(a.reserve(8)).isTrue();
            assertThat(new BlockTable(pool, 0).reserve(1)).isFalse();
            assertThat(new BlockTable(pool, 1).reserve(8)).isTrue();
        }
    }

    @Test
    void droppingAShardReturnsAllItsBlocks() {
        try (BlockPool pool = pool(8, 0)) {
            BlockTable a = new BlockTable(pool, 7);
            a.reserve(12);
            a.advance(12, tokens(12, 2));
            a.release();
            BlockTable b = new BlockTable(pool, 8);
            b.reserve(4);
            assertThat(pool.shardBlocks(7)).isEqualTo(3);
            pool.dropShard(7);
            assertThat(pool.shardBlocks(7)).isZero();
            assertThat(pool.freeBlocks()).isEqualTo(7);
            assertThat(new BlockTable(pool, 7).attachCachedPrefix(tokens(12, 2), 12))
                    .isZero();
        }
    }

    @Test
    void droppingAShardWithLiveSequencesIsAnError() {
        try (BlockPool pool = pool(8, 0)) {
            new BlockTable(pool, 1).reserve(4);
            assertThatThrownBy(() -> pool.dropShard(1)).isInstanceOf(IllegalStateException.class);
        }
    }
}
