package dev.yulan.inference.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Measures the two limits that bound the engine on this machine: memory read bandwidth (batch-1 decode streams every
 * weight once per token) and the fp32 FMA peak (large batches are compute-bound). Each takes about a second.
 *
 * <p>Both run on the given kernels' worker threads, so they measure what the engine can use. The FMA peak is what the
 * JIT reaches with 512-bit FMAs in registers (two per cycle per core on Sapphire Rapids); a C loop compiled without
 * unrolling reports far less.
 */
public final class MachineLimits {

    private static final VectorSpecies<Long> LONGS = LongVector.SPECIES_PREFERRED;
    private static final long CHUNK = 16L << 20;

    private MachineLimits() {}

    /** Best of a few multi-threaded streaming reads over 1 GiB off-heap, in GB/s (10^9 bytes per second). */
    public static double measureReadBandwidth(Kernels kernels) {
        return measureReadBandwidth(kernels, 1L << 30, 4);
    }

    /** Best of {@code runs} multi-threaded streaming reads over {@code bytes} off-heap, in GB/s. */
    public static double measureReadBandwidth(Kernels kernels, long bytes, int runs) {
        long size = Math.max(CHUNK, bytes / CHUNK * CHUNK);
        int chunks = (int) (size / CHUNK);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffer = arena.allocate(size, 4096);
            kernels.parallelFor(chunks, c -> buffer.asSlice(c * CHUNK, CHUNK).fill((byte) c));
            long[] sinks = new long[chunks];
            double best = 0;
            for (int run = 0; run <= runs; run++) { // run 0 warms up the JIT and is not counted
                long start = System.nanoTime();
                kernels.parallelFor(chunks, c -> sinks[c] = readChunk(buffer, c * CHUNK));
                long nanos = System.nanoTime() - start;
                if (run > 0) {
                    best = Math.max(best, (double) size / nanos);
                }
            }
            return best;
        }
    }

    private static long readChunk(MemorySegment buffer, long off) {
        int step = LONGS.vectorByteSize();
        LongVector a = LongVector.zero(LONGS), b = a, c = a, d = a;
        for (long p = off, end = off + CHUNK; p < end; p += 4L * step) {
            a = a.add(LongVector.fromMemorySegment(LONGS, buffer, p, ByteOrder.LITTLE_ENDIAN));
            b = b.add(LongVector.fromMemorySegment(LONGS, buffer, p + step, ByteOrder.LITTLE_ENDIAN));
            c = c.add(LongVector.fromMemorySegment(LONGS, buffer, p + 2L * step, ByteOrder.LITTLE_ENDIAN));
            d = d.add(LongVector.fromMemorySegment(LONGS, buffer, p + 3L * step, ByteOrder.LITTLE_ENDIAN));
        }
        return a.add(b).add(c).add(d).lane(0);
    }

    /** fp32 FMA throughput of all the kernels' threads, each running independent FMA chains in registers, in GFLOP/s. */
    public static double measureFmaPeak(Kernels kernels) {
        int tasks = kernels.threads();
        float[] sinks = new float[tasks];
        kernels.parallelFor(tasks, t -> sinks[t] = fmaChains(20_000)); // warm-up, so the measured code is compiled
        double best = 0;
        long iterations = 4_000_000;
        for (int run = 0; run < 3; run++) {
            long start = System.nanoTime();
            kernels.parallelFor(tasks, t -> sinks[t] = fmaChains(iterations));
            long nanos = System.nanoTime() - start;
            double flops = 2.0 * VectorKernels.L * 12 * iterations * tasks;
            best = Math.max(best, flops / nanos);
        }
        return best;
    }

    private static float fmaChains(long iterations) {
        var f = VectorKernels.F;
        FloatVector m = FloatVector.broadcast(f, 0.999999f);
        FloatVector c = FloatVector.broadcast(f, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(f, 1f), a1 = a0.add(1f), a2 = a0.add(2f), a3 = a0.add(3f);
        FloatVector a4 = a0.add(4f), a5 = a0.add(5f), a6 = a0.add(6f), a7 = a0.add(7f);
        FloatVector a8 = a0.add(8f), a9 = a0.add(9f), a10 = a0.add(10f), a11 = a0.add(11f);
        for (long i = 0; i < iterations; i++) {
            a0 = a0.fma(m, c);
            a1 = a1.fma(m, c);
            a2 = a2.fma(m, c);
            a3 = a3.fma(m, c);
            a4 = a4.fma(m, c);
            a5 = a5.fma(m, c);
            a6 = a6.fma(m, c);
            a7 = a7.fma(m, c);
            a8 = a8.fma(m, c);
            a9 = a9.fma(m, c);
            a10 = a10.fma(m, c);
            a11 = a11.fma(m, c);
        }
        return a0.add(a1)
                .add(a2)
                .add(a3)
                .add(a4)
                .add(a5)
                .add(a6)
                .add(a7)
                .add(a8)
                .add(a9)
                .add(a10)
                .add(a11)
                .lane(0);
    }
}
