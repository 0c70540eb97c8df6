package dev.yulan.topology.cli;

import dev.yulan.inference.model.LoadProgress;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Progress of long work (loading, quantizing, writing a model): a redrawn bar on a terminal, a line every 10% otherwise
 * (logs stay readable). Downloads have their own display in the hub package (per file, with resume).
 * Thread-safe: loaders report from several threads.
 */
public final class ProgressBar implements LoadProgress {

    private final String label;
    private final PrintWriter out;
    private final boolean terminal;
    private final long startNanos = System.nanoTime();
    private int lastShown = -1;

    /** Progress on {@code out}; redrawn in place only when it is stderr and stderr is a terminal. */
    public ProgressBar(String label, PrintStream out) {
        this(label, new PrintWriter(out, true, StandardCharsets.UTF_8), out == System.err && stderrIsTerminal());
    }

    /** Progress on a writer (a command's error stream); {@code terminal} redraws a bar in place. */
    public ProgressBar(String label, PrintWriter out, boolean terminal) {
        this.label = label;
        this.out = out;
        this.terminal = terminal;
    }

    /** Whether stderr is a terminal (Linux tells exactly; System.console() only knows about stdin and stdout). */
    static boolean stderrIsTerminal() {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            var console = System.console();
            return console != null && console.isTerminal();
        }
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
