package dev.yulan.topology.scaling;

import static org.assertj.core.api.Assertions.assertThat;

import dev.yulan.inference.engine.GenerationListener;
import dev.yulan.inference.engine.GenerationRequest;
import dev.yulan.inference.engine.GenerationResult;
import dev.yulan.inference.engine.ServingEngine;
import dev.yulan.inference.engine.TokenEvent;
import dev.yulan.schemas.Completion;
import dev.yulan.schemas.CompletionChunk;
import dev.yulan.schemas.PromptRequest;
import dev.yulan.schemas.codec.JsonCodec;
import dev.yulan.topology.broker.EmbeddedBroker;
import dev.yulan.topology.integration.CommittedRecords;
import dev.yulan.topology.integration.KafkaFixture;
import dev.yulan.topology.operator.Operator;
import dev.yulan.topology.operator.RestoreProgress;
import dev.yulan.topology.processor.TurnPlanner;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several instances of one operator (one application id, each with its own state directory and engine) sharing the
 * prompt topic's partitions on the embedded broker: an instance killed with SIGKILL in the middle of generations, a
 * third joining under load, a static member restarted. Whatever moves, every request ends with exactly one final
 * completion whose text is the engine's own when it runs the request alone, chunks are never delivered twice to
 * read_committed consumers, and a conversation continues correctly on the partition's new owner.
 */
class HorizontalScalingTest {

    private static final Duration WAIT = Duration.ofSeconds(90);
    private static final AtomicInteger NAMES = new AtomicInteger();
    private static final List<String> OPENINGS = List.of(
            "Tell me a story about a cat.",
            "Tell me about a bird.",
            "Once there was a little dog.",
            "Lily went to the park.",
            "Tom found a big red ball.",
            "The sun was shining.");

    private static KafkaFixture fixture;
    private static EmbeddedBroker broker;
    private static ServingEngine reference;
    private static KafkaProducer<byte[], byte[]> producer;

    private final JsonCodec<PromptRequest> json = JsonCodec.of(PromptRequest.class);
    private final List<AutoCloseable> opened = new ArrayList<>();

    @TempDir
    Path dir;

    @BeforeAll
    static void startBroker() {
        fixture = KafkaFixture.start();
        broker = fixture.broker();
        reference = fixture.reference();
        producer = fixture.producer();
    }

    @AfterAll
    static void stopBroker() {
        if (fixture != null) {
            fixture.close();
        }
    }

    @AfterEach
    void closeOpened() throws Exception {
        Collections.reverse(opened);
        for (AutoCloseable closeable : opened) {
            closeable.close();
        }
    }

    // --- tests ---

    @Test
    void anInstanceKilledMidGenerationHandsEveryRequestToTheSurvivorAndItsConversationsContinueThere()
            throws Exception {
        Deployment deployment = deployment("kill", 4);
        Instance survivor = startInstance(deployment, "survivor", Duration.ZERO, Map.of());
        // Paced so that its generations are certainly running when it dies.
        ChildInstance child =
                ChildInstance.start(broker.bootstrapServers(), deployment, dir.resolve("child"), Duration.ofMillis(20));
        opened.add(child);
        awaitTrue(
                () -> survivor.partitions().size() == 2 && child.partitions().size() == 2,
                () -> "the partitions to spread over both instances; survivor " + survivor.partitions() + ", child "
                        + child.partitions() + "\n" + child.logTail());
        assertThat(survivor.partitions()).doesNotContainAnyElementsOf(child.partitions());

        List<Conversation> conversations = conversations(deployment, 2);
        Map<String, Turn> turns = new LinkedHashMap<>();
        sendTurns(deployment, conversations, 0, turns);
        sendTurns(deployment, conversations, 1, turns);
        List<String> childFirstTurns = conversations.stream()
                .filter(c -> child.partitions().contains(c.partition()))
                .map(c -> c.requestId(0))
                .toList();
        Set<String> finishedAtKill;
        try (CommittedRecords<CompletionChunk> chunks =
                        new CommittedRecords<>(broker.bootstrapServers(), deployment.chunks(), CompletionChunk.class);
                CommittedRecords<Completion> completions =
                        new CommittedRecords<>(broker.bootstrapServers(), deployment.completions(), Completion.class)) {
            chunks.awaitUntil(
                    seen -> requestIds(seen, CompletionChunk::getRequestId).containsAll(childFirstTurns),
                    WAIT,
                    "a committed chunk of each first turn on the child " + childFirstTurns);
            child.kill();
            finishedAtKill = requestIds(completions.poll(Duration.ofMillis(500)), Completion::getRequestId);
        }
        assertThat(childFirstTurns)
                .as("first turns still generating on the child when it was killed")
                .anyMatch(id -> !finishedAtKill.contains(id));

        // After the dead member's session timeout the survivor owns every partition, restored from the changelogs.
        awaitTrue(() -> survivor.partitions().size() == 4, () -> "the survivor to own all 4 partitions");
        awaitTrue(() -> survivor.operator().serving(), () -> "the survivor to restore and serve");
        RestoreProgress restored = survivor.operator().restoreProgress();
        assertThat(restored.restoring()).isFalse();
        assertThat(restored.restoredRecords())
                .as("records restored from the dead instance's changelogs")
                .isGreaterThan(0);
        // A third turn of every conversation: those that moved rebuild their KV from the history store.
        sendTurns(deployment, conversations, 2, turns);

        assertExactlyOnceWithTheTextOfTheEngineAlone(deployment, turns);
    }

