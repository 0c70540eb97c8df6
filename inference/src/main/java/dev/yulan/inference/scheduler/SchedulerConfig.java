package dev.yulan.inference.scheduler;

import dev.yulan.inference.tensor.DType;
import java.time.Duration;

/**
 * Limits of continuous batching.
 *
 * @param maxRunning sequences decoding or prefilling at once
 * @param maxBatchTokens rows of one forward step (every running decode plus prefill chunks); at least maxRunning
 * @param batchingWindow how long an idle engine waits for a burst of requests to gather before its first step
 * @param blockTokens positions per KV block
 * @param kvDtype KV storage type (BF16 by default; F16 or F32)
 * @param kvCacheBytes the KV pool's size
 * @param shardBlockLimit most KV blocks one shard may hold, 0 for no limit
 * @param maxContext longest sequence (prompt plus generated), at most the model's context
 */
public record SchedulerConfig(
        int maxRunning,
        int maxBatchTokens,
        Duration batchingWindow,
        int blockTokens,
        DType kvDtype,
        long kvCacheBytes,
        int shardBlockLimit,
        int maxContext) {

    public SchedulerConfig {
        if (maxRunning < 1) {
            throw new IllegalArgumentException("maxRunning must be at least 1");
        }
        if (maxBatchTokens < maxRunning) {
            throw new IllegalArgumentException("maxBatchTokens (" + maxBatchTokens + ") must be at least maxRunning ("
                    + maxRunning + "): every running decode needs a row");
        }
    }

    /** Defaults for a model of {@code contextLength}: 32 sequences, 256-token steps, 2 ms window, 1 GiB of BF16 KV. */
    public static SchedulerConfig defaults(int contextLength) {
        return new SchedulerConfig(32, 256, Duration.ofMillis(2), 16, DType.BF16, 1L << 30, 0, contextLength);
    }

    public SchedulerConfig withMaxRunning(int value) {
        return new SchedulerConfig(
                value,
                Math.max(value, maxBatchTokens),
                batchingWindow,
                blockTokens,
                kvDtype,
                kvCacheBytes,
                shardBlockLimit,
                maxContext);
    }

    public SchedulerConfig withMaxBatchTokens(int value) {
        return new SchedulerConfig(
                maxRunning, value, batchingWindow, blockTokens, kvDtype, kvCacheBytes, shardBlockLimit, maxContext);
    }

    public SchedulerConfig withKvCache(long bytes, DType dtype) {
        return new SchedulerConfig(
                maxRunning, maxBatchTokens, batchingWindow, blockTokens, dtype, bytes, shardBlockLimit, maxContext);
    }

    public SchedulerConfig withBatchingWindow(Duration value) {
        return new SchedulerConfig(
                maxRunning, maxBatchTokens, value, blockTokens, kvDtype, kvCacheBytes, shardBlockLimit, maxContext);
    }

    public SchedulerConfig withShardBlockLimit(int value) {
        return new SchedulerConfig(
                maxRunning, maxBatchTokens, batchingWindow, blockTokens, kvDtype, kvCacheBytes, value, maxContext);
    }

    public SchedulerConfig withMaxContext(int value) {
        return new SchedulerConfig(
                maxRunning, maxBatchTokens, batchingWindow, blockTokens, kvDtype, kvCacheBytes, shardBlockLimit, value);
    }
}
