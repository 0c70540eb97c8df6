package dev.yulan.inference.scheduler;

import java.util.Map;

/** A snapshot of the scheduler for metrics: sequences, KV blocks, prefix cache, steps and tokens so far. */
public record SchedulerStats(
        int running,
        int waiting,
        int kvBlocksTotal,
        int kvBlocksUsed,
        Map<Integer, Integer> kvBlocksByShard,
        long prefixQueries,
        long prefixHits,
        long preemptions,
        long steps,
        long stepRows,
        int lastStepRows,
        long promptTokensComputed,
        long tokensGenerated) {}
