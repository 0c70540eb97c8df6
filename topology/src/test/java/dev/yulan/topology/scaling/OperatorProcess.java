package dev.yulan.topology.scaling;

import dev.yulan.topology.integration.KafkaFixture;
import dev.yulan.topology.operator.Operator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.ThreadMetadata;

/**
 * An operator instance in a JVM of its own, for tests that kill one with SIGKILL. Runs until killed, printing {@code
 * TASKS <partitions>} whenever the prompt partitions it owns change.
 *
 * <p>Arguments: bootstrap servers, deployment prefix, partitions, state directory, pause per token in milliseconds.
 */
public final class OperatorProcess {

    private OperatorProcess() {}

    public static void main(String[] args) throws InterruptedException {
        String bootstrapServers = args[0];
        Deployment deployment = new Deployment(args[1], Integer.parseInt(args[2]));
        Path stateDirectory = Path.of(args[3]);
        Duration perToken = Duration.ofMillis(Long.parseLong(args[4]));
        PacedEngine engine = new PacedEngine(KafkaFixture.openEngine(), perToken);
        Operator operator = new Operator(
                deployment.config(), engine, deployment.streamsSettings(bootstrapServers, stateDirectory, Map.of()));
        operator.start();
        String reported = null;
        while (true) {
            if (operator.state() == KafkaStreams.State.RUNNING) {
                String tasks =
                        activePartitions(operator).stream().map(String::valueOf).collect(Collectors.joining(","));
                if (!tasks.equals(reported)) {
                    reported = tasks;
                    System.out.println("TASKS " + tasks);
                    System.out.flush();
                }
            }
            Thread.sleep(50);
        }
    }

    /** The prompt partitions whose tasks are active on this instance. */
    static Set<Integer> activePartitions(Operator operator) {
        return operator.streams().metadataForLocalThreads().stream()
                .map(ThreadMetadata::activeTasks)
                .flatMap(tasks -> tasks.stream().map(task -> task.taskId().partition()))
                .collect(Collectors.toCollection(TreeSet::new));
    }
}
