package dev.yulan.inference.engine;

/**
 * The serving engine: one per JVM, shared by every caller (every Kafka Streams task of an instance). Thread-safe.
 * Requests are batched together by the engine; events for a request arrive on engine threads, in order.
 */
public interface Engine extends AutoCloseable {

    /**
     * Validates and queues a request, returning at once. Tokenizes the prompt on the caller's thread so that invalid
     * input fails here, not later.
     *
     * @throws InvalidRequestException with a one-line reason when the request can never run (empty prompt where one is
     *     needed, prompt longer than the context, out-of-range sampling parameters, duplicate running request id)
     * @throws EngineClosedException when the engine was closed
     */
    GenerationHandle submit(GenerationRequest request, GenerationListener listener);

    /** Cancels a queued or running request; its listener completes with {@link FinishReason#CANCELLED}. */
    boolean cancel(String requestId);

    /** Frees every KV block of a shard (the partition left this instance); its running requests are cancelled. */
    void dropShard(int shard);

    /** What is being served. */
    ModelInfo model();

    @Override
    void close();
}
