package dev.yulan.topology.integration;

import static org.assertj.core.api.Assertions.assertThat;

import dev.yulan.inference.engine.ChatMessage;
import dev.yulan.inference.engine.GenerationListener;
import dev.yulan.inference.engine.GenerationRequest;
import dev.yulan.inference.engine.GenerationResult;
import dev.yulan.inference.engine.Prompt;
import dev.yulan.inference.engine.SamplingParams;
import dev.yulan.inference.engine.ServingEngine;
import dev.yulan.inference.engine.TokenEvent;
import dev.yulan.schemas.Completion;
import dev.yulan.schemas.CompletionChunk;
import dev.yulan.schemas.DeadLetter;
import dev.yulan.schemas.PromptRequest;
import dev.yulan.schemas.codec.AvroCodec;
import dev.yulan.schemas.codec.JsonCodec;
import dev.yulan.topology.broker.EmbeddedBroker;
import dev.yulan.topology.config.OperatorConfig;
import dev.yulan.topology.operator.Operator;
import dev.yulan.topology.processor.TurnPlanner;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator end to end: the real broker in this process, the real engine on the bundled tiny model, prompts in and
 * completions out through Kafka with exactly-once processing (the operator's default; nothing here overrides it).
 * Every expected text is the engine's own, generated alone with the same request (what {@code yulan generate} runs).
 */
class OperatorIntegrationTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final AtomicInteger NAMES = new AtomicInteger();

    private static KafkaFixture fixture;
    private static EmbeddedBroker broker;
    private static ServingEngine reference;
    private static KafkaProducer<byte[], byte[]> producer;

    private final AvroCodec<PromptRequest> avro = AvroCodec.of(PromptRequest.class);
    private final JsonCodec<PromptRequest> json = JsonCodec.of(PromptRequest.class);
    private final List<AutoCloseable> opened = new ArrayList<>();

    @TempDir
    Path stateDir;

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
    void avroAndJsonPromptsStreamChunksAndEndWithTheTextTheEngineGeneratesAlone() throws Exception {
        Names names = names("formats");
        Operator operator = startOperator(names, new ControlledEngine(KafkaFixture.openEngine(), Duration.ZERO));
        PromptRequest avroPrompt = PromptRequest.newBuilder()
                .setRequestId("avro-1")
                .setPrompt("Once upon a time")
                .setMaxTokens(32)
                .setTemperature(0f)
                .setStream(true)
                .build();
        send(names, "avro-conversation", avro.encode(avroPrompt));
        send(
                names,
                "json-conversation",
                utf8("{\"request_id\":\"json-1\",\"prompt\":\"The little dog\",\"max_tokens\":32,"
                        + "\"temperature\":0,\"stream\":true}"));

        Map<String, Completion> completions = awaitCompletions(names, List.of("avro-1", "json-1"));
        Map<String, List<CompletionChunk>> chunks = awaitFinalChunks(names, List.of("avro-1", "json-1"));

        Generated avroExpected = generateAlone("Once upon a time", 32);
        Generated jsonExpected = generateAlone("The little dog", 32);
        assertMatches(completions.get("avro-1"), chunks.get("avro-1"), avroExpected);
        assertMatches(completions.get("json-1"), chunks.get("json-1"), jsonExpected);
        assertThat(completions.get("avro-1").getConversationId()).isEqualTo("avro-conversation");
        assertThat(completions.get("avro-1").getModel()).isEqualTo("stories260K");
        assertThat(operator.state()).isEqualTo(KafkaStreams.State.RUNNING);
        try (Admin admin =
                Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
            assertThat(admin.listTransactions().all().get())
                    .as("transactional producers of the operator (exactly_once_v2, its default)")
                    .anySatisfy(t -> assertThat(t.transactionalId()).startsWith(names.applicationId()));
        }
    }

    @Test
    void textHeldBackForAStopStringThatNeverCompletesReachesTheLastChunk() throws Exception {
        Names names = names("held");
        startOperator(names, new ControlledEngine(KafkaFixture.openEngine(), Duration.ZERO));
        String alone = generateAlone("Once upon a time", 24).text();
        // A stop string starting with the text's last characters: the engine holds them back until the end.
        String stop = alone.substring(alone.length() - 3) + "qqqq";
        PromptRequest request = PromptRequest.newBuilder()
                .setRequestId("held-1")
                .setPrompt("Once upon a time")
                .setMaxTokens(24)
                .setTemperature(0f)
                .setStop(List.of(stop))
                .setStream(true)
                .build();
        send(names, "held", avro.encode(request));

        Completion completion = awaitCompletions(names, List.of("held-1")).get("held-1");
        List<CompletionChunk> chunks =
                awaitFinalChunks(names, List.of("held-1")).get("held-1");
        Generated expected = generate("held-1", new Prompt.Text("Once upon a time"), TurnPlanner.sampling(request));
        assertThat(expected.text()).isEqualTo(alone);
        assertMatches(completion, chunks, expected);
    }

    @Test
    void aSecondTurnThroughKafkaReusesTheFirstTurnsKvFromThePrefixCache() throws Exception {
        Names names = names("turns");
        startOperator(names, new ControlledEngine(KafkaFixture.openEngine(), Duration.ZERO));
        send(
                names,
                "chat",
                utf8("{\"request_id\":\"turn-1\",\"messages\":[{\"role\":\"user\",\"content\":"
                        + "\"Tell me a story about a cat.\"}],\"max_tokens\":40,\"temperature\":0}"));
        send(
                names,
                "chat",
                utf8("{\"request_id\":\"turn-2\",\"messages\":[{\"role\":\"user\",\"content\":"
                        + "\"What happened next?\"}],\"max_tokens\":24,\"temperature\":0}"));

        Map<String, Completion> completions = awaitCompletions(names, List.of("turn-1", "turn-2"));

        List<ChatMessage> first = List.of(new ChatMessage("user", "Tell me a story about a cat."));
        Generated turn1 = generate("turn-1", new Prompt.Chat(first), SamplingParams.greedy(40));
        Generated turn2 = generate(
                "turn-2",
                new Prompt.Continue(
                        turn1.result().conversationTokens(), List.of(new ChatMessage("user", "What happened next?"))),
                SamplingParams.greedy(24));
        assertThat(completions.get("turn-1").getText()).isEqualTo(turn1.text());
        assertThat(completions.get("turn-2").getText()).isEqualTo(turn2.text());
        assertThat(completions.get("turn-2").getUsage().getPromptTokens())
                .isEqualTo(turn2.result().promptTokens());
        assertThat(completions.get("turn-2").getUsage().getCachedTokens())
                .as("second turn's cached_tokens (its prompt starts with the whole first turn)")
                .isGreaterThan(0);
    }

    @Test
    void badInputOfEveryKindIsDeadLetteredWithItsReasonWhileGoodPromptsKeepFlowing() throws Exception {
        Names names = names("bad");
        Operator operator = startOperator(names, new ControlledEngine(KafkaFixture.openEngine(), Duration.ZERO));
        byte[] unknownFingerprint = avro.encode(
                PromptRequest.newBuilder().setPrompt("hello").setMaxTokens(4).build());
        for (int i = 2; i < 10; i++) {
            unknownFingerprint[i] = (byte) 0x5A;
        }
        String longPrompt = "Once upon a time there was a little girl who liked to play. ".repeat(60);
        Map<String, byte[]> bad = new LinkedHashMap<>();
        bad.put("garbage", new byte[] {0x00, (byte) 0xFF, 0x10, 0x42, 0x7F});
        bad.put("unknown fingerprint", unknownFingerprint);
        bad.put("truncated json", utf8("{\"prompt\": \"Once"));
        bad.put("missing prompt", utf8("{\"max_tokens\":8}"));
        bad.put("unknown field", utf8("{\"prompt\":\"hi\",\"max_token\":8}"));
        bad.put("empty prompt", utf8("{\"prompt\":\"\",\"max_tokens\":8}"));
        bad.put("temperature", utf8("{\"prompt\":\"hi\",\"temperature\":7}"));
        bad.put("max tokens", utf8("{\"prompt\":\"hi\",\"max_tokens\":100000}"));
        bad.put("top_p", utf8("{\"prompt\":\"hi\",\"top_p\":0}"));
        bad.put("too long", utf8("{\"request_id\":\"too-long\",\"prompt\":\"" + longPrompt + "\",\"max_tokens\":8}"));
        bad.put(
                "unknown conversation",
                utf8("{\"request_id\":\"orphan\",\"continuation\":true,"
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"and then?\"}],\"max_tokens\":8}"));

        send(
                names,
                "good",
                utf8("{\"request_id\":\"good-1\",\"prompt\":\"Lily\",\"max_tokens\":24,\"temperature\":0}"));
        Map<String, String> offsets = new HashMap<>();
        for (Map.Entry<String, byte[]> entry : bad.entrySet()) {
            offsets.put(send(names, "bad-" + entry.getKey().replace(' ', '-'), entry.getValue()), entry.getKey());
        }
        offsets.put(send(names, "bad-tombstone", null), "tombstone");
        send(names, "good", utf8("{\"request_id\":\"good-2\",\"prompt\":\"Tom\",\"max_tokens\":24,\"temperature\":0}"));

        Map<String, Completion> completions = awaitCompletions(names, List.of("good-1", "good-2"));
        assertThat(completions.get("good-1").getText())
                .isEqualTo(generateAlone("Lily", 24).text());
        assertThat(completions.get("good-2").getText())
                .isEqualTo(generateAlone("Tom", 24).text());

        try (CommittedRecords<DeadLetter> letters =
                new CommittedRecords<>(broker.bootstrapServers(), names.deadLetter(), DeadLetter.class)) {
            List<DeadLetter> all =
                    letters.awaitUntil(seen -> seen.size() >= offsets.size(), WAIT, offsets.size() + " dead letters");
            Map<String, DeadLetter> byKind = all.stream()
                    .collect(Collectors.toMap(
                            letter -> offsets.get(letter.getPartition() + "@" + letter.getOffset()), letter -> letter));
            assertThat(byKind).containsOnlyKeys(offsets.values());
            for (Map.Entry<String, byte[]> entry : bad.entrySet()) {
                DeadLetter letter = byKind.get(entry.getKey());
                assertThat(letter.getTopic()).isEqualTo(names.prompts());
                assertThat(bytes(letter.getValue()))
                        .as("original bytes of " + entry.getKey())
                        .isEqualTo(entry.getValue());
                assertThat(letter.getReason()).as(entry.getKey()).isNotBlank().doesNotContain("\n");
            }
            assertThat(byKind.get("temperature").getReason()).contains("temperature");
            assertThat(byKind.get("max tokens").getReason()).contains("max_tokens");
            assertThat(byKind.get("top_p").getReason()).contains("top_p");
            assertThat(byKind.get("missing prompt").getReason()).contains("prompt");
            assertThat(byKind.get("unknown field").getReason()).contains("max_token");
            assertThat(byKind.get("empty prompt").getReason()).contains("empty");
            assertThat(byKind.get("too long").getReason()).contains("context");
            assertThat(byKind.get("too long").getRequestId()).isEqualTo("too-long");
            assertThat(byKind.get("unknown conversation").getReason()).contains("unknown conversation");
            assertThat(byKind.get("tombstone").getReason()).contains("tombstone");
        }
        assertThat(operator.state()).isEqualTo(KafkaStreams.State.RUNNING);
    }

    @Test
    void aRestartInTheMiddleOfGenerationsYieldsExactlyOneCompletionPerRequestWithTheUninterruptedText()
            throws Exception {
        Names names = names("restart");
        ControlledEngine first = new ControlledEngine(KafkaFixture.openEngine(), Duration.ZERO);
        first.holdAfter(6);
        Operator operator = startOperator(names, first);
        List<String> ids = sendRestartWorkload(names);

        // Every streamed request has had its first 6 tokens sent as committed chunks, and is still generating.
        try (CommittedRecords<CompletionChunk> chunks =
                new CommittedRecords<>(broker.bootstrapServers(), names.chunks(), CompletionChunk.class)) {
            chunks.awaitUntil(
                    seen -> List.of("plain", "sampled", "chat-1").stream()
                            .allMatch(id -> tokensOf(seen, id).size() == 6),
                    WAIT,
                    "6 tokens of each of plain, sampled and chat-1");
        }
        operator.close();
        first.close();
        opened.remove(first);
        opened.remove(operator);

        startOperator(names, new ControlledEngine(KafkaFixture.openEngine(), Duration.ZERO));
        assertExactlyOnceWithTheUninterruptedText(names, ids);
    }

    @Test
    void anOperatorRestartedOnTheSameEngineResubmitsItsRequestsUnderTheSameIds() throws Exception {
        Names names = names("same-engine");
        // Slow enough that the requests are still running in the engine when their tasks close (and drop their shards).
        ControlledEngine engine = new ControlledEngine(KafkaFixture.openEngine(), Duration.ofMillis(10));
        Operator operator = startOperator(names, engine);
        List<String> ids = sendRestartWorkload(names);
        try (CommittedRecords<CompletionChunk> chunks =
                new CommittedRecords<>(broker.bootstrapServers(), names.chunks(), CompletionChunk.class)) {
            chunks.awaitUntil(seen -> !tokensOf(seen, "plain").isEmpty(), WAIT, "a first chunk of plain");
        }
        operator.close();
        opened.remove(operator);

        Operator restarted = new Operator(config(names), engine, streamsSettings(names, stateDir));
        opened.add(restarted);
        restarted.start();
        assertExactlyOnceWithTheUninterruptedText(names, ids);
    }

    @Test
    void aCrashedInstanceIsReplacedFromItsLastCommitWithoutLosingOrRepeatingOutput() throws Exception {
        Names names = names("crash");
        ControlledEngine first = new ControlledEngine(KafkaFixture.openEngine(), Duration.ofMillis(15));
        Operator operator = startOperator(
                names,
                first,
                streams -> streams.setUncaughtExceptionHandler(
                        e -> StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT));
        first.crashOnSubmitOf("trigger");
        List<String> ids = new ArrayList<>(sendRestartWorkload(names));
        try (CommittedRecords<CompletionChunk> chunks =
                new CommittedRecords<>(broker.bootstrapServers(), names.chunks(), CompletionChunk.class)) {
            chunks.awaitUntil(seen -> !tokensOf(seen, "plain").isEmpty(), WAIT, "a first chunk of plain");
        }
        // The stream thread dies in the middle of a transaction: what it did since its last commit is aborted.
        send(
                names,
                "plain-conversation",
                utf8("{\"request_id\":\"trigger\",\"prompt\":\"Sam\",\"max_tokens\":16,\"temperature\":0}"));
        ids.add("trigger");
        awaitTrue(() -> operator.state() == KafkaStreams.State.ERROR, "the first operator to fail");
        operator.close();
        first.close();
        opened.remove(first);
        opened.remove(operator);

        startOperator(names, new ControlledEngine(KafkaFixture.openEngine(), Duration.ZERO));
        assertExactlyOnceWithTheUninterruptedText(names, ids);
    }

    @Test
    void aSecondInstanceJoiningMidGenerationTakesOverWithoutLosingOrRepeatingOutput() throws Exception {
        Names names = names("join");
        ControlledEngine first = new ControlledEngine(KafkaFixture.openEngine(), Duration.ZERO);
        first.holdAfter(6);
        startOperator(names, first);
        List<String> ids = sendRestartWorkload(names);
        try (CommittedRecords<CompletionChunk> chunks =
                new CommittedRecords<>(broker.bootstrapServers(), names.chunks(), CompletionChunk.class)) {
            chunks.awaitUntil(
                    seen -> List.of("plain", "sampled", "chat-1").stream()
                            .allMatch(id -> tokensOf(seen, id).size() == 6),
                    WAIT,
                    "6 tokens of each of plain, sampled and chat-1");
        }
        // Same application id, its own state directory: the group rebalances and one partition (with its unfinished
        // requests) moves over; then the first instance hears the rest of the requests it kept.
        ControlledEngine secondEngine = new ControlledEngine(KafkaFixture.openEngine(), Duration.ZERO);
        startOperator(names, secondEngine, stateDir.resolve("second"), streams -> {});
        first.release();
        assertExactlyOnceWithTheUninterruptedText(names, ids);
        assertThat(secondEngine.tokensDelivered())
                .as("tokens generated by the instance that joined (it owns one of the two partitions)")
                .isGreaterThan(0);
    }

    @Test
    void anEngineClosingBeforeTheOperatorEndsNoRequest() throws Exception {
        Names names = names("engine-first");
        ControlledEngine first = new ControlledEngine(KafkaFixture.openEngine(), Duration.ZERO);
        first.blockAfter(6);
        Operator operator = startOperator(names, first);
        List<String> ids = sendRestartWorkload(names);
        first.awaitBlocked(WAIT);
        // Wrong order on shutdown: the engine ends every running request as cancelled, which is not their end.
        first.close();
        try (CommittedRecords<Completion> completions =
                new CommittedRecords<>(broker.bootstrapServers(), names.completions(), Completion.class)) {
            assertThat(completions.settle(Duration.ofSeconds(1)))
                    .as("completions while the operator runs on without an engine")
                    .isEmpty();
        }
        assertThat(operator.state()).isEqualTo(KafkaStreams.State.RUNNING);
        operator.close();
        opened.remove(first);
        opened.remove(operator);

        startOperator(names, new ControlledEngine(KafkaFixture.openEngine(), Duration.ZERO));
        assertExactlyOnceWithTheUninterruptedText(names, ids);
    }

    @Test
    void closingTheOperatorDropsTheKvShardsOfItsTasks() throws Exception {
        Names names = names("shards");
        ControlledEngine engine = new ControlledEngine(KafkaFixture.openEngine(), Duration.ZERO);
        Operator operator = startOperator(names, engine);
        send(
                names,
                "a",
                utf8("{\"request_id\":\"a\",\"prompt\":\"Once upon a time\",\"max_tokens\":40,"
                        + "\"temperature\":0}"));
        send(names, "b", utf8("{\"request_id\":\"b\",\"prompt\":\"One day\",\"max_tokens\":40,\"temperature\":0}"));
        awaitCompletions(names, List.of("a", "b"));
        assertThat(engine.engine().stats().kvBlocksUsed())
                .as("finished requests leave their full blocks in the prefix cache")
                .isGreaterThan(0);
        operator.close();
        opened.remove(operator);
        awaitTrue(() -> engine.engine().stats().kvBlocksUsed() == 0, "every KV block to be freed after close");
    }

    // --- the restart workload and its checks ---

    /** Two streamed completions (greedy and sampled), a streamed chat turn and its queued continuation. */
    private List<String> sendRestartWorkload(Names names) {
        send(
                names,
                "plain-conversation",
                utf8("{\"request_id\":\"plain\",\"prompt\":\"Once upon a time\",\"max_tokens\":40,"
                        + "\"temperature\":0,\"stream\":true}"));
        send(
                names,
                "sampled-conversation",
                utf8("{\"request_id\":\"sampled\",\"prompt\":\"One day\",\"max_tokens\":40,"
                        + "\"temperature\":0.9,\"top_p\":0.95,\"stream\":true}"));
        send(
                names,
                "chat-conversation",
                utf8(
                        "{\"request_id\":\"chat-1\",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about a bird.\"}],"
                                + "\"max_tokens\":32,\"temperature\":0,\"stream\":true}"));
        send(
                names,
                "chat-conversation",
                utf8("{\"request_id\":\"chat-2\",\"messages\":[{\"role\":\"user\",\"content\":\"And then?\"}],"
                        + "\"max_tokens\":24,\"temperature\":0,\"stream\":true}"));
        return List.of("plain", "sampled", "chat-1", "chat-2");
    }

    private void assertExactlyOnceWithTheUninterruptedText(Names names, List<String> ids) throws Exception {
        Map<String, Generated> expected = new HashMap<>();
        expected.put("plain", generateAlone("Once upon a time", 40));
        PromptRequest sampled = json.decode(
                utf8("{\"request_id\":\"sampled\",\"prompt\":\"One day\",\"max_tokens\":40,\"temperature\":0.9,"
                        + "\"top_p\":0.95}"));
        expected.put("sampled", generate("sampled", new Prompt.Text("One day"), TurnPlanner.sampling(sampled)));
        Generated chat1 = generate(
                "chat-1",
                new Prompt.Chat(List.of(new ChatMessage("user", "Tell me about a bird."))),
                SamplingParams.greedy(32));
        expected.put("chat-1", chat1);
        expected.put(
                "chat-2",
                generate(
                        "chat-2",
                        new Prompt.Continue(
                                chat1.result().conversationTokens(), List.of(new ChatMessage("user", "And then?"))),
                        SamplingParams.greedy(24)));
        if (ids.contains("trigger")) {
            expected.put("trigger", generateAlone("Sam", 16));
        }

        try (CommittedRecords<Completion> completions =
                        new CommittedRecords<>(broker.bootstrapServers(), names.completions(), Completion.class);
                CommittedRecords<CompletionChunk> chunks =
                        new CommittedRecords<>(broker.bootstrapServers(), names.chunks(), CompletionChunk.class)) {
            completions.awaitUntil(
                    seen -> seen.stream()
                            .map(Completion::getRequestId)
                            .collect(Collectors.toSet())
                            .containsAll(ids),
                    WAIT,
                    "a completion of each of " + ids);
            // Anything emitted twice would arrive by now: the operator commits every 100 ms.
            List<Completion> all = completions.settle(Duration.ofSeconds(2));
            assertThat(all.stream().map(Completion::getRequestId).sorted().toList())
                    .as("exactly one final completion per request")
                    .containsExactlyElementsOf(ids.stream().sorted().toList());
            List<CompletionChunk> allChunks = chunks.settle(Duration.ofMillis(500));
            for (Completion completion : all) {
                Generated want = expected.get(completion.getRequestId());
                List<CompletionChunk> streamed = allChunks.stream()
                        .filter(c -> c.getRequestId().equals(completion.getRequestId()))
                        .toList();
                if (completion.getRequestId().equals("trigger")) {
                    assertThat(completion.getText()).isEqualTo(want.text());
                    assertThat(streamed).isEmpty();
                } else {
                    assertMatches(completion, streamed, want);
                }
            }
        }
    }

    /** The completion has the text, finish reason and token count of the engine's own run; the chunks add up to it. */
    private static void assertMatches(Completion completion, List<CompletionChunk> chunks, Generated expected) {
        String id = completion.getRequestId();
        assertThat(completion.getText()).as("text of " + id).isEqualTo(expected.text());
        assertThat(completion.getFinishReason())
                .as("finish reason of " + id)
                .isEqualTo(expected.result().finishReason().wireName());
        assertThat(completion.getUsage().getCompletionTokens())
                .as("completion tokens of " + id)
                .isEqualTo(expected.result().completionTokens());
        assertThat(completion.getError()).isNull();
        assertThat(chunks.stream().map(CompletionChunk::getSeq).toList())
                .as("chunk seqs of " + id + " (each once, in order)")
                .containsExactlyElementsOf(
                        IntStream.range(0, chunks.size()).boxed().toList());
        assertThat(chunks.stream().flatMap(c -> c.getTokenIds().stream()).toList())
                .as("streamed token ids of " + id)
                .containsExactlyElementsOf(expected.tokenIds());
        assertThat(chunks.stream().map(CompletionChunk::getText).collect(Collectors.joining()))
                .as("streamed text of " + id)
                .isEqualTo(expected.text());
        assertThat(chunks.stream().filter(CompletionChunk::getIsFinal).count())
                .as("final chunks of " + id)
                .isEqualTo(1);
        assertThat(chunks.getLast().getIsFinal()).isTrue();
        assertThat(chunks.getLast().getFinishReason()).isEqualTo(completion.getFinishReason());
    }

    private static List<Integer> tokensOf(List<CompletionChunk> chunks, String requestId) {
        return chunks.stream()
                .filter(c -> c.getRequestId().equals(requestId))
                .flatMap(c -> c.getTokenIds().stream())
                .toList();
    }

    // --- the engine alone ---

    /** What the engine generates for a request on its own: the token ids and text a listener hears, and the result. */
    private record Generated(String text, List<Integer> tokenIds, GenerationResult result) {}

    /** {@code yulan generate --prompt TEXT --max-tokens N --temperature 0}: a text prompt, greedy. */
    private static Generated generateAlone(String prompt, int maxTokens) {
        return generate("generate-0", new Prompt.Text(prompt), SamplingParams.greedy(maxTokens));
    }

    private static Generated generate(String requestId, Prompt prompt, SamplingParams sampling) {
        List<Integer> tokens = new CopyOnWriteArrayList<>();
        GenerationResult result = reference
                .submit(new GenerationRequest(requestId, 0, null, prompt, sampling), new GenerationListener() {
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
        return new Generated(result.text(), List.copyOf(tokens), result);
    }

    // --- Kafka plumbing ---

    private record Names(String prefix) {
        String prompts() {
            return prefix + ".prompts";
        }

        String completions() {
            return prefix + ".completions";
        }

        String chunks() {
            return prefix + ".chunks";
        }

        String deadLetter() {
            return prefix + ".dead-letter";
        }

        String applicationId() {
            return prefix + "-operator";
        }
    }

    private static Names names(String test) {
        return new Names("it-" + test + "-" + NAMES.incrementAndGet());
    }

    private OperatorConfig config(Names names) {
        return new OperatorConfig(Map.of(
                OperatorConfig.TOPIC_PROMPTS, names.prompts(),
                OperatorConfig.TOPIC_COMPLETIONS, names.completions(),
                OperatorConfig.TOPIC_CHUNKS, names.chunks(),
                OperatorConfig.TOPIC_DEAD_LETTER, names.deadLetter(),
                OperatorConfig.TOPIC_PARTITIONS, 2));
    }

    /** Creates the topics (first time), starts an operator on the test's state directory and waits until it runs. */
    private Operator startOperator(Names names, ControlledEngine engine) throws InterruptedException {
        return startOperator(names, engine, streams -> {});
    }

    private Operator startOperator(Names names, ControlledEngine engine, Consumer<KafkaStreams> beforeStart)
            throws InterruptedException {
        return startOperator(names, engine, stateDir, beforeStart);
    }

    private Operator startOperator(
            Names names, ControlledEngine engine, Path stateDirectory, Consumer<KafkaStreams> beforeStart)
            throws InterruptedException {
        opened.add(engine);
        OperatorConfig config = config(names);
        try (Admin admin =
                Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
            Operator.createTopics(admin, config);
        }
        Operator operator = new Operator(config, engine, streamsSettings(names, stateDirectory));
        opened.add(operator);
        beforeStart.accept(operator.streams());
        operator.start();
        awaitTrue(() -> operator.state() == KafkaStreams.State.RUNNING, "the operator to run");
        return operator;
    }

    private static Map<String, Object> streamsSettings(Names names, Path stateDirectory) {
        return Map.of(
                StreamsConfig.BOOTSTRAP_SERVERS_CONFIG,
                broker.bootstrapServers(),
                StreamsConfig.APPLICATION_ID_CONFIG,
                names.applicationId(),
                StreamsConfig.STATE_DIR_CONFIG,
                stateDirectory.toString(),
                // A crashed member is noticed after this (the broker's minimum), not the default 45 s.
                StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG),
                6000,
                StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG),
                1000);
    }

    /** Sends a record to the prompt topic and returns where it went, {@code partition@offset}. */
    private static String send(Names names, String key, byte[] value) {
        try {
            var sent = producer.send(new ProducerRecord<>(names.prompts(), utf8(key), value))
                    .get();
            return sent.partition() + "@" + sent.offset();
        } catch (Exception e) {
            throw new AssertionError("cannot send to " + names.prompts() + ": " + e, e);
        }
    }

    private static Map<String, Completion> awaitCompletions(Names names, List<String> ids) {
        try (CommittedRecords<Completion> completions =
                new CommittedRecords<>(broker.bootstrapServers(), names.completions(), Completion.class)) {
            List<Completion> all = completions.awaitUntil(
                    seen -> seen.stream()
                            .map(Completion::getRequestId)
                            .collect(Collectors.toSet())
                            .containsAll(ids),
                    WAIT,
                    "completions of " + ids);
            return all.stream().collect(Collectors.toMap(Completion::getRequestId, c -> c, (a, b) -> {
                throw new AssertionError("two completions of " + a.getRequestId() + ": " + a + " and " + b);
            }));
        }
    }

    private static Map<String, List<CompletionChunk>> awaitFinalChunks(Names names, List<String> ids) {
        try (CommittedRecords<CompletionChunk> chunks =
                new CommittedRecords<>(broker.bootstrapServers(), names.chunks(), CompletionChunk.class)) {
            List<CompletionChunk> all = chunks.awaitUntil(
                    seen -> seen.stream()
                            .filter(CompletionChunk::getIsFinal)
                            .map(CompletionChunk::getRequestId)
                            .collect(Collectors.toSet())
                            .containsAll(ids),
                    WAIT,
                    "final chunks of " + ids);
            return all.stream().collect(Collectors.groupingBy(CompletionChunk::getRequestId));
        }
    }

    private static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("waited " + WAIT.toSeconds() + " s for " + what);
            }
            Thread.sleep(50);
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] bytes(ByteBuffer buffer) {
        ByteBuffer view = buffer.duplicate();
        byte[] out = new byte[view.remaining()];
        view.get(out);
        return out;
    }
}
