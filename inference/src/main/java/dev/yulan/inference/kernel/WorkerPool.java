package dev.yulan.inference.kernel;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * A fixed set of compute threads, created once: {@link #run} hands every thread its part index and waits for all of
 * them. The calling thread computes part 0 itself, so a pool of size {@code n} starts {@code n - 1} daemon threads.
 * Idle workers spin briefly (a forward pass issues hundreds of jobs back to back) and then park, so an idle engine
 * costs no CPU. Jobs are serialized: concurrent callers queue on a lock, and a job started from inside a job (or from a
 * worker) runs inline on the calling thread.
 */
final class WorkerPool implements AutoCloseable {

    private static final long SPIN_NANOS = 50_000;

    private final int size;
    private final Thread[] workers;
    private final ReentrantLock lock = new ReentrantLock();
    private final AtomicInteger pending = new AtomicInteger();

    private volatile int generation;
    private volatile boolean closed;
    private volatile Thread caller;
    private volatile Throwable failure;
    private IntConsumer job;

    WorkerPool(int size) {
        if (size < 1) {
            throw new IllegalArgumentException("a worker pool needs at least one thread, got " + size);
        }
        this.size = size;
        this.workers = new Thread[size - 1];
        for (int i = 0; i < workers.length; i++) {
            int part = i + 1;
            Thread t = new Thread(() -> workLoop(part), "yulan-kernel-" + part);
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    int size() {
        return size;
    }

    /** Runs {@code part.accept(p)} for every {@code p < size()}, in parallel, and returns when all have finished. */
    void run(IntConsumer part) {
        if (closed) {
            throw new IllegalStateException("the kernels have been closed");
        }
        if (size == 1 || insideJob()) {
            for (int p = 0; p < size; p++) {
                part.accept(p);
            }
            return;
        }
        lock.lock();
        try {
            job = part;
            failure = null;
            caller = Thread.currentThread();
            pending.set(size - 1);
            generation = generation + 1; // volatile write publishes job to the workers
            for (Thread w : workers) {
                LockSupport.unpark(w);
            }
            Throwable own = null;
            try {
                part.accept(0);
            } catch (Throwable t) {
                own = t;
            }
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            while (pending.get() != 0) {
                if (System.nanoTime() < spinUntil) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
            job = null;
            Throwable t = own != null ? own : failure;
            if (t instanceof RuntimeException e) {
                throw e;
            }
            if (t instanceof Error e) {
                throw e;
            }
            if (t != null) {
                throw new IllegalStateException(t);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Whether every worker may access {@code segment} (a confined segment is readable only by its owner). */
    boolean canRead(java.lang.foreign.MemorySegment segment) {
        return workers.length == 0 || segment.isAccessibleBy(workers[0]);
    }

    /** Whether the current thread is running part of a job (so a new job would have to run inline). */
    boolean insideJob() {
        return lock.isHeldByCurrentThread() || isWorker(Thread.currentThread());
    }

    private boolean isWorker(Thread t) {
        for (Thread w : workers) {
            if (w == t) {
                return true;
            }
        }
        return false;
    }

    private void workLoop(int part) {
        int seen = 0;
        while (true) {
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            int g;
            while ((g = generation) == seen) {
                if (closed) {
                    return;
                }
                if (System.nanoTime() < spinUntil) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
            seen = g;
            try {
                job.accept(part);
            } catch (Throwable t) {
                failure = t;
            }
            if (pending.decrementAndGet() == 0) {
                LockSupport.unpark(caller);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }
}
