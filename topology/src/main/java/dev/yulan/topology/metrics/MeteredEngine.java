package dev.yulan.topology.metrics;

import dev.yulan.inference.engine.Engine;
import dev.yulan.inference.engine.GenerationHandle;
import dev.yulan.inference.engine.GenerationListener;
import dev.yulan.inference.engine.GenerationRequest;
import dev.yulan.inference.engine.GenerationResult;
import dev.yulan.inference.engine.ModelInfo;
import dev.yulan.inference.engine.TokenEvent;
import java.time.Duration;

/**
 * An {@link Engine} that records each request's serving metrics from its own events: inter-token latency as tokens
 * arrive; time to first token, queue time, end-to-end latency, token counts and the finish reason when it completes.
 * Engine-wide state (running and waiting requests, KV cache, prefix cache, preemptions, batch sizes) comes from
 * {@link EngineStatsPoller}. Closing it closes the wrapped engine.
 */
public final class MeteredEngine implements Engine {

    private final Engine engine;
    private final ServingMetrics metrics;

    public MeteredEngine(Engine engine, ServingMetrics metrics) {
        this.engine = engine;
        this.metrics = metrics;
    }

    @Override
    public GenerationHandle submit(GenerationRequest request, GenerationListener listener) {
        return engine.submit(request, new Recording(listener));
    }

    /** Events of one request, in order on an engine thread. */
    private final class Recording implements GenerationListener {

        private final GenerationListener listener;
        private long lastTokenNanos;

        Recording(GenerationListener listener) {
            this.listener = listener;
        }

        @Override
        public void onToken(TokenEvent event) {
            long now = System.nanoTime();
            if (event.index() > 0 && lastTokenNanos != 0) {
                metrics.recordInterTokenLatency(Duration.ofNanos(now - lastTokenNanos));
            }
            lastTokenNanos = now;
            listener.onToken(event);
        }

        @Override
        public void onComplete(GenerationResult result) {
            try {
                record(result);
            } finally {
                listener.onComplete(result);
            }
        }

        private void record(GenerationResult result) {
            metrics.recordCompletion(result.finishReason());
            metrics.addPromptTokens(result.promptTokens());
            metrics.addCachedPromptTokens(result.cachedTokens());
            metrics.addGenerationTokens(result.completionTokens());
            metrics.recordQueueTime(Duration.ofNanos(Math.max(0, result.queueNanos())));
            if (result.completionTokens() > 0) {
                metrics.recordTimeToFirstToken(Duration.ofNanos(Math.max(0, result.timeToFirstTokenNanos())));
            }
            metrics.recordRequestLatency(Duration.ofNanos(Math.max(0, result.totalNanos())));
        }
    }

    @Override
    public boolean cancel(String requestId) {
        return engine.cancel(requestId);
    }

    @Override
    public void dropShard(int shard) {
        engine.dropShard(shard);
        metrics.removeKvCacheShard(Integer.toString(shard));
    }

    @Override
    public ModelInfo model() {
        return engine.model();
    }

    @Override
    public void close() {
        engine.close();
    }
}
