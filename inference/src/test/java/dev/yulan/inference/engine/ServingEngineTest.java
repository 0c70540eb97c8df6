package dev.yulan.inference.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.yulan.inference.model.LoadOptions;
import dev.yulan.inference.model.LoadProgress;
import dev.yulan.inference.model.SyntheticCheckpoint;
import dev.yulan.inference.model.SyntheticShape;
import dev.yulan.inference.model.Transformer;
import dev.yulan.inference.scheduler.SchedulerConfig;
import dev.yulan.inference.scheduler.SchedulerStats;
import dev.yulan.inference.tensor.DType;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The engine's contract: continuous batching, preemption, shards, cancellation and validation. */
class ServingEngineTest {

    static final SyntheticShape SHAPE = SyntheticShape.TINY;

    @TempDir
    static Path dir;

    @BeforeAll
    static void writeModel() {
        SyntheticCheckpoint.write(dir, SHAPE, DType.BF16, 3, 1, LoadProgress.NONE);
    }

    private static ServingEngine engine(SchedulerConfig config) {
        return ServingEngine.open(dir, new EngineOptions(LoadOptions.defaults(), 2, config, "tiny"));
    }

    private static SchedulerConfig config(int maxRunning, int kvBlocks) {
        long blockBytes = Transformer.kvLayout(dev.yulan.inference.model.ModelConfig.read(dir), 16, DType.BF16)
                .blockBytes();
        return SchedulerConfig.defaults(SHAPE.maxPositionEmbeddings())
                .withMaxRunning(maxRunning)
                .withMaxBatchTokens(Math.max(maxRunning, 32))
                .withKvCache(blockBytes * kvBlocks, DType.BF16)
                .withBatchingWindow(Duration.ZERO);
    }

    private static SamplingParams sampled(int maxTokens) {
        return new SamplingParams(0.9f, 0, 1f, 0f, 1f, 0f, 0f, null, maxTokens, List.of(), List.of(), false);
    }

    private static GenerationRequest request(String id, int shard, String prompt, SamplingParams params) {
        return new GenerationRequest(id, shard, null, new Prompt.Text(prompt), params);
    }

    /** Collects each request's tokens. */
    static final class Recorder implements GenerationListener {
        final ConcurrentHashMap<String, List<Integer>> tokens = new ConcurrentHashMap<>();
        final ConcurrentHashMap<String, GenerationResult> results = new ConcurrentHashMap<>();

        @Override
        public void onToken(TokenEvent event) {
            tokens.computeIfAbsent(event.requestId(), id -> new CopyOnWriteArrayList<>())
                    .add(event.tokenId());
        }

        @Override
        public void onComplete(GenerationResult result) {
            assertThat(results.put(result.requestId(), result))
                    .as("one completion per request")
                    .isNull();
        }
    }