    @Test
    void aThirdInstanceJoiningUnderLoadTakesItsShareOfThePartitionsAndNoRequestIsLostOrRepeated() throws Exception {
        Deployment deployment = deployment("join", 6);
        Duration pace = Duration.ofMillis(8);
        // A warm copy of every task's stores on another instance.
        Map<String, Object> standby = Map.of(StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG, 1);
        Instance first = startInstance(deployment, "first", pace, standby);
        Instance second = startInstance(deployment, "second", pace, standby);
        awaitTrue(
                () -> first.partitions().size() == 3 && second.partitions().size() == 3,
                () -> "3 partitions on each of two instances; " + first.partitions() + " and " + second.partitions());

        List<Conversation> conversations = conversations(deployment, 2);
        Map<String, Turn> turns = new LinkedHashMap<>();
        sendTurns(deployment, conversations, 0, turns);
        sendTurns(deployment, conversations, 1, turns);
        try (CommittedRecords<CompletionChunk> chunks =
                new CommittedRecords<>(broker.bootstrapServers(), deployment.chunks(), CompletionChunk.class)) {
            chunks.awaitUntil(seen -> seen.size() >= 6, WAIT, "the first instances to be generating");
        }
        Instance third = startInstance(deployment, "third", pace, standby);
        awaitTrue(
                () -> first.partitions().size() == 2
                        && second.partitions().size() == 2
                        && third.partitions().size() == 2,
                () -> "2 partitions on each of three instances; " + first.partitions() + ", " + second.partitions()
                        + " and " + third.partitions());
        Set<Integer> all = new HashSet<>(first.partitions());
        all.addAll(second.partitions());
        all.addAll(third.partitions());
        assertThat(all).hasSize(6);
        for (Instance instance : List.of(first, second, third)) {
            // The old owners dropped the KV shards of the partitions that moved away.
            awaitTrue(
                    () -> instance.partitions().containsAll(shardsInUse(instance)),
                    () -> "KV blocks only in the shards of owned partitions " + instance.partitions() + "; in use: "
                            + shardsInUse(instance));
        }
        awaitTrue(
                () -> List.of(first, second, third).stream()
                        .allMatch(i -> !i.standbyPartitions().isEmpty()),
                () -> "a standby task on every instance");
        sendTurns(deployment, conversations, 2, turns);

        assertExactlyOnceWithTheTextOfTheEngineAlone(deployment, turns);
        assertThat(third.engine().tokensDelivered())
                .as("tokens generated by the instance that joined")
                .isGreaterThan(0);
    }

