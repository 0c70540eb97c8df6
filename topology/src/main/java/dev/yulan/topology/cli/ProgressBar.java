package dev.yulan.topology.cli;

import dev.yulan.inference.model.LoadProgress;
import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress of long work on stderr: a redrawn bar on a terminal, a line every 10% otherwise (logs stay readable).
 * Thread-safe: loaders report from several threads.
 */
public final class ProgressBar implements LoadProgress {

    private final String label;
    private final PrintStream out;
    private final boolean terminal = System.console() != null;
    private final long startNanos = System.nanoTime();
    private int lastShown = -1;

    public ProgressBar(String label, PrintStream out) {
        this.label = label;
        this.out = out;
    }

    @Override
    public synchronized void update(long done, long total) {
        if (total <= 0) {
            return;
        }
        int percent = (int) Math.min(100, done * 100 / total);
        int step = terminal ? percent : percent / 10 * 10;
        if (step == lastShown) {
            return;
        }
        lastShown = step;
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        double mbPerSecond = seconds > 0 ? done / 1e6 / seconds : 0;
        if (terminal) {
            int filled = percent / 4;
            out.printf(
                    Locale.ROOT,
                    "\r%s [%s%s] %3d%% %,.0f/%,.0f MB %.0f MB/s",
                    label,
                    "#".repeat(filled),
                    " ".repeat(25 - filled),
                    percent,
                    done / 1e6,
                    total / 1e6,
                    mbPerSecond);
            if (percent == 100) {
                out.println();
            }
        } else {
            out.printf(Locale.ROOT, "%s: %d%% of %,.0f MB (%.0f MB/s)%n", label, step, total / 1e6, mbPerSecond);
        }
        out.flush();
    }
}
