package dev.yulan.topology.scaling;

import dev.yulan.inference.engine.Engine;
import dev.yulan.inference.engine.GenerationHandle;
import dev.yulan.inference.engine.GenerationListener;
import dev.yulan.inference.engine.GenerationRequest;
import dev.yulan.inference.engine.GenerationResult;
import dev.yulan.inference.engine.ModelInfo;
import dev.yulan.inference.engine.ServingEngine;
import dev.yulan.inference.engine.TokenEvent;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The real engine with a pause before each token reaches the operator, so that generations last long enough for a test
 * to move partitions, kill or stop an instance in their middle (the tiny model would otherwise finish first). Tokens
 * and results are the real engine's, untouched; the engine thread pauses, so batching behaves as under heavy load.
 */
final class PacedEngine implements Engine {

    private final ServingEngine engine;
    private final Duration perToken;
    private final AtomicInteger tokensDelivered = new AtomicInteger();

    PacedEngine(ServingEngine engine, Duration perToken) {
        this.engine = engine;
        this.perToken = perToken;
    }

    ServingEngine engine() {
        return engine;
    }

    /** Tokens this instance's engine generated for its operator. */
    int tokensDelivered() {
        return tokensDelivered.get();
    }

    @Override
    public GenerationHandle submit(GenerationRequest request, GenerationListener listener) {
        return engine.submit(request, new GenerationListener() {
            @Override
            public void onToken(TokenEvent event) {
                if (perToken.isPositive()) {
                    try {
                        Thread.sleep(perToken);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                tokensDelivered.incrementAndGet();
                listener.onToken(event);
            }

            @Override
            public void onComplete(GenerationResult result) {
                listener.onComplete(result);
            }
        });
    }

    @Override
    public boolean cancel(String requestId) {
        return engine.cancel(requestId);
    }

    @Override
    public void dropShard(int shard) {
        engine.dropShard(shard);
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