    @Test
    void aStaticMemberFinishesItsGenerationsOnShutdownAndGetsItsPartitionsBackOnRestart() throws Exception {
        Deployment deployment = deployment("static", 4);
        Duration pace = Duration.ofMillis(15);
        // Longer than the restart takes: until then the group keeps the member's partitions for it.
        Map<String, Object> session =
                Map.of(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 30_000);
        Instance stays = startInstance(deployment, "a", pace, staticMember(deployment, "a", false, session));
        Instance restarts = startInstance(deployment, "b", pace, staticMember(deployment, "b", true, session));
        awaitTrue(
                () -> stays.partitions().size() == 2 && restarts.partitions().size() == 2,
                () -> "2 partitions on each instance; " + stays.partitions() + " and " + restarts.partitions());
        Set<Integer> staysPartitions = stays.partitions();
        Set<Integer> restartsPartitions = restarts.partitions();

        List<Conversation> conversations = conversations(deployment, 1);
        Map<String, Turn> turns = new LinkedHashMap<>();
        sendTurns(deployment, conversations, 0, turns, 80);
        sendTurns(deployment, conversations, 1, turns);
        List<Conversation> onRestarting = conversations.stream()
                .filter(c -> restartsPartitions.contains(c.partition()))
                .toList();
        Set<String> unfinishedAtShutdown = new HashSet<>();
        try (CommittedRecords<CompletionChunk> chunks =
                        new CommittedRecords<>(broker.bootstrapServers(), deployment.chunks(), CompletionChunk.class);
                CommittedRecords<Completion> completions =
                        new CommittedRecords<>(broker.bootstrapServers(), deployment.completions(), Completion.class)) {
            chunks.awaitUntil(
                    seen -> requestIds(seen, CompletionChunk::getRequestId)
                            .containsAll(onRestarting.stream()
                                    .map(c -> c.requestId(0))
                                    .toList()),
                    WAIT,
                    "a committed chunk of each first turn on the instance to restart");
            Set<String> finished = requestIds(completions.poll(Duration.ZERO), Completion::getRequestId);
            onRestarting.stream()
                    .map(c -> c.requestId(0))
                    .filter(id -> !finished.contains(id))
                    .forEach(unfinishedAtShutdown::add);
            assertThat(unfinishedAtShutdown)
                    .as("first turns generating at shutdown")
                    .isNotEmpty();

            // SIGTERM: running generations finish within the grace period, nothing new starts.
            restarts.operator().close(Duration.ofSeconds(60));
            opened.remove(restarts.operator());
            Set<String> finishedAfter = requestIds(
                    completions.awaitUntil(
                            seen -> requestIds(seen, Completion::getRequestId).containsAll(unfinishedAtShutdown),
                            Duration.ofSeconds(5),
                            "the completions of the generations running at shutdown " + unfinishedAtShutdown),
                    Completion::getRequestId);
            for (Conversation conversation : onRestarting) {
                if (unfinishedAtShutdown.contains(conversation.requestId(0))) {
                    assertThat(finishedAfter)
                            .as("second turn of " + conversation.key()
                                    + ", which could only start after shutdown began")
                            .doesNotContain(conversation.requestId(1));
                }
            }
        }
        assertThat(groupInstanceIds(deployment))
                .as("static members of the group while one is away (it stays until its session times out)")
                .anyMatch(id -> id.startsWith(deployment.prefix() + "-b"));
        assertThat(stays.partitions())
                .as("partitions of the instance that stayed, while the static member is away")
                .isEqualTo(staysPartitions);

        Instance restarted = startInstance(deployment, "b", pace, staticMember(deployment, "b", true, session));
        awaitTrue(() -> !restarted.partitions().isEmpty(), () -> "the restarted instance to own partitions");
        assertThat(restarted.partitions()).as("partitions after the restart").isEqualTo(restartsPartitions);
        assertThat(stays.partitions()).isEqualTo(staysPartitions);
        sendTurns(deployment, conversations, 2, turns);

        assertExactlyOnceWithTheTextOfTheEngineAlone(deployment, turns);
        assertThat(stays.partitions()).isEqualTo(staysPartitions);
        assertThat(restarted.partitions()).isEqualTo(restartsPartitions);
    }

    // --- instances ---

    private record Instance(Operator operator, PacedEngine engine) {
        Set<Integer> partitions() {
            return OperatorProcess.activePartitions(operator);
        }

        Set<Integer> standbyPartitions() {
            return operator.streams().metadataForLocalThreads().stream()
                    .flatMap(thread -> thread.standbyTasks().stream())
                    .map(task -> task.taskId().partition())
                    .collect(Collectors.toUnmodifiableSet());
        }
    }

    private static Set<String> groupInstanceIds(Deployment deployment) throws Exception {
        try (Admin admin =
                Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
            return admin
                    .describeConsumerGroups(List.of(deployment.applicationId()))
                    .all()
                    .get()
                    .get(deployment.applicationId())
                    .members()
                    .stream()
                    .flatMap(member -> member.groupInstanceId().stream())
                    .collect(Collectors.toSet());
        }
    }

