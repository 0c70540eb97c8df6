package dev.yulan.topology.processor;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.yulan.inference.engine.ChatMessage;
import dev.yulan.inference.engine.GenerationRequest;
import dev.yulan.inference.engine.Prompt;
import dev.yulan.schemas.Completion;
import dev.yulan.schemas.CompletionChunk;
import dev.yulan.schemas.DeadLetter;
import dev.yulan.schemas.PromptRequest;
import dev.yulan.topology.config.OperatorConfig;
import dev.yulan.topology.store.StoreNames;
import dev.yulan.topology.store.StoreSuppliers;
import dev.yulan.topology.store.SurvivingStores;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerationTopologyTest {

    @TempDir
    Path stateDir;

    private final FakeEngine engine = new FakeEngine();
    private final List<Harness> opened = new ArrayList<>();

    private Harness harness(Map<String, ?> overrides) {
        return harness(StoreSuppliers.inMemory(), overrides);
    }

    private Harness harness(StoreSuppliers stores, Map<String, ?> overrides) {
        Harness harness = new Harness(engine, stores, stateDir, overrides);
        opened.add(harness);
        return harness;
    }

    @AfterEach
    void closeDrivers() {
        for (Harness harness : opened) {
            try {
                harness.close();
            } catch (RuntimeException alreadyClosed) {
                // closed by the test
            }
        }
    }

    private GenerationRequest onlySubmission() {
        assertThat(engine.submitted()).hasSize(1);
        return engine.submitted().getFirst();
    }

    @Test
    void streamsChunksThenOneFinalCompletion() {
        Harness op = harness(Map.of());
        op.sendJson("c1", "{\"request_id\":\"r1\",\"prompt\":\"Once upon\",\"max_tokens\":5,\"stream\":true}");
        GenerationRequest request = onlySubmission();
        assertThat(request.prompt()).isEqualTo(new Prompt.Text("Once upon"));
        assertThat(request.shard()).isZero();
        assertThat(request.conversationId()).isEqualTo("c1");
        int[] expected = FakeEngine.expectedTokens(request);

        engine.step("r1", 2);
        assertThat(op.chunks()).as("nothing before the punctuator runs").isEmpty();
        op.tick();
        List<CompletionChunk> first = op.chunks();
        assertThat(first).singleElement().satisfies(chunk -> {
            assertThat(chunk.getSeq()).isZero();
            assertThat(chunk.getTokenIds()).containsExactly(expected[0], expected[1]);
            assertThat(chunk.getText()).isEqualTo(FakeEngine.text(new int[] {expected[0], expected[1]}));
            assertThat(chunk.getIsFinal()).isFalse();
        });
        assertThat(op.completions()).isEmpty();

        engine.finish("r1");
        op.tick();
        assertThat(op.chunks()).singleElement().satisfies(chunk -> {
            assertThat(chunk.getSeq()).isEqualTo(1);
            assertThat(chunk.getTokenIds()).containsExactly(expected[2], expected[3], expected[4]);
            assertThat(chunk.getIsFinal()).isTrue();
            assertThat(chunk.getFinishReason()).isEqualTo("length");
        });
        var records = op.rawCompletions();
        assertThat(records).hasSize(1);
        assertThat(new String(records.getFirst().key(), StandardCharsets.UTF_8)).isEqualTo("c1");
        Completion completion = dev.yulan.schemas.codec.AvroCodec.of(Completion.class)
                .decode(records.getFirst().value());
        assertThat(completion.getRequestId()).isEqualTo("r1");
        assertThat(completion.getConversationId()).isEqualTo("c1");
        assertThat(completion.getText()).isEqualTo(FakeEngine.text(expected));
        assertThat(completion.getFinishReason()).isEqualTo("length");
        assertThat(completion.getModel()).isEqualTo("fake-model");
        assertThat(completion.getUsage().getPromptTokens()).isEqualTo("Once upon".length());
        assertThat(completion.getUsage().getCompletionTokens()).isEqualTo(5);
        assertThat(completion.getTimings().getTimeToFirstTokenMs()).isEqualTo(2.0);
        op.tick();
        assertThat(op.completions()).isEmpty();
        assertThat(op.chunks()).isEmpty();
    }

    @Test
    void sendsNoChunksUnlessAskedToStream() {
        Harness op = harness(Map.of());
        op.sendJson("c1", "{\"prompt\":\"Hi\",\"max_tokens\":3}");
        engine.finishAll();
        op.tick();
        assertThat(op.chunks()).isEmpty();
        assertThat(op.completions())
                .singleElement()
                .satisfies(c -> assertThat(c.getText()).hasSize(3));
    }

    @Test
    void assignsTheRequestIdFromTopicPartitionAndOffset() {
        Harness op = harness(Map.of());
        op.sendJson("c1", "{\"prompt\":\"a\",\"max_tokens\":1}");
        op.sendJson("c2", "{\"prompt\":\"b\",\"max_tokens\":1}");
        assertThat(engine.submitted())
                .extracting(GenerationRequest::requestId)
                .containsExactly("yulan.prompts-0-0", "yulan.prompts-0-1");
        engine.finishAll();
        op.tick();
        assertThat(op.completions())
                .extracting(Completion::getRequestId)
                .containsExactlyInAnyOrder("yulan.prompts-0-0", "yulan.prompts-0-1");
    }

    @Test
    void defaultsMaxTokensAndReadsAvroInput() {
        Harness op = harness(Map.of(OperatorConfig.DEFAULT_MAX_TOKENS, 7));
        op.sendAvro(
                "c1",
                PromptRequest.newBuilder()
                        .setPrompt("Hello")
                        .setTemperature(0f)
                        .setSeed(9L)
                        .build());
        GenerationRequest request = onlySubmission();
        assertThat(request.sampling().maxTokens()).isEqualTo(7);
        assertThat(request.sampling().temperature()).isZero();
        assertThat(request.sampling().seed()).isEqualTo(9L);
    }

    @Test
    void runsOneRequestPerConversationInArrivalOrder() {
        Harness op = harness(Map.of());
        op.sendJson("c1", "{\"request_id\":\"c1-a\",\"prompt\":\"first\",\"max_tokens\":2}");
        op.sendJson("c1", "{\"request_id\":\"c1-b\",\"prompt\":\"second\",\"max_tokens\":2}");
        op.sendJson("c1", "{\"request_id\":\"c1-c\",\"prompt\":\"third\",\"max_tokens\":2}");
        op.sendJson("c2", "{\"request_id\":\"c2-a\",\"prompt\":\"other\",\"max_tokens\":2}");
        assertThat(engine.runningIds()).containsExactly("c1-a", "c2-a");

        engine.finish("c1-a");
        op.tick();
        assertThat(engine.runningIds()).containsExactly("c2-a", "c1-b");
        engine.finishAll();
        op.tick();
        engine.finishAll();
        op.tick();
        assertThat(engine.runningIds()).isEmpty();
        assertThat(op.completions())
                .extracting(Completion::getRequestId)
                .containsExactly("c1-a", "c2-a", "c1-b", "c1-c");
    }

    @Test
    void ordersTurnsAndKeepsHistoryOnRocksDbStores() {
        Harness op = harness(StoreSuppliers.persistent(), Map.of());
        op.sendJson(
                "ab",
                "{\"request_id\":\"ab-1\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":2}");
        op.sendJson(
                "a", "{\"request_id\":\"a-1\",\"messages\":[{\"role\":\"user\",\"content\":\"y\"}],\"max_tokens\":2}");
        op.sendJson(
                "a", "{\"request_id\":\"a-2\",\"messages\":[{\"role\":\"user\",\"content\":\"z\"}],\"max_tokens\":2}");
        op.sendJson(
                "ab",
                "{\"request_id\":\"ab-2\",\"messages\":[{\"role\":\"user\",\"content\":\"w\"}],\"max_tokens\":2}");
        assertThat(engine.runningIds()).containsExactly("ab-1", "a-1");
        engine.finishAll();
        op.tick();
        assertThat(engine.runningIds()).containsExactlyInAnyOrder("a-2", "ab-2");
        assertThat(engine.submitted().subList(2, 4))
                .allSatisfy(request -> assertThat(request.prompt()).isInstanceOf(Prompt.Continue.class));
        engine.finishAll();
        op.tick();
        assertThat(op.completions())
                .extracting(Completion::getRequestId)
                .containsExactlyInAnyOrder("ab-1", "a-1", "a-2", "ab-2");
    }

    @Test
    void secondTurnContinuesFromTheFirstTurnsTokens() {
        Harness op = harness(Map.of());
        op.sendJson(
                "chat",
                "{\"request_id\":\"t1\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":4}");
        // The second turn arrives while the first is still running: it waits, and is planned when submitted.
        op.sendJson(
                "chat",
                "{\"request_id\":\"t2\",\"messages\":[{\"role\":\"user\",\"content\":\"More\"}],\"max_tokens\":4}");
        GenerationRequest first = onlySubmission();
        assertThat(first.prompt()).isEqualTo(new Prompt.Chat(List.of(new ChatMessage("user", "Hi"))));
        int[] firstTurn = java.util.stream.IntStream.concat(
                        java.util.Arrays.stream(FakeEngine.tokenize(first.prompt())),
                        java.util.Arrays.stream(FakeEngine.expectedTokens(first)))
                .toArray();

        engine.finish("t1");
        op.tick();

        GenerationRequest second = engine.submitted().get(1);
        assertThat(second.requestId()).isEqualTo("t2");
        assertThat(second.prompt()).isInstanceOfSatisfying(Prompt.Continue.class, next -> {
            assertThat(next.history()).containsExactly(firstTurn);
            assertThat(next.messages()).containsExactly(new ChatMessage("user", "More"));
        });
        engine.finish("t2");
        op.tick();
        List<Completion> completions = op.completions();
        assertThat(completions).extracting(Completion::getRequestId).containsExactly("t1", "t2");
        assertThat(completions.get(1).getUsage().getCachedTokens()).isEqualTo(firstTurn.length);
    }

    @Test
    void aListWithSystemOrAssistantMessagesStartsTheConversationOver() {
        Harness op = harness(Map.of());
        op.sendJson("chat", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2}");
        engine.finishAll();
        op.tick();
        op.sendJson(
                "chat",
                "{\"messages\":[{\"role\":\"system\",\"content\":\"Be kind\"},{\"role\":\"user\",\"content\":\"Hi\"}],"
                        + "\"max_tokens\":2}");
        assertThat(engine.submitted().get(1).prompt()).isInstanceOf(Prompt.Chat.class);
        engine.finishAll();
        op.tick();
        op.sendJson(
                "chat",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"Again\"}],\"continuation\":false,\"max_tokens\":2}");
        assertThat(engine.submitted().get(2).prompt()).isInstanceOf(Prompt.Chat.class);
    }

    @Test
    void plainTextPromptsNeitherReadNorWriteHistory() {
        Harness op = harness(Map.of());
        op.sendJson("c", "{\"prompt\":\"text\",\"max_tokens\":2}");
        engine.finishAll();
        op.tick();
        op.sendJson("c", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2}");
        assertThat(engine.submitted().get(1).prompt()).isInstanceOf(Prompt.Chat.class);
        engine.finishAll();
        op.tick();
        op.sendJson("c", "{\"prompt\":\"text again\",\"max_tokens\":2}");
        assertThat(engine.submitted().get(2).prompt()).isEqualTo(new Prompt.Text("text again"));
    }

    @Test
    void continuingAnUnknownConversationIsDeadLettered() {
        Harness op = harness(Map.of());
        op.sendJson(
                "nobody",
                "{\"request_id\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"continuation\":true}");
        assertThat(engine.submitted()).isEmpty();
        assertThat(op.deadLetters()).singleElement().satisfies(letter -> {
            assertThat(letter.getReason()).isEqualTo("unknown conversation 'nobody': no history to continue");
            assertThat(letter.getRequestId()).isEqualTo("x");
            assertThat(letter.getOffset()).isZero();
        });
        op.sendJson("nobody", "{\"prompt\":\"still here\",\"max_tokens\":1}");
        assertThat(engine.submitted()).hasSize(1);
    }

    @Test
    void deadLettersEveryKindOfBadInputAndKeepsRunning() {
        Harness op = harness(Map.of());
        byte[] unknownFingerprint = dev.yulan.schemas.codec.AvroCodec.of(PromptRequest.class)
                .encode(PromptRequest.newBuilder().setPrompt("x").build());
        unknownFingerprint[3] ^= 0x11;
        byte[] truncated = java.util.Arrays.copyOf(
                dev.yulan.schemas.codec.AvroCodec.of(PromptRequest.class)
                        .encode(PromptRequest.newBuilder().setPrompt("hello").build()),
                12);
        String tooLong = "x".repeat(FakeEngine.CONTEXT + 10);
        List<byte[]> values = List.of(
                "not a record".getBytes(StandardCharsets.UTF_8),
                new byte[] {0x00, 0x01, 0x02},
                unknownFingerprint,
                truncated,
                "{\"prompt\": \"unterminated".getBytes(StandardCharsets.UTF_8),
                "{\"messages\":[{\"role\":\"user\"}]}".getBytes(StandardCharsets.UTF_8),
                "{\"prompt\":\"\"}".getBytes(StandardCharsets.UTF_8),
                "{\"messages\":[]}".getBytes(StandardCharsets.UTF_8),
                "{\"max_tokens\":3}".getBytes(StandardCharsets.UTF_8),
                "{\"prompt\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"b\"}]}"
                        .getBytes(StandardCharsets.UTF_8),
                ("{\"prompt\":\"" + tooLong + "\"}").getBytes(StandardCharsets.UTF_8),
                "{\"prompt\":\"a\",\"temperature\":5}".getBytes(StandardCharsets.UTF_8),
                "{\"prompt\":\"a\",\"max_tokens\":0}".getBytes(StandardCharsets.UTF_8),
                "{\"prompt\":\"a\",\"max_tokens\":100000}".getBytes(StandardCharsets.UTF_8),
                "{\"prompt\":\"a\",\"top_p\":0}".getBytes(StandardCharsets.UTF_8),
                "{\"prompt\":\"a\",\"top_k\":-1}".getBytes(StandardCharsets.UTF_8),
                "{\"prompt\":\"a\",\"presence_penalty\":9}".getBytes(StandardCharsets.UTF_8),
                "{\"prompt\":\"a\",\"stop\":[\"\"]}".getBytes(StandardCharsets.UTF_8),
                "{\"prompt\":\"a\",\"max_token\":5}".getBytes(StandardCharsets.UTF_8),
                "{\"messages\":[{\"role\":\"wizard\",\"content\":\"b\"}]}".getBytes(StandardCharsets.UTF_8),
                "{\"prompt\":\"a\",\"conversation_id\":\"other\"}".getBytes(StandardCharsets.UTF_8),
                "[1,2,3]".getBytes(StandardCharsets.UTF_8));
        List<String> reasons = List.of(
                "neither Avro single-object encoding (marker C3 01) nor a JSON object",
                "neither Avro single-object encoding",
                "unknown schema fingerprint",
                "corrupt Avro PromptRequest record",
                "malformed JSON",
                "missing required field 'messages[0].content'",
                "empty prompt",
                "empty messages",
                "missing prompt or messages",
                "give either prompt or messages, not both",
                "prompt is " + tooLong.length() + " tokens, the context holds " + FakeEngine.CONTEXT,
                "temperature 5.0 out of range [0, 2]",
                "max_tokens 0 out of range [1, " + FakeEngine.CONTEXT + "]",
                "max_tokens 100000 out of range",
                "top_p 0.0 out of range (0, 1]",
                "top_k -1 is negative",
                "presence_penalty 9.0 out of range [-2, 2]",
                "empty stop string",
                "unknown field 'max_token'",
                "messages[0].role 'wizard' is not one of system, user, assistant, tool",
                "conversation_id 'other' differs from the record key 'bad'",
                "neither Avro single-object encoding");
        for (byte[] value : values) {
            op.send("bad", value);
        }
        op.send("bad", null);
        op.tick();

        List<DeadLetter> letters = op.deadLetters();
        assertThat(letters).hasSize(values.size() + 1);
        for (int i = 0; i < values.size(); i++) {
            DeadLetter letter = letters.get(i);
            assertThat(letter.getReason()).as("record %d", i).startsWith(reasons.get(i));
            assertThat(letter.getReason()).as("one line").doesNotContain("\n");
            assertThat(letter.getTopic()).isEqualTo("yulan.prompts");
            assertThat(letter.getPartition()).isZero();
            assertThat(letter.getOffset()).isEqualTo(i);
            assertThat(bytes(letter.getKey())).isEqualTo("bad".getBytes(StandardCharsets.UTF_8));
            assertThat(bytes(letter.getValue())).isEqualTo(values.get(i));
        }
        assertThat(letters.getLast().getReason()).isEqualTo("record has no value (a tombstone)");
        assertThat(letters.getLast().getValue()).isNull();
        assertThat(op.completions()).isEmpty();

        op.sendJson("good", "{\"prompt\":\"fine\",\"max_tokens\":2}");
        engine.finishAll();
        op.tick();
        assertThat(op.completions()).hasSize(1);
    }

    @Test
    void deadLettersARequestIdThatIsAlreadyInFlight() {
        Harness op = harness(Map.of());
        op.sendJson("c1", "{\"request_id\":\"same\",\"prompt\":\"a\"}");
        op.sendJson("c2", "{\"request_id\":\"same\",\"prompt\":\"b\"}");
        assertThat(op.deadLetters())
                .singleElement()
                .satisfies(l -> assertThat(l.getReason()).isEqualTo("request_id 'same' is already in flight"));
        assertThat(engine.submitted()).hasSize(1);
    }

    @Test
    void engineRejectionOfAWaitingTurnIsDeadLetteredWithItsOriginalBytes() {
        Harness op = harness(Map.of());
        op.sendJson("c", "{\"request_id\":\"ok\",\"prompt\":\"short\",\"max_tokens\":1}");
        String tooLong = "{\"request_id\":\"long\",\"prompt\":\"" + "y".repeat(FakeEngine.CONTEXT) + "\"}";
        op.sendJson("c", tooLong);
        op.sendJson("c", "{\"request_id\":\"after\",\"prompt\":\"next\",\"max_tokens\":1}");
        assertThat(op.deadLetters()).isEmpty();
        engine.finish("ok");
        op.tick();
        assertThat(op.deadLetters()).singleElement().satisfies(letter -> {
            assertThat(letter.getRequestId()).isEqualTo("long");
            assertThat(letter.getOffset()).isEqualTo(1);
            assertThat(letter.getReason()).startsWith("prompt is ");
            assertThat(bytes(letter.getValue())).isEqualTo(tooLong.getBytes(StandardCharsets.UTF_8));
        });
        assertThat(engine.runningIds()).containsExactly("after");
    }

    @Test
    void engineErrorsEndTheRequestWithAnErrorCompletionAndNoHistory() {
        Harness op = harness(Map.of());
        op.sendJson("c", "{\"request_id\":\"e\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
        engine.failWith("e", "out of KV blocks");
        engine.finish("e");
        op.tick();
        assertThat(op.completions()).singleElement().satisfies(c -> {
            assertThat(c.getFinishReason()).isEqualTo("error");
            assertThat(c.getError()).isEqualTo("out of KV blocks");
        });
        op.sendJson("c", "{\"messages\":[{\"role\":\"user\",\"content\":\"Again\"}],\"max_tokens\":1}");
        assertThat(engine.submitted().get(1).prompt()).isInstanceOf(Prompt.Chat.class);
    }

    @Test
    void punctuatorForwardsEventsDeliveredOnEngineThreads() throws InterruptedException {
        Harness op = harness(Map.of());
        for (int i = 0; i < 5; i++) {
            op.sendJson("c" + i, "{\"prompt\":\"p" + i + "\",\"max_tokens\":3,\"stream\":true}");
        }
        engine.finishAllOnAnotherThread();
        assertThat(op.completions()).isEmpty();
        op.tick();
        assertThat(op.completions()).hasSize(5);
        assertThat(op.chunks()).hasSize(5).allSatisfy(chunk -> {
            assertThat(chunk.getIsFinal()).isTrue();
            assertThat(chunk.getTokenIds()).hasSize(3);
        });
    }

    @Test
    void limitsRequestsInTheEnginePerTaskAndFavoursPriority() {
        Harness op = harness(Map.of(OperatorConfig.MAX_INFLIGHT_PER_TASK, 2));
        op.sendJson("a", "{\"request_id\":\"a\",\"prompt\":\"a\",\"max_tokens\":1}");
        op.sendJson("b", "{\"request_id\":\"b\",\"prompt\":\"b\",\"max_tokens\":1}");
        op.sendJson("c", "{\"request_id\":\"c\",\"prompt\":\"c\",\"max_tokens\":1}");
        op.sendJson("d", "{\"request_id\":\"d\",\"prompt\":\"d\",\"max_tokens\":1,\"priority\":5}");
        assertThat(engine.runningIds()).containsExactly("a", "b");
        engine.finish("a");
        op.tick();
        assertThat(engine.runningIds()).containsExactly("b", "d");
        engine.finishAll();
        op.tick();
        assertThat(engine.runningIds()).containsExactly("c");
    }

    @Test
    void dropsTheTasksShardWhenTheTaskCloses() {
        Harness op = harness(Map.of());
        op.sendJson("c", "{\"request_id\":\"r\",\"prompt\":\"a\"}");
        op.close();
        assertThat(engine.droppedShards()).containsExactly(0);
        assertThat(engine.runningIds()).isEmpty();
    }

    @Test
    void restartResubmitsInflightRequestsWithoutDuplicateOutput() {
        SurvivingStores stores = new SurvivingStores();
        Harness first = harness(stores.suppliers(), Map.of());
        first.sendJson("c", "{\"request_id\":\"r\",\"prompt\":\"tell me\",\"max_tokens\":8,\"stream\":true}");
        first.sendJson("c", "{\"request_id\":\"r2\",\"prompt\":\"then\",\"max_tokens\":2}");
        first.sendJson("d", "{\"request_id\":\"done\",\"prompt\":\"quick\",\"max_tokens\":2}");
        int[] expected = FakeEngine.expectedTokens(engine.submitted().getFirst());
        engine.step("r", 3);
        engine.finish("done");
        first.tick();
        List<CompletionChunk> before = first.chunks();
        assertThat(before)
                .singleElement()
                .satisfies(c -> assertThat(c.getTokenIds()).hasSize(3));
        assertThat(first.completions()).extracting(Completion::getRequestId).containsExactly("done");
        engine.step("r", 2); // generated but never forwarded: lost with the task, generated again
        first.close();
        assertThat(engine.droppedShards()).containsExactly(0);
        assertThat(stores.committed(StoreNames.INFLIGHT)).hasSize(2);

        Harness second = harness(stores.suppliers(), Map.of());
        second.tick();
        assertThat(engine.runningIds()).containsExactly("r");
        assertThat(engine.submitted()).extracting(GenerationRequest::requestId).containsExactly("r", "done", "r");
        engine.finish("r");
        second.tick();
        List<CompletionChunk> after = second.chunks();
        assertThat(after).singleElement().satisfies(c -> {
            assertThat(c.getSeq()).isEqualTo(1);
            assertThat(c.getIsFinal()).isTrue();
        });
        List<Integer> streamed = new ArrayList<>(before.getFirst().getTokenIds());
        streamed.addAll(after.getFirst().getTokenIds());
        assertThat(streamed)
                .containsExactlyElementsOf(
                        java.util.Arrays.stream(expected).boxed().toList());
        assertThat(second.completions()).singleElement().satisfies(c -> {
            assertThat(c.getRequestId()).isEqualTo("r");
            assertThat(c.getText()).isEqualTo(FakeEngine.text(expected));
        });
        engine.finishAll();
        second.tick();
        assertThat(second.completions()).extracting(Completion::getRequestId).containsExactly("r2");
        assertThat(stores.committed(StoreNames.INFLIGHT)).isEmpty();
    }

    @Test
    void aCrashedInstancesRequestsRunAgainOnANewEngineFromTheLastCommit(@TempDir Path otherStateDir) {
        SurvivingStores stores = new SurvivingStores();
        Harness crashed = harness(stores.suppliers(), Map.of());
        crashed.sendJson("c", "{\"request_id\":\"r\",\"prompt\":\"go\",\"max_tokens\":6,\"stream\":true}");
        int[] expected = FakeEngine.expectedTokens(engine.submitted().getFirst());
        engine.step("r", 4);
        crashed.tick();
        List<CompletionChunk> before = crashed.chunks();
        // No close: the process is gone, and its engine with it.

        FakeEngine restarted = new FakeEngine();
        Harness recovered = new Harness(restarted, stores.suppliers(), otherStateDir, Map.of());
        opened.add(recovered);
        recovered.tick();
        assertThat(restarted.runningIds()).containsExactly("r");
        restarted.finishAll();
        recovered.tick();
        List<Integer> streamed = new ArrayList<>(before.getFirst().getTokenIds());
        recovered.chunks().forEach(chunk -> streamed.addAll(chunk.getTokenIds()));
        assertThat(streamed)
                .containsExactlyElementsOf(
                        java.util.Arrays.stream(expected).boxed().toList());
        assertThat(recovered.completions())
                .singleElement()
                .satisfies(c -> assertThat(c.getText()).isEqualTo(FakeEngine.text(expected)));
    }

    @Test
    void historySurvivesARestart() {
        SurvivingStores stores = new SurvivingStores();
        Harness first = harness(stores.suppliers(), Map.of());
        first.sendJson("chat", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":3}");
        engine.finishAll();
        first.tick();
        first.close();
        Harness second = harness(stores.suppliers(), Map.of());
        second.sendJson("chat", "{\"messages\":[{\"role\":\"user\",\"content\":\"More\"}],\"max_tokens\":3}");
        assertThat(engine.submitted().getLast().prompt()).isInstanceOf(Prompt.Continue.class);
    }

    @Test
    void writesJsonOutputWhenConfigured() throws Exception {
        Harness op = harness(Map.of(OperatorConfig.OUTPUT_FORMAT, "json"));
        op.sendJson("c1", "{\"request_id\":\"j\",\"prompt\":\"Hi\",\"max_tokens\":2,\"stream\":true}");
        op.sendJson("c1", "{\"prompt\":\"\"}");
        engine.finishAll();
        op.tick();
        ObjectMapper mapper = new ObjectMapper();
        JsonNode completion = mapper.readTree(op.rawCompletions().getFirst().value());
        assertThat(completion.get("request_id").asText()).isEqualTo("j");
        assertThat(completion.get("finish_reason").asText()).isEqualTo("length");
        assertThat(completion.get("usage").get("completion_tokens").asInt()).isEqualTo(2);
        assertThat(completion.get("usage").get("cached_tokens").asInt()).isZero();
        assertThat(completion.get("timings").get("time_to_first_token_ms").asDouble())
                .isEqualTo(2.0);
        // Clients read either format through the same codec.
        assertThat(op.chunks())
                .singleElement()
                .satisfies(c -> assertThat(c.getIsFinal()).isTrue());
        assertThat(op.deadLetters())
                .singleElement()
                .satisfies(l -> assertThat(l.getReason()).isEqualTo("empty prompt"));
    }

    private static byte[] bytes(ByteBuffer buffer) {
        if (buffer == null) {
            return null;
        }
        ByteBuffer view = buffer.duplicate();
        byte[] bytes = new byte[view.remaining()];
        view.get(bytes);
        return bytes;
    }
}
