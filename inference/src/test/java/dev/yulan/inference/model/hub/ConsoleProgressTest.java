package dev.yulan.inference.model.hub;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ConsoleProgressTest {

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    private final AtomicLong clock = new AtomicLong();

    private String text() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void terminalBarShowsBytesPercentAndRateAndRedrawsAtMostTenTimesASecond() {
        ConsoleProgress progress = new ConsoleProgress(out, true, clock::get);
        progress.started("acme/tiny model.safetensors", 20_000_000, 0);
        for (int i = 1; i <= 1000; i++) {
            clock.addAndGet(1_000_000); // 1 ms per chunk: one second in all
            progress.advanced(i * 10_000L);
        }
        progress.finished(true);

        String text = text();
        long redraws = text.chars().filter(c -> c == '\r').count();
        assertThat(redraws).isBetween(10L, 13L);
        assertThat(text)
                .contains("acme/tiny model.safetensors [############............]  50%  10.0/20.0 MB  10.0 MB/s")
                .endsWith("\n");
    }

    @Test
    void resumedBytesDoNotCountTowardsTheRate() {
        ConsoleProgress progress = new ConsoleProgress(out, true, clock::get);
        progress.started("f", 10_000_000, 8_000_000);
        clock.addAndGet(1_000_000_000L);
        progress.advanced(10_000_000);

        assertThat(progress.line(clock.get())).contains("100%").endsWith("2.0 MB/s");
    }

    @Test
    void withoutATerminalOnlyStartAndEndLinesAppear() {
        ConsoleProgress progress = new ConsoleProgress(out, false, clock::get);
        progress.started("acme/tiny model.safetensors", 5_000_000, 1_000_000);
        for (int i = 0; i < 500; i++) {
            clock.addAndGet(10_000_000);
            progress.advanced(1_000_000 + i * 8_000L);
        }
        progress.finished(true);

        assertThat(text().lines())
                .containsExactly(
                        "downloading acme/tiny model.safetensors (5.0 MB), resuming at 1.0 MB",
                        "downloaded acme/tiny model.safetensors: 5.0 MB in 5.0 s (0.8 MB/s)");
    }

    @Test
    void withoutATerminalLargeFilesGetALineAtEveryTenth() {
        ConsoleProgress progress = new ConsoleProgress(out, false, clock::get);
        long total = ConsoleProgress.STEP_LINES_FROM_BYTES * 2;
        progress.started("big", total, 0);
        for (int i = 1; i <= 1000; i++) {
            clock.addAndGet(10_000_000);
            progress.advanced(total * i / 1000);
        }
        progress.finished(true);

        assertThat(text().lines()).hasSize(11);
        assertThat(text().lines().skip(1).limit(9))
                .allMatch(line -> line.startsWith("big ["))
                .anyMatch(line -> line.contains(" 50%"));
    }
}
