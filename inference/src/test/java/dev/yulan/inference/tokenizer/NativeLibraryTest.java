package dev.yulan.inference.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The native library in a fresh JVM: extracted where the package documentation says, nothing else needed. */
class NativeLibraryTest {

    @Test
    void extractsTheNativeLibraryIntoDjlCacheDir(@TempDir Path dir) throws Exception {
        Path cache = dir.resolve("cache");

        String output = runProbe(dir, "-DDJL_CACHE_DIR=" + cache);

        assertThat(output).contains("[403, 407, 261, 378]").contains("OPT_OUT_TRACKING=true");
        assertThat(librariesUnder(cache)).hasSize(1);
    }

    @Test
    void fallsBackToTheTempDirWhenHomeIsNotWritable(@TempDir Path dir) throws Exception {
        Path tmp = Files.createDirectories(dir.resolve("tmp"));

        // A home directory that cannot exist, let alone be written to.
        String output = runProbe(dir, "-Duser.home=/dev/null/home", "-Djava.io.tmpdir=" + tmp);

        assertThat(output).contains("[403, 407, 261, 378]");
        assertThat(librariesUnder(tmp.resolve(".djl.ai"))).hasSize(1);
    }

    private static String runProbe(Path dir, String... properties) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("--enable-native-access=ALL-UNNAMED");
        command.addAll(List.of(properties));
        command.addAll(List.of("-cp", System.getProperty("java.class.path")));
        command.add(NativeLibraryProbe.class.getName());
        command.add(Stories260K.dir().toString());
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        Path log = dir.resolve("probe.log");
        builder.redirectOutput(log.toFile());
        for (String name : List.of("DJL_CACHE_DIR", "ENGINE_CACHE_DIR", "OPT_OUT_TRACKING")) {
            builder.environment().remove(name);
        }
        Process process = builder.start();
        assertThat(process.waitFor(2, TimeUnit.MINUTES)).isTrue();
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(process.exitValue()).as(output).isZero();
        return output;
    }

    private static List<Path> librariesUnder(Path root) throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(p -> p.getFileName().toString().equals("libtokenizers.so"))
                    .toList();
        }
    }
}