    private static List<String> prompts(int n) {
        List<String> prompts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            prompts.add("prompt number " + i + " " + "abc".repeat(i % 5));
        }
        return prompts;
    }

    @Test
    void requestsRunTogetherProduceWhatTheyProduceAlone() {
        List<String> prompts = prompts(6);
        Recorder alone = new Recorder();
        try (ServingEngine engine = engine(config(1, 64))) {
            for (int i = 0; i < prompts.size(); i++) {
                engine.submit(request("r" + i, 0, prompts.get(i), sampled(12)), alone)
                        .result()
                        .join();
            }
        }
        Recorder together = new Recorder();
        try (ServingEngine engine = engine(config(6, 64))) {
            List<GenerationHandle> handles = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                handles.add(engine.submit(request("r" + i, i % 3, prompts.get(i), sampled(12)), together));
            }
            handles.forEach(h -> h.result().join());
            assertThat(engine.stats().steps()).isLessThan(6 * 13);
        }
        assertThat(together.tokens).isEqualTo(alone.tokens);
        together.results
                .values()
                .forEach(r -> assertThat(r.finishReason()).isIn(FinishReason.LENGTH, FinishReason.STOP));
    }

    @Test
    void preemptedSequencesResumeWithTheSameTokens() {
        List<String> prompts = prompts(6);
        Recorder roomy = new Recorder();
        try (ServingEngine engine = engine(config(6, 256))) {
            List<GenerationHandle> handles = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                handles.add(engine.submit(request("p" + i, 0, prompts.get(i), sampled(40)), roomy));
            }
            handles.forEach(h -> h.result().join());
        }
        Recorder tight = new Recorder();
        try (ServingEngine engine = engine(config(6, 10))) {
            List<GenerationHandle> handles = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                handles.add(engine.submit(request("p" + i, 0, prompts.get(i), sampled(40)), tight));
            }
            handles.forEach(h -> h.result().join());
            assertThat(engine.stats().preemptions()).isPositive();
        }
        assertThat(tight.tokens).isEqualTo(roomy.tokens);
    }

    @Test
    void aNextTurnReusesTheCachedPrefixOfTheConversation() {
        try (ServingEngine engine = engine(config(4, 64))) {
            Recorder recorder = new Recorder();
            List<ChatMessage> first = List.of(new ChatMessage("user", "tell me a story about a cat and a dog please"));
            GenerationResult turn1 = engine.submit(
                            new GenerationRequest("t1", 2, "c", new Prompt.Chat(first), sampled(20)), recorder)
                    .result()
                    .join();
            GenerationResult turn2 = engine.submit(
                            new GenerationRequest(
                                    "t2",
                                    2,
                                    "c",
                                    new Prompt.Continue(
                                            turn1.conversationTokens(), List.of(new ChatMessage("user", "and then?"))),
                                    sampled(5)),
                            recorder)
                    .result()
                    .join();
            assertThat(turn2.promptTokens()).isGreaterThan(turn1.conversationTokens().length);
            assertThat(turn2.cachedTokens()).isEqualTo(turn1.conversationTokens().length / 16 * 16);
            assertThat(turn2.cachedTokens()).isPositive();
        }
    }

    @Test
    void droppingAShardFreesAllItsBlocks() {
        try (ServingEngine engine = engine(config(4, 64))) {
            Recorder recorder = new Recorder();
            engine.submit(request("a", 5, "a long enough prompt to fill at least one block", sampled(20)), recorder)
                    .result()
                    .join();
            engine.submit(request("b", 6, "another prompt for another shard", sampled(20)), recorder)
                    .result()
                    .join();
            assertThat(engine.stats().kvBlocksByShard()).containsKeys(5, 6);
            engine.dropShard(5);
            awaitStats(engine, s -> !s.kvBlocksByShard().containsKey(5));
            assertThat(engine.stats().kvBlocksByShard()).containsKey(6);
        }
    }

    @Test
    void manyThreadsSubmittingAndCancellingLeaveNothingBehind() throws InterruptedException {
        Recorder recorder = new Recorder();
        try (ServingEngine engine = engine(config(8, 24))) {
            ExecutorService pool = Executors.newFixedThreadPool(6);
            int requests = 60;
            for (int i = 0; i < requests; i++) {
                int n = i;
                pool.submit(() -> {
                    engine.submit(request("c" + n, n % 4, "concurrent " + n, sampled(10 + n % 7)), recorder);
                    if (n % 3 == 0) {
                        engine.cancel("c" + n);
                    }
                });
            }
            pool.shutdown();
            assertThat(pool.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (recorder.results.size() < requests && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(recorder.results).hasSize(requests);
            for (int shard = 0; shard < 4; shard++) {
                engine.dropShard(shard);
            }
            awaitStats(engine, s -> s.kvBlocksUsed() == 0);
            assertThat(engine.stats().running()).isZero();
            assertThat(engine.stats().waiting()).isZero();
        }
    }

    @Test
    void invalidRequestsFailAtSubmitWithAReason() {
        try (ServingEngine engine = engine(config(2, 16))) {
            Recorder recorder = new Recorder();
            SamplingParams bad = new SamplingParams(-1f, 0, 1f, 0f, 1f, 0f, 0f, null, 5, List.of(), List.of(), false);
            assertThatThrownBy(() -> engine.submit(request("x", 0, "hi", bad), recorder))
                    .isInstanceOf(InvalidRequestException.class)
                    .hasMessageContaining("temperature");
            String huge = "word ".repeat(SHAPE.maxPositionEmbeddings());
            assertThatThrownBy(() -> engine.submit(request("y", 0, huge, sampled(5)), recorder))
                    .isInstanceOf(InvalidRequestException.class)
                    .hasMessageContaining("context");
            assertThatThrownBy(() -> engine.submit(
                            new GenerationRequest("z", 0, null, new Prompt.Tokens(new int[] {1, 99999}), sampled(3)),
                            recorder))
                    .isInstanceOf(InvalidRequestException.class)
                    .hasMessageContaining("vocabulary");
        }
    }

    @Test
    void anEmptyTextPromptStartsFromBos() {
        try (ServingEngine engine = engine(config(2, 16))) {
            GenerationHandle handle = engine.submit(request("e", 0, "", sampled(3)), new Recorder());
            assertThat(handle.promptTokens()).isEqualTo(1);
            assertThat(handle.result().join().completionTokens()).isBetween(1, 3);
        }
    }

    private static void awaitStats(ServingEngine engine, java.util.function.Predicate<SchedulerStats> condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.test(engine.stats()) && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(condition.test(engine.stats()))
                .as("engine stats: %s", engine.stats())
                .isTrue();
    }
}
