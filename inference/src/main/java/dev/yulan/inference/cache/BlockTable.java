package dev.yulan.inference.cache;

import java.util.Arrays;

/**
 * One sequence's view of the paged KV cache: the blocks holding its positions in order ({@code position /
 * blockTokens} indexes the table), and how many positions have KV written.
 */
public final class BlockTable {

    private final BlockPool pool;
    private final int shard;
    private int[] blocks = new int[8];
    private int blockCount;
    private int tokens;
    /** Leading blocks whose chain hash is known (and which are published); {@code lastHash} is the last one's. */
    private int hashedBlocks;

    private long lastHash;

    public BlockTable(BlockPool pool, int shard) {
        this.pool = pool;
        this.shard = shard;
    }

    public int shard() {
        return shard;
    }

    /** Positions whose keys and values are in the cache. */
    public int tokens() {
        return tokens;
    }

    public int blockCount() {
        return blockCount;
    }

    public int block(int index) {
        return blocks[index];
    }

    /** Byte offset in the pool's memory of the vector for ({@code layer}, {@code kind}, {@code kvHead}, {@code position}). */
    public long offset(int layer, int kind, int kvHead, int position) {
        KvLayout layout = pool.layout();
        int block = blocks[position / layout.blockTokens()];
        return pool.blockOffset(block) + layout.offset(layer, kind, kvHead, position % layout.blockTokens());
    }

    /**
     * Reuses cached blocks for the longest cached prefix of {@code tokens[0 .. limit)}, whole blocks only. Must be called
     * on an empty table.
     *
     * @return the number of positions now in the cache
     */
    public int attachCachedPrefix(int[] tokens, int limit) {
        if (blockCount != 0) {
            throw new IllegalStateException("prefix lookup on a table that already has blocks");
        }
        int size = pool.layout().blockTokens();
        long hash = 0;
        while ((blockCount + 1) * size <= limit) {
            long next = BlockPool.chainHash(hash, shard, tokens, blockCount * size, size);
            int block = pool.lookup(shard, next, tokens, blockCount * size);
            if (block < 0) {
                break;
            }
            append(block);
            hash = next;
        }
        this.tokens = blockCount * size;
        this.hashedBlocks = blockCount;
        this.lastHash = hash;
        return this.tokens;
    }

    /**
     * Makes room for positions up to {@code newTokens} (exclusive).
     *
     * @return false when the pool has no block left for this shard; blocks taken so far stay in the table
     */
    public boolean reserve(int newTokens) {
        int size = pool.layout().blockTokens();
        int needed = (newTokens + size - 1) / size;
        while (blockCount < needed) {
            int block = pool.allocate(shard);
            if (block < 0) {
                return false;
            }
            append(block);
        }
        return true;
    }

    /** Blocks that {@link #reserve} would need to take for positions up to {@code newTokens}. */
    public int blocksNeeded(int newTokens) {
        int size = pool.layout().blockTokens();
        return Math.max(0, (newTokens + size - 1) / size - blockCount);
    }

    /**
     * Records that positions up to {@code newTokens} now hold KV, publishing every block this completes to the prefix
     * cache. {@code sequence} holds the sequence's token ids from position 0.
     */
    public void advance(int newTokens, int[] sequence) {
        int size = pool.layout().blockTokens();
        int full = newTokens / size;
        while (hashedBlocks < full) {
            lastHash = BlockPool.chainHash(lastHash, shard, sequence, hashedBlocks * size, size);
            pool.publish(blocks[hashedBlocks], lastHash, sequence, hashedBlocks * size);
            hashedBlocks++;
        }
        tokens = newTokens;
    }

    /** Returns every block to the pool (cached ones stay in the prefix cache). */
    public void release() {
        for (int i = 0; i < blockCount; i++) {
            pool.release(blocks[i]);
        }
        blockCount = 0;
        tokens = 0;
        hashedBlocks = 0;
        lastHash = 0;
    }

    private void append(int block) {
        if (blockCount == blocks.length) {
            blocks = Arrays.copyOf(blocks, blocks.length * 2);
        }
        blocks[blockCount++] = block;
    }
}
