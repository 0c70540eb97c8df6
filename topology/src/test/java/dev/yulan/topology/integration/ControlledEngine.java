package dev.yulan.topology.integration;

import dev.yulan.inference.engine.Engine;
import dev.yulan.inference.engine.GenerationHandle;
import dev.yulan.inference.engine.GenerationListener;
import dev.yulan.inference.engine.GenerationRequest;
import dev.yulan.inference.engine.GenerationResult;
import dev.yulan.inference.engine.ModelInfo;
import dev.yulan.inference.engine.ServingEngine;
import dev.yulan.inference.engine.TokenEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The real engine, slowed down so that a test can stop the operator in the middle of a generation (the tiny model
 * would otherwise finish before Kafka commits once), and able to fail a submission the way a crashing process would.
 * Tokens and results are the real engine's, untouched.
 */
final class ControlledEngine implements Engine {

    private final ServingEngine engine;
    private final Duration perToken;
    private final Set<String> crashOnSubmit = ConcurrentHashMap.newKeySet();
    private final AtomicInteger tokensDelivered = new AtomicInteger();
    private volatile int holdFromIndex = Integer.MAX_VALUE;
    private volatile int blockFromIndex = Integer.MAX_VALUE;
    private final CountDownLatch blocked = new CountDownLatch(1);
    /** Per request (order matters within one), what is held back; guarded by itself. */
    private final List<List<Runnable>> held = new ArrayList<>();

    ControlledEngine(ServingEngine engine, Duration perToken) {
        this.engine = engine;
        this.perToken = perToken;
    }

    ServingEngine engine() {
        return engine;
    }

    /** The next submission of {@code requestId} throws, as if the stream thread died there. */
    void crashOnSubmitOf(String requestId) {
        crashOnSubmit.add(requestId);
    }

    /**
     * From now on the operator hears only the first {@code tokens} tokens of each request, and not its end until
     * {@link #release()}: to the operator every request stays in the middle of its generation (the engine itself runs
     * on and finishes).
     */
    void holdAfter(int tokens) {
        holdFromIndex = tokens;
    }

    /**
     * The engine's thread stops at the first request to reach {@code tokens} tokens, until the engine is closed: the
     * engine is then certainly in the middle of its generations.
     */
    void blockAfter(int tokens) {
        blockFromIndex = tokens;
    }

    /** Waits until the engine has stopped as {@link #blockAfter} asked. */
    void awaitBlocked(Duration timeout) throws InterruptedException {
        if (!blocked.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("the engine did not reach the blocking token in " + timeout.toSeconds() + " s");
        }
    }

    int tokensDelivered() {
        return tokensDelivered.get();
    }

    @Override
    public GenerationHandle submit(GenerationRequest request, GenerationListener listener) {
        if (crashOnSubmit.remove(request.requestId())) {
            throw new IllegalStateException("simulated crash while submitting " + request.requestId());
        }
        List<Runnable> mine = new ArrayList<>();
        synchronized (held) {
            held.add(mine);
        }
        return engine.submit(request, new GenerationListener() {
            @Override
            public void onToken(TokenEvent event) {
                if (!perToken.isZero()) {
                    try {
                        Thread.sleep(perToken);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                if (holdOrPass(mine, event.index() >= holdFromIndex, () -> deliver(listener, event))) {
                    return;
                }
                if (event.index() >= blockFromIndex) {
                    blocked.countDown();
                    try {
                        new CountDownLatch(1).await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return;
                }
                deliver(listener, event);
            }

            @Override
            public void onComplete(GenerationResult result) {
                if (!holdOrPass(mine, result.completionTokens() > holdFromIndex, () -> listener.onComplete(result))) {
                    listener.onComplete(result);
                }
            }
        });
    }

    private void deliver(GenerationListener listener, TokenEvent event) {
        tokensDelivered.incrementAndGet();
        listener.onToken(event);
    }

    /**
     * Keeps an event back while it is to be held, and everything after it too (so that order is kept); true when kept.
     */
    private boolean holdOrPass(List<Runnable> queue, boolean hold, Runnable delivery) {
        synchronized (held) {
            if (hold || !queue.isEmpty()) {
                queue.add(delivery);
                return true;
            }
            return false;
        }
    }

    /** Delivers everything held back, in order, and holds nothing from now on. */
    void release() {
        synchronized (held) {
            holdFromIndex = Integer.MAX_VALUE;
            for (List<Runnable> queue : held) {
                queue.forEach(Runnable::run);
                queue.clear();
            }
        }
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
