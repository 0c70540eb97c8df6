package dev.yulan.inference.cache;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The paged KV memory: a fixed off-heap pool of equal blocks (vLLM's PagedAttention), with
 *
 * <ul>
 *   <li>shards: every block is charged to the shard (owning Kafka partition) of the sequence that allocated it; a shard
 *       may have a block limit, and {@link #dropShard} returns all of a shard's blocks at once;
 *   <li>a prefix cache: a full block can be published under the hash chain of its tokens, so a later sequence of the
 *       same shard with the same prefix reuses it instead of recomputing it. Blocks are reference-counted; published
 *       blocks nobody references stay cached and are evicted least-recently-used when memory is needed.
 * </ul>
 *
 * <p>Not thread-safe by design: the engine's scheduler thread owns it. Statistics may be read from any thread.
 */
public final class BlockPool implements AutoCloseable {

    private static final int NONE = -1;

    private final KvLayout layout;
    private final Arena arena;
    private final MemorySegment memory;
    private final int capacity;
    private final int shardLimit;

    private final int[] refCount;
    private final int[] shardOf;
    private final long[] hashOf;
    private final boolean[] published;
    private final int[] blockTokens;
    private final int[] freeStack;
    private int freeTop;
    /** LRU list of published, unreferenced blocks: head is the least recently used. */
    private final int[] lruPrev;

    private final int[] lruNext;
    private int lruHead = NONE;
    private int lruTail = NONE;

    private final Map<Long, Integer> cachedByHash = new HashMap<>();
    private final Map<Integer, Integer> usedByShard = new HashMap<>();
    private final Map<Integer, Integer> evictableByShard = new HashMap<>();
    private int evictable;

    private volatile long prefixQueries;
    private volatile long prefixHits;
    private volatile long evictions;
    private volatile int used;

    /**
     * @param budgetBytes the pool's size; it holds {@code budgetBytes / layout.blockBytes()} blocks
     * @param shardLimit the most blocks one shard may hold (cached ones included); {@code 0} for no limit
     */
    public BlockPool(KvLayout layout, long budgetBytes, int shardLimit) {
        long blocks = budgetBytes / layout.blockBytes();
        if (blocks < 1) {
            throw new IllegalArgumentException("a KV budget of " + budgetBytes + " bytes holds no block of "
                    + layout.blockBytes() + " bytes; raise the KV cache size");
        }
        if (blocks > Integer.MAX_VALUE / layout.blockTokens()) {
            throw new IllegalArgumentException("KV budget too large: " + budgetBytes + " bytes");
        }
        this.layout = layout;
        this.capacity = (int) blocks;
        this.shardLimit = shardLimit <= 0 ? capacity : Math.min(shardLimit, capacity);
        this.arena = Arena.ofShared();
        this.memory = arena.allocate(capacity * layout.blockBytes(), 64);
        this.refCount = new int[capacity];
        this.shardOf = new int[capacity];
        this.hashOf = new long[capacity];
        this.published = new boolean[capacity];
        this.blockTokens = new int[capacity * layout.blockTokens()];
        this.freeStack = new int[capacity];
        this.lruPrev = new int[capacity];
        this.lruNext = new int[capacity];
        for (int i = 0; i < capacity; i++) {
            freeStack[i] = capacity - 1 - i;
        }
        Arrays.fill(lruPrev, NONE);
        Arrays.fill(lruNext, NONE);
        this.freeTop = capacity;
    }

    public KvLayout layout() {
        return layout;
    }

    /** The pool's memory; block {@code b} starts at {@link #blockOffset(int) blockOffset(b)}. */
    public MemorySegment memory() {
        return memory;
    }

    public long blockOffset(int block) {
        return block * layout.blockBytes();
    }

    public int capacity() {
        return capacity;
    }

    /** Blocks referenced by sequences or held by the prefix cache. */
    public int usedBlocks() {
        return used;
    }

    public int freeBlocks() {
        return capacity - used;
    }

    /** Blocks that could be had right now for {@code shard}: free ones plus evictable cached ones, within its limit. */
    public int availableBlocks(int shard) {
        int shardRoom = shardLimit - usedByShard.getOrDefault(shard, 0) + evictableByShard.getOrDefault(shard, 0);
        return Math.min(freeTop + evictable, shardRoom);
    }

    public int shardBlocks(int shard) {
        return usedByShard.getOrDefault(shard, 0);
    }

    public Map<Integer, Integer> blocksByShard() {
        return Map.copyOf(usedByShard);
    }

    public long prefixQueries() {
        return prefixQueries;
    }

    public long prefixHits() {
        return prefixHits;
    }

    public long evictions() {
        return evictions;
    }

    /**
     * Takes a block for {@code shard} with a reference count of one, evicting cached blocks if needed.
     *
     * @return the block, or {@code -1} when none can be had (the caller preempts)
     */
    public int allocate(int shard) {
        int shardUsed = usedByShard.getOrDefault(shard, 0);
        if (shardUsed >= shardLimit && !evictOldestOf(shard)) {
            return NONE;
        }
        if (freeTop == 0 && !evictOldest()) {
            return NONE;
        }
        int block = freeStack[--freeTop];
        refCount[block] = 1;
        shardOf[block] = shard;
        published[block] = false;
        usedByShard.merge(shard, 1, Integer::sum);
        used++;
        return block;
    }

    /** Drops one reference; an unreferenced block goes back to the free list, or to the LRU list if published. */
    public void release(int block) {
        if (refCount[block] <= 0) {
            throw new IllegalStateException("block " + block + " released more often than referenced");
        }
        if (--refCount[block] > 0) {
            return;
        }
        if (published[block]) {
            lruAppend(block);
        } else {
            free(block);
        }
    }

    /**
     * Publishes a full block under {@code hash} (the chain hash of its tokens, see {@link #chainHash}), so that later
     * sequences of the same shard can reuse it. A block already published under that hash is left as it is.
     */
    public void publish(int block, long hash, int[] tokens, int offset) {
        if (published[block] || cachedByHash.containsKey(key(shardOf[block], hash))) {
            return;
        }
        published[block] = true;
        hashOf[block] = hash;
        System.arraycopy(tokens, offset, blockTokens, block * layout.blockTokens(), layout.blockTokens());
        cachedByHash.put(key(shardOf[block], hash), block);
    }

    /**
     * Looks a full block up in the prefix cache; on a hit its reference count grows by one.
     *
     * @return the cached block, or {@code -1}
     */
    public int lookup(int shard, long hash, int[] tokens, int offset) {
        prefixQueries++;
        Integer block = cachedByHash.get(key(shard, hash));
        if (block == null
                || !Arrays.equals(
                        blockTokens,
                        block * layout.blockTokens(),
                        (block + 1) * layout.blockTokens(),
                        tokens,
                        offset,
                        offset + layout.blockTokens())) {
            return NONE;
        }
        if (refCount[block]++ == 0) {
            lruRemove(block);
        }
        prefixHits++;
        return block;
    }

    /**
     * Frees every block of a shard: its partition left this instance. The caller must have released the references of
     * the shard's sequences first; blocks still referenced are reported as an error.
     */
    public void dropShard(int shard) {
        for (int b = 0; b < capacity; b++) {
            if (shardOf[b] == shard && (refCount[b] > 0 || published[b])) {
                if (refCount[b] > 0) {
                    throw new IllegalStateException("shard " + shard + " dropped while block " + b + " is in use");
                }
                lruRemove(b);
                free(b);
            }
        }
    }

    /** The hash of a full block: its parent's hash, its shard and its tokens. */
    public static long chainHash(long parent, int shard, int[] tokens, int offset, int count) {
        long h = mix(parent ^ 0x9E3779B97F4A7C15L * (shard + 1L));
        for (int i = 0; i < count; i++) {
            h = mix(h + tokens[offset + i] * 0xBF58476D1CE4E5B9L + i);
        }
        return h;
    }

    @Override
    public void close() {
        arena.close();
    }

    private boolean evictOldest() {
        if (lruHead == NONE) {
            return false;
        }
        evict(lruHead);
        return true;
    }

    private boolean evictOldestOf(int shard) {
        for (int b = lruHead; b != NONE; b = lruNext[b]) {
            if (shardOf[b] == shard) {
                evict(b);
                return true;
            }
        }
        return false;
    }

    private void evict(int block) {
        lruRemove(block);
        free(block);
        evictions++;
    }

    private void free(int block) {
        if (published[block]) {
            cachedByHash.remove(key(shardOf[block], hashOf[block]));
            published[block] = false;
        }
        refCount[block] = 0;
        usedByShard.computeIfPresent(shardOf[block], (s, n) -> n == 1 ? null : n - 1);
        used--;
        freeStack[freeTop++] = block;
    }

    private void lruAppend(int block) {
        evictable++;
        evictableByShard.merge(shardOf[block], 1, Integer::sum);
        lruPrev[block] = lruTail;
        lruNext[block] = NONE;
        if (lruTail != NONE) {
            lruNext[lruTail] = block;
        } else {
            lruHead = block;
        }
        lruTail = block;
    }

    private void lruRemove(int block) {
        boolean linked = lruHead == block || lruPrev[block] != NONE && lruNext[lruPrev[block]] == block;
        if (!linked) {
            return;
        }
        evictable--;
        evictableByShard.computeIfPresent(shardOf[block], (s, n) -> n == 1 ? null : n - 1);
        int prev = lruPrev[block];
        int next = lruNext[block];
        if (prev != NONE) {
            lruNext[prev] = next;
        } else {
            lruHead = next;
        }
        if (next != NONE) {
            lruPrev[next] = prev;
        } else {
            lruTail = prev;
        }
        lruPrev[block] = NONE;
        lruNext[block] = NONE;
    }

    private static long key(int shard, long hash) {
        return hash ^ mix(shard * 0x94D049BB133111EBL + 1);
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