    private static Set<Integer> shardsInUse(Instance instance) {
        return instance.engine().engine().stats().kvBlocksByShard().entrySet().stream()
                .filter(e -> e.getValue() > 0)
                .map(Map.Entry::getKey)
                .collect(Collectors.toSet());
    }

    private static Deployment deployment(String test, int partitions) {
        return new Deployment("scale-" + test + "-" + NAMES.incrementAndGet(), partitions);
    }

    /**
     * Settings of a static member: {@code group.instance.id} as the config loader passes it (bare, as in Kubernetes)
     * or with the main consumer's prefix.
     */
    private static Map<String, Object> staticMember(
            Deployment deployment, String name, boolean bareKey, Map<String, Object> more) {
        Map<String, Object> settings = new HashMap<>(more);
        settings.put(
                bareKey
                        ? ConsumerConfig.GROUP_INSTANCE_ID_CONFIG
                        : StreamsConfig.mainConsumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG),
                deployment.prefix() + "-" + name);
        return settings;
    }

    /** Starts an instance in this JVM on its own state directory and engine, and waits until it runs. */
    private Instance startInstance(Deployment deployment, String name, Duration pace, Map<String, Object> extra)
            throws Exception {
        try (Admin admin =
                Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
            Operator.createTopics(admin, deployment.config());
        }
        PacedEngine engine = new PacedEngine(KafkaFixture.openEngine(), pace);
        opened.add(engine);
        Operator operator = new Operator(
                deployment.config(),
                engine,
                deployment.streamsSettings(broker.bootstrapServers(), dir.resolve(name), extra));
        opened.add(operator);
        operator.start();
        awaitTrue(() -> operator.state() == KafkaStreams.State.RUNNING, () -> "instance " + name + " to run");
        return new Instance(operator, engine);
    }

    // --- the workload ---

    /** A conversation: its key (which decides its partition) and its turns' requests. */
    private record Conversation(String key, int partition, int index) {
        String requestId(int turn) {
            return key + "-turn-" + (turn + 1);
        }
    }

    /** A request as sent, and the request id of the conversation's previous turn (null for a first turn). */
    private record Turn(String requestId, PromptRequest request, String previous) {}

    /** {@code perPartition} conversations on every partition, keys chosen by the default partitioner. */
    private static List<Conversation> conversations(Deployment deployment, int perPartition) {
        List<Conversation> conversations = new ArrayList<>();
        int[] counts = new int[deployment.partitions()];
        for (int i = 0; conversations.size() < perPartition * deployment.partitions(); i++) {
            String key = "c" + i;
            int partition = Utils.toPositive(Utils.murmur2(utf8(key))) % deployment.partitions();
            if (counts[partition]++ < perPartition) {
                conversations.add(new Conversation(key, partition, conversations.size()));
            }
        }
        return conversations;
    }

    private void sendTurns(Deployment deployment, List<Conversation> conversations, int turn, Map<String, Turn> turns) {
        sendTurns(deployment, conversations, turn, turns, 40);
    }

    /**
     * Sends turn {@code turn} (0-based) of every conversation: a streamed chat message, greedy or (every other
     * conversation) sampled; later turns continue the conversation's history.
     */
    private void sendTurns(
            Deployment deployment, List<Conversation> conversations, int turn, Map<String, Turn> turns, int maxTokens) {
        for (Conversation conversation : conversations) {
            String content = switch (turn) {
                case 0 -> OPENINGS.get(conversation.index() % OPENINGS.size());
                case 1 -> "What happened next?";
                default -> "And then?";
            };
            String sampling =
                    conversation.index() % 2 == 0 ? "\"temperature\":0" : "\"temperature\":0.9,\"top_p\":0.95";
            String body = "{\"request_id\":\"" + conversation.requestId(turn) + "\",\"messages\":[{\"role\":\"user\","
                    + "\"content\":\"" + content + "\"}],\"max_tokens\":" + (turn == 0 ? maxTokens : 24) + ","
                    + sampling + ",\"stream\":true" + (turn == 0 ? "" : ",\"continuation\":true") + "}";
            turns.put(
                    conversation.requestId(turn),
                    new Turn(
                            conversation.requestId(turn),
                            json.decode(utf8(body)),
                            turn == 0 ? null : conversation.requestId(turn - 1)));
            try {
                producer.send(new ProducerRecord<>(deployment.prompts(), utf8(conversation.key()), utf8(body)))
                        .get();
            } catch (Exception e) {
                throw new AssertionError("cannot send to " + deployment.prompts() + ": " + e, e);
            }
        }
    }

    // --- checks ---

    /** What the engine generates for a request alone: the token ids and text a listener hears, and the result. */
    private record Generated(String text, List<Integer> tokenIds, GenerationResult result) {}

    /** Every turn run alone on the reference engine, each continuing the history its previous turn left. */
    private static Map<String, Generated> generateAlone(Map<String, Turn> turns) {
        Map<String, Generated> generated = new HashMap<>();
        for (Turn turn : turns.values()) { // in sending order: a previous turn comes first
            int[] history = turn.previous() == null
                    ? null
                    : generated.get(turn.previous()).result().conversationTokens();
            List<Integer> tokens = new CopyOnWriteArrayList<>();
            GenerationResult result = reference
                    .submit(
                            new GenerationRequest(
                                    turn.requestId(),
                                    0,
                                    null,
                                    TurnPlanner.prompt(turn.request(), history),
                                    TurnPlanner.sampling(turn.request())),
                            new GenerationListener() {
                                @Override
                                public void onToken(TokenEvent event) {
                                    tokens.add(event.tokenId());
                                }

                                @Override
                                public void onComplete(GenerationResult r) {}
                            })
                    .result()
                    .join();
            assertThat(result.error()).isNull();
            generated.put(turn.requestId(), new Generated(result.text(), List.copyOf(tokens), result));
        }
        return generated;
    }

    private static void assertExactlyOnceWithTheTextOfTheEngineAlone(Deployment deployment, Map<String, Turn> turns) {
        Map<String, Generated> expected = generateAlone(turns);
        try (CommittedRecords<Completion> completions =
                        new CommittedRecords<>(broker.bootstrapServers(), deployment.completions(), Completion.class);
                CommittedRecords<CompletionChunk> chunks =
                        new CommittedRecords<>(broker.bootstrapServers(), deployment.chunks(), CompletionChunk.class)) {
            completions.awaitUntil(
                    seen -> requestIds(seen, Completion::getRequestId).containsAll(turns.keySet()),
                    WAIT,
                    "a completion of each of " + turns.size() + " requests");
            // Anything emitted twice would arrive by now: the operator commits every 100 ms.
            List<Completion> all = completions.settle(Duration.ofSeconds(2));
            assertThat(all.stream().map(Completion::getRequestId).sorted().toList())
                    .as("exactly one final completion per request")
                    .containsExactlyElementsOf(turns.keySet().stream().sorted().toList());
            Map<String, List<CompletionChunk>> streamed = chunks.settle(Duration.ofMillis(500)).stream()
                    .collect(Collectors.groupingBy(CompletionChunk::getRequestId));
            for (Completion completion : all) {
                String id = completion.getRequestId();
                Generated want = expected.get(id);
                List<CompletionChunk> mine = streamed.getOrDefault(id, List.of());
                assertThat(completion.getText()).as("text of " + id).isEqualTo(want.text());
                assertThat(completion.getFinishReason())
                        .as("finish reason of " + id)
                        .isEqualTo(want.result().finishReason().wireName());
                assertThat(completion.getUsage().getCompletionTokens())
                        .as("completion tokens of " + id)
                        .isEqualTo(want.result().completionTokens());
                assertThat(completion.getError()).as("error of " + id).isNull();
                assertThat(mine.stream().map(CompletionChunk::getSeq).toList())
                        .as("chunk seqs of " + id + " (each once, in order)")
                        .containsExactlyElementsOf(
                                IntStream.range(0, mine.size()).boxed().toList());
                assertThat(mine.stream().flatMap(c -> c.getTokenIds().stream()).toList())
                        .as("streamed token ids of " + id)
                        .containsExactlyElementsOf(want.tokenIds());
                assertThat(mine.stream().map(CompletionChunk::getText).collect(Collectors.joining()))
                        .as("streamed text of " + id)
                        .isEqualTo(want.text());
                assertThat(mine.stream().filter(CompletionChunk::getIsFinal).count())
                        .as("final chunks of " + id)
                        .isEqualTo(1);
            }
        }
    }

    private static <T> Set<String> requestIds(List<T> records, Function<T, String> id) {
        return records.stream().map(id).collect(Collectors.toSet());
    }

    private static void awaitTrue(BooleanSupplier condition, Supplier<String> what) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("waited " + WAIT.toSeconds() + " s for " + what.get());
            }
            Thread.sleep(50);
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
