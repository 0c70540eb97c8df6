package dev.yulan.topology.scaling;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/** An {@link OperatorProcess} in a child JVM: started from this JVM's java binary and test classpath. */
final class ChildInstance implements AutoCloseable {

    private final Process process;
    private final Path log;
    private volatile Set<Integer> partitions = Set.of();

    private ChildInstance(Process process, Path log) {
        this.process = process;
        this.log = log;
        Thread reader = new Thread(this::readReports, "child-instance-reader");
        reader.setDaemon(true);
        reader.start();
    }

    static ChildInstance start(String bootstrapServers, Deployment deployment, Path stateDirectory, Duration perToken)
            throws IOException {
        Files.createDirectories(stateDirectory);
        Path log = stateDirectory.resolve("child.log");
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules",
                "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED",
                "-Xmx256m",
                "-XX:+UseSerialGC",
                "-cp",
                System.getProperty("java.class.path"),
                OperatorProcess.class.getName(),
                bootstrapServers,
                deployment.prefix(),
                Integer.toString(deployment.partitions()),
                stateDirectory.resolve("state").toString(),
                Long.toString(perToken.toMillis())));
        Process process = new ProcessBuilder(command)
                .redirectError(log.toFile())
                .directory(Path.of("").toAbsolutePath().toFile())
                .start();
        return new ChildInstance(process, log);
    }

    private void readReports() {
        try (BufferedReader lines =
                new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = lines.readLine()) != null; ) {
                if (line.startsWith("TASKS ")) {
                    String list = line.substring("TASKS ".length()).trim();
                    partitions = list.isEmpty()
                            ? Set.of()
                            : Arrays.stream(list.split(","))
                                    .map(Integer::valueOf)
                                    .collect(Collectors.toUnmodifiableSet());
                }
            }
        } catch (IOException e) {
            // The process died: nothing more to read.
        }
    }

    /** The prompt partitions the child last reported owning. */
    Set<Integer> partitions() {
        return partitions;
    }

    boolean alive() {
        return process.isAlive();
    }

    /** SIGKILL: no shutdown hook, no commit, no leaving the group. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    /** The child's log, for a failure message. */
    String logTail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }
}
