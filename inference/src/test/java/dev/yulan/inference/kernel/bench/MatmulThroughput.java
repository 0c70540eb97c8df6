package dev.yulan.inference.kernel.bench;

import dev.yulan.inference.kernel.Kernels;
import dev.yulan.inference.kernel.MachineLimits;
import dev.yulan.inference.tensor.DType;
import dev.yulan.inference.tensor.Elements;
import dev.yulan.inference.tensor.Matrix;
import dev.yulan.inference.tensor.Panels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Hand-run throughput of {@link Kernels#matmul} on YuLan-Mini-shaped random matrices, next to the machine's measured
 * limits. Weights are several distinct off-heap matrices totaling more than the caches, cycled through, so batch-1
 * numbers are memory-bound as in a real forward pass.
 *
 * <p>Args: {@code [threads] [rows] [cols] [totalMiB] [dtypes, e.g. BF16,Q8_0,Q4_0] [batches, e.g. 1,4,16,64]}.
 */
public final class MatmulThroughput {

    private MatmulThroughput() {}

    public static void main(String[] args) {
        int threads = args.length > 0
                ? Integer.parseInt(args[0])
                : Runtime.getRuntime().availableProcessors();
        int rows = args.length > 1 ? Integer.parseInt(args[1]) : 4800;
        int cols = args.length > 2 ? Integer.parseInt(args[2]) : 1920;
        long totalBytes = (args.length > 3 ? Long.parseLong(args[3]) : 1200) << 20;
        String[] dtypes = (args.length > 4 ? args[4] : "BF16,Q8_0,Q4_0").split(",");
        String[] batches = (args.length > 5 ? args[5] : "1,4,16,64").split(",");
        try (Kernels kernels = Kernels.create(threads)) {
            double bandwidth = MachineLimits.measureReadBandwidth(kernels);
            double peak = MachineLimits.measureFmaPeak(kernels);
            System.out.printf(
                    Locale.ROOT,
                    "threads %d  read bandwidth %.1f GB/s  fp32 FMA peak %.1f GFLOP/s%n",
                    threads,
                    bandwidth,
                    peak);
            for (String name : dtypes) {
                DType dtype = DType.valueOf(name);
                try (Arena arena = Arena.ofShared()) {
                    Matrix[] ws = matrices(arena, dtype, rows, cols, totalBytes);
                    for (String b : batches) {
                        run(kernels, ws, Integer.parseInt(b), bandwidth, peak);
                    }
                }
            }
        }
    }

    private static void run(Kernels kernels, Matrix[] ws, int batch, double bandwidth, double peak) {
        Matrix w0 = ws[0];
        float[] x = new float[batch * w0.cols()];
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextDouble(-1, 1);
        }
        float[] out = new float[batch * w0.rows()];
        long flopsPerPass = 2L * w0.rows() * w0.cols() * batch * ws.length;
        long bytesPerPass = w0.byteSize() * ws.length;
        // Warm up until the JIT has settled (half-second windows stop getting faster), then time about two seconds.
        double best = 0;
        int passes = 1;
        for (int window = 0; window < 20; window++) {
            long windowStart = System.nanoTime();
            int count = 0;
            while (System.nanoTime() - windowStart < 500_000_000L) {
                for (Matrix w : ws) {
                    kernels.matmul(w, x, out, batch);
                }
                count++;
            }
            double rate = count / (double) (System.nanoTime() - windowStart);
            passes = (int) Math.max(1, rate * 2e9);
            if (window >= 2 && rate < best * 1.05) {
                break;
            }
            best = Math.max(best, rate);
        }
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long cpuStart = os.getProcessCpuTime();
        long start = System.nanoTime();
        for (int p = 0; p < passes; p++) {
            for (Matrix w : ws) {
                kernels.matmul(w, x, out, batch);
            }
        }
        double nanos = System.nanoTime() - start;
        double cpuNanos = os.getProcessCpuTime() - cpuStart;
        double gbs = (double) bytesPerPass * passes / nanos;
        double gflops = (double) flopsPerPass * passes / nanos;
        System.out.printf(
                Locale.ROOT,
                "%-5s %dx%d batch %3d: %6.1f GB/s (%.2f of bandwidth) %6.1f GFLOP/s (%.2f of peak);"
                        + " per CPU-second %6.1f GB %6.1f GFLOP (cores busy %.2f)%n",
                w0.dtype(),
                w0.rows(),
                w0.cols(),
                batch,
                gbs,
                gbs / bandwidth,
                gflops,
                gflops / peak,
                (double) bytesPerPass * passes / cpuNanos,
                (double) flopsPerPass * passes / cpuNanos,
                cpuNanos / nanos);
    }

    /** Distinct matrices of random weights totaling about {@code totalBytes}; one is random, the others copies. */
    static Matrix[] matrices(Arena arena, DType dtype, int rows, int cols, long totalBytes) {
        long bytes = rows * dtype.bytesFor(cols);
        int count = (int) Math.max(1, totalBytes / bytes);
        MemorySegment first = arena.allocate(bytes, 64);
        fillRandom(first, dtype, rows, cols);
        Matrix packed = Panels.pack(new Matrix(dtype, rows, cols, first), arena);
        Matrix[] ws = new Matrix[count];
        for (int i = 0; i < count; i++) {
            MemorySegment data = i == 0
                    ? packed.data()
                    : arena.allocate(packed.byteSize(), 64).copyFrom(packed.data());
            ws[i] = new Matrix(dtype, rows, cols, data, Matrix.Layout.PANELS);
        }
        return ws;
    }

    /** Finite, normal random weights of magnitude about 0.01-1 in any dtype. */
    public static void fillRandom(MemorySegment data, DType dtype, int rows, int cols) {
        SplittableRandom random = new SplittableRandom(42);
        long rowBytes = dtype.bytesFor(cols);
        for (int r = 0; r < rows; r++) {
            long row = r * rowBytes;
            switch (dtype) {
                case F32, F16, BF16 -> {
                    for (int k = 0; k < cols; k++) {
                        Elements.set(data, row, dtype, k, (float) random.nextDouble(-1, 1));
                    }
                }
                case Q8_0, Q4_0 -> {
                    for (long b = 0; b < rowBytes; b += dtype.blockBytes()) {
                        float scale = (float) random.nextDouble(0.001, 0.02);
                        data.set(Elements.SHORT_LE, row + b, Elements.floatToF16(scale));
                        for (int i = 2; i < dtype.blockBytes(); i++) {
                            data.set(ValueLayout.JAVA_BYTE, row + b + i, (byte) random.nextInt(256));
                        }
                    }
                }
            }
        }
    }
}
