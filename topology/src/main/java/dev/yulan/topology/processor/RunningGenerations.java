package dev.yulan.topology.processor;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What one instance's tasks have running in the engine, and whether they may start more: the handle a graceful
 * shutdown uses to stop new generations and wait for the running ones. Stream threads update it; any thread reads it.
 */
public final class RunningGenerations {

    private final AtomicInteger running = new AtomicInteger();
    private final AtomicBoolean stopped = new AtomicBoolean();
    private final Object changed = new Object();

    /** From now on no task submits a generation: new and waiting requests stay in the inflight store. */
    public void stopStarting() {
        stopped.set(true);
    }

    public boolean starting() {
        return !stopped.get();
    }

    /** Generations submitted to the engine and not yet finished, across the instance's tasks. */
    public int running() {
        return running.get();
    }

    /**
     * Waits until nothing runs or {@code timeout} passes.
     *
     * @return whether nothing runs
     */
    public boolean awaitNoneRunning(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (changed) {
            while (running.get() > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                changed.wait(Math.max(1, left / 1_000_000));
            }
            return true;
        }
    }

    void add(int delta) {
        if (delta != 0 && running.addAndGet(delta) == 0) {
            synchronized (changed) {
                changed.notifyAll();
            }
        }
    }
}
