package dev.yulan.topology.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.yulan.inference.engine.Engine;
import dev.yulan.inference.engine.FinishReason;
import dev.yulan.inference.engine.GenerationHandle;
import dev.yulan.inference.engine.GenerationListener;
import dev.yulan.inference.engine.GenerationRequest;
import dev.yulan.inference.engine.GenerationResult;
import dev.yulan.inference.engine.ModelInfo;
import dev.yulan.inference.engine.Prompt;
import dev.yulan.inference.engine.SamplingParams;
import dev.yulan.inference.engine.TokenEvent;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class MeteredEngineTest {

    /** Generates three tokens synchronously on submit, then completes with fixed timings. */
    private static final class ThreeTokenEngine implements Engine {
        final List<Integer> dropped = new ArrayList<>();

        @Override
        public GenerationHandle submit(GenerationRequest request, GenerationListener listener) {
            for (int i = 0; i < 3; i++) {
                listener.onToken(new TokenEvent(request.requestId(), i, 10 + i, "t" + i, Float.NaN));
            }
            GenerationResult result = new GenerationResult(
                    request.requestId(),
                    "t0t1t2",
                    FinishReason.LENGTH,
                    5,
                    2,
                    3,
                    new int[] {1, 2, 3, 4, 5, 10, 11, 12},
                    TimeUnit.MILLISECONDS.toNanos(1),
                    TimeUnit.MILLISECONDS.toNanos(20),
                    TimeUnit.MILLISECONDS.toNanos(50),
                    null);
            listener.onComplete(result);
            return new GenerationHandle(request.requestId(), 5, CompletableFuture.completedFuture(result));
        }

        @Override
        public boolean cancel(String requestId) {
            return false;
        }

        @Override
        public void dropShard(int shard) {
            dropped.add(shard);
        }

        @Override
        public ModelInfo model() {
            return new ModelInfo("three", 64, 32);
        }

        @Override
        public void close() {}
    }

    @Test
    void recordsEachRequestsLatenciesTokensAndFinishReasonAndPassesEventsOn() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        ThreeTokenEngine inner = new ThreeTokenEngine();
        List<String> seen = new ArrayList<>();
        try (MeteredEngine engine = new MeteredEngine(inner, new ServingMetrics(registry))) {
            engine.submit(
                    new GenerationRequest("r1", 0, "c", new Prompt.Text("hi"), SamplingParams.greedy(3)),
                    new GenerationListener() {
                        @Override
                        public void onToken(TokenEvent event) {
                            seen.add(event.textDelta());
                        }

                        @Override
                        public void onComplete(GenerationResult result) {
                            seen.add("done");
                        }
                    });
            engine.dropShard(4);
        }
        assertThat(seen).containsExactly("t0", "t1", "t2", "done");
        assertThat(inner.dropped).containsExactly(4);
        assertThat(registry.get("yulan.time_to_first_token").timer().count()).isEqualTo(1);
        assertThat(registry.get("yulan.time_to_first_token").timer().totalTime(TimeUnit.MILLISECONDS))
                .isEqualTo(20);
        assertThat(registry.get("yulan.e2e_request_latency").timer().totalTime(TimeUnit.MILLISECONDS))
                .isEqualTo(50);
        assertThat(registry.get("yulan.request_queue_time").timer().count()).isEqualTo(1);
        assertThat(registry.get("yulan.inter_token_latency").timer().count()).isEqualTo(2);
        assertThat(registry.get("yulan.prompt_tokens").counter().count()).isEqualTo(5);
        assertThat(registry.get("yulan.prompt_tokens_cached").counter().count()).isEqualTo(2);
        assertThat(registry.get("yulan.generation_tokens").counter().count()).isEqualTo(3);
        assertThat(registry.get("yulan.request_success")
                        .tag("finished_reason", "length")
                        .counter()
                        .count())
                .isEqualTo(1);
    }
}
