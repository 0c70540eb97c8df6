package dev.yulan.inference.kernel;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/** Hand-run probe: GFLOP per CPU-second of the 4x4 register tile alone, on cached data. Args: stride batch. */
public final class TileThroughput {
    private TileThroughput() {}

    public static void main(String[] args) {
        int stride = Integer.parseInt(args[0]);
        int batch = Integer.parseInt(args[1]);
        float[] ws = new float[4 * stride];
        float[] xs = new float[batch * stride];
        for (int i = 0; i < ws.length; i++) ws[i] = i % 7 * 0.1f;
        for (int i = 0; i < xs.length; i++) xs[i] = i % 5 * 0.1f;
        float[] out = new float[batch * 4];
        float[] red = new float[16 * VectorKernels.L];
        ThreadMXBean tb = ManagementFactory.getThreadMXBean();
        for (int rep = 0; rep < 8; rep++) {
            long c0 = tb.getCurrentThreadCpuTime();
            long n = 0;
            while (tb.getCurrentThreadCpuTime() - c0 < 300_000_000L) {
                for (int it = 0; it < 100; it++) {
                    for (int b = 0; b + 4 <= batch; b += 4) {
                        VectorKernels.tile4x4(ws, stride, xs, b, out, 4, 0, red);
                    }
                    n++;
                }
            }
            long c = tb.getCurrentThreadCpuTime() - c0;
            System.out.printf(
                    "stride %d batch %d: %.1f GFLOP per CPU-s%n", stride, batch, 2.0 * 4 * batch * stride * n / c);
        }
    }
}
