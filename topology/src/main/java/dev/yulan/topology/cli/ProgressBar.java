package dev.yulan.topology.cli;

import dev.yulan.inference.model.LoadProgress;
import dev.yulan.inference.model.hub.DownloadProgress;
import java.io.PrintStream;

/**
 * Progress of long work (loading, quantizing, writing a model), drawn like a download: a bar redrawn in place on a
 * terminal, a few lines otherwise (logs stay readable). Thread-safe: loaders report from several threads.
 */
public final class ProgressBar implements LoadProgress {

    private final String label;
    private final DownloadProgress display;
    private boolean started;
    private boolean finished;

    /** Progress on {@code out}: a redrawn bar when it is stderr on a terminal, lines otherwise. */
    public ProgressBar(String label, PrintStream out) {
        this(label, out == System.err ? DownloadProgress.stderr() : DownloadProgress.to(out, false));
    }

    ProgressBar(String label, DownloadProgress display) {
        this.label = label;
        this.display = display;
    }

    @Override
    public synchronized void update(long done, long total) {
        if (total <= 0 || finished) {
            return;
        }
        if (!started) {
            started = true;
            display.started(label, total, 0);
        }
        display.advanced(Math.min(done, total));
        if (done >= total) {
            finished = true;
            display.finished(true);
        }
    }
}
