package dev.yulan.topology.topics;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

/** The operator's topic names. */
public record Topics(String prompts, String completions, String chunks, String deadLetter) {

    public static final String DEFAULT_PROMPTS = "yulan.prompts";
    public static final String DEFAULT_COMPLETIONS = "yulan.completions";
    public static final String DEFAULT_CHUNKS = "yulan.completions.stream";
    public static final String DEFAULT_DEAD_LETTER = "yulan.dead-letter";

    public Topics {
        Objects.requireNonNull(prompts, "prompts");
        Objects.requireNonNull(completions, "completions");
        Objects.requireNonNull(chunks, "chunks");
        Objects.requireNonNull(deadLetter, "deadLetter");
        if (new HashSet<>(List.of(prompts, completions, chunks, deadLetter)).size() != 4) {
            throw new IllegalArgumentException("the operator's four topics must have four different names");
        }
    }

    public static Topics defaults() {
        return new Topics(DEFAULT_PROMPTS, DEFAULT_COMPLETIONS, DEFAULT_CHUNKS, DEFAULT_DEAD_LETTER);
    }

    public List<String> all() {
        return List.of(prompts, completions, chunks, deadLetter);
    }

    /**
     * Creates whichever of the topics are missing (existing ones are left as they are). {@code replicationFactor} -1
     * takes the broker's default.
     *
     * @return the names that were created
     */
    public List<String> createMissing(Admin admin, int partitions, short replicationFactor)
            throws InterruptedException {
        Optional<Short> replication = replicationFactor < 0 ? Optional.empty() : Optional.of(replicationFactor);
        Set<String> existing;
        try {
            existing = admin.listTopics().names().get();
        } catch (ExecutionException e) {
            throw new IllegalStateException(
                    "cannot list topics: " + e.getCause().getMessage(), e.getCause());
        }
        List<NewTopic> missing = all().stream()
                .filter(name -> !existing.contains(name))
                .map(name -> new NewTopic(name, Optional.of(partitions), replication))
                .toList();
        if (missing.isEmpty()) {
            return List.of();
        }
        try {
            admin.createTopics(missing).all().get();
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new IllegalStateException(
                        "cannot create topics: " + e.getCause().getMessage(), e.getCause());
            }
        }
        return missing.stream().map(NewTopic::name).collect(Collectors.toList());
    }
}
