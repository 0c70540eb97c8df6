package dev.yulan.topology.processor;

/** Told of every record the operator sends to the dead-letter topic (for metrics); called on the stream thread. */
@FunctionalInterface
public interface DeadLetterListener {

    DeadLetterListener NONE = reason -> {};

    /** @param reason the one-line reason written into the dead letter */
    void deadLettered(String reason);
}
