package dev.yulan.inference.model.hub;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

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

    /**
     * A progress bar on stderr when it is a terminal; otherwise (a log, a pipe) a line as each file starts and ends,
     * and for large files one at every tenth.
     */
    static DownloadProgress stderr() {
        return new ConsoleProgress(System.err, stderrIsTerminal(), System::nanoTime);
    }

    private static boolean stderrIsTerminal() {
        try {
            // Linux tells exactly; System.console() only knows about stdin and stdout.
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            var console = System.console();
            return console != null && console.isTerminal();
        }
    }

    /** Progress written to the given stream, as a redrawn bar or as plain lines. */
    static DownloadProgress to(PrintStream out, boolean terminal) {
        return new ConsoleProgress(out, terminal, System::nanoTime);
    }
}
