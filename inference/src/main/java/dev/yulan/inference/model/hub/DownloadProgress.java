package dev.yulan.inference.model.hub;

import java.io.PrintStream;

/** Hears about one file download at a time: its start, the bytes so far, its end. */
public interface DownloadProgress {

    /**
     * A download begins.
     *
     * @param label what is downloaded, e.g. {@code owner/name model.safetensors}
     * @param totalBytes the file's size, or -1 if unknown
     * @param resumedAt bytes already on disk from an earlier attempt
     */
    void started(String label, long totalBytes, long resumedAt);

    /** Bytes of the file on disk now (including resumed ones). */
    void advanced(long bytes);

    /** The download finished (successfully or not). */
    void finished(boolean success);

    /** Reports nothing. */
    static DownloadProgress silent() {
        return new DownloadProgress() {
            @Override
            public void started(String label, long totalBytes, long resumedAt) {}

            @Override
            public void advanced(long bytes) {}

            @Override
            public void finished(boolean success) {}
        };
    }

    /** A progress bar on stderr when it is a terminal, otherwise one line per file start and end. */
    static DownloadProgress stderr() {
        var console = System.console();
        boolean terminal = console != null && console.isTerminal();
        return new ConsoleProgress(System.err, terminal, System::nanoTime);
    }

    /** Progress written to the given stream, as a redrawn bar or as plain lines. */
    static DownloadProgress to(PrintStream out, boolean terminal) {
        return new ConsoleProgress(out, terminal, System::nanoTime);
    }
}
