package dev.yulan.inference.model.hub;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Download progress for people: on a terminal a bar redrawn in place at most ten times a second (bytes, percent,
 * MB/s); elsewhere (logs, CI, pipes) a line when a file starts and one when it ends, plus one at every tenth of
 * files large enough to take a while.
 */
final class ConsoleProgress implements DownloadProgress {

    private static final long REDRAW_NANOS = 100_000_000L;
    private static final int BAR_WIDTH = 24;
    /** Files at least this large get a line at every tenth when there is no terminal. */
    static final long STEP_LINES_FROM_BYTES = 100_000_000L;

    private final PrintStream out;
    private final boolean terminal;
    private final LongSupplier nanoClock;
    private String label = "";
    private long total = -1;
    private long resumedAt;
    private long bytes;
    private long startNanos;
    private long lastDrawNanos;
    private int lastLineLength;
    private int lastTenth;

    ConsoleProgress(PrintStream out, boolean terminal, LongSupplier nanoClock) {
        this.out = out;
        this.terminal = terminal;
        this.nanoClock = nanoClock;
    }

    @Override
    public synchronized void started(String label, long totalBytes, long resumedAt) {
        this.label = label;
        this.total = totalBytes;
        this.resumedAt = resumedAt;
        this.bytes = resumedAt;
        this.startNanos = nanoClock.getAsLong();
        this.lastDrawNanos = Long.MIN_VALUE;
        this.lastLineLength = 0;
        this.lastTenth = total > 0 ? (int) (10 * resumedAt / total) : 0;
        if (terminal) {
            draw(startNanos);
        } else {
            String size = total >= 0 ? " (" + megabytes(total) + ")" : "";
            String resume = resumedAt > 0 ? ", resuming at " + megabytes(resumedAt) : "";
            out.println("downloading " + label + size + resume);
        }
    }

    @Override
    public synchronized void advanced(long bytes) {
        this.bytes = bytes;
        long now = nanoClock.getAsLong();
        if (terminal && now - lastDrawNanos >= REDRAW_NANOS) {
            draw(now);
        } else if (!terminal && total >= STEP_LINES_FROM_BYTES) {
            int tenth = (int) (10 * Math.min(bytes, total) / total);
            if (tenth > lastTenth && tenth < 10) {
                lastTenth = tenth;
                out.println(line(now));
            }
        }
    }

    @Override
    public synchronized void finished(boolean success) {
        long now = nanoClock.getAsLong();
        if (terminal) {
            draw(now);
            out.println(success ? "" : "  (interrupted)");
        } else if (success) {
            out.println("downloaded " + label + ": " + megabytes(bytes) + " in "
                    + String.format(Locale.ROOT, "%.1f s", (now - startNanos) / 1e9) + " (" + rate(now) + ")");
        } else {
            out.println("download of " + label + " stopped at " + megabytes(bytes));
        }
        out.flush();
    }

    private void draw(long now) {
        lastDrawNanos = now;
        String line = line(now);
        int pad = Math.max(0, lastLineLength - line.length());
        out.print("\r" + line + " ".repeat(pad));
        out.flush();
        lastLineLength = line.length();
    }

    /** One rendering of the bar, e.g. {@code name [#######.....]  58%  12.0/20.7 MB  3.4 MB/s}. */
    String line(long now) {
        StringBuilder line = new StringBuilder(label).append(' ');
        if (total > 0) {
            double fraction = Math.min(1.0, (double) bytes / total);
            int filled = (int) Math.round(fraction * BAR_WIDTH);
            line.append('[')
                    .append("#".repeat(filled))
                    .append(".".repeat(BAR_WIDTH - filled))
                    .append("] ")
                    .append(String.format(Locale.ROOT, "%3d%%", (int) Math.floor(fraction * 100)))
                    .append("  ")
                    .append(String.format(Locale.ROOT, "%.1f/%s", bytes / 1e6, megabytes(total)));
        } else {
            line.append(megabytes(bytes));
        }
        return line.append("  ").append(rate(now)).toString();
    }

    private String rate(long now) {
        double seconds = Math.max(1e-3, (now - startNanos) / 1e9);
        return String.format(Locale.ROOT, "%.1f MB/s", (bytes - resumedAt) / 1e6 / seconds);
    }

    private static String megabytes(long bytes) {
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }
}
