package dev.yulan.inference.engine;

/** A request that can never run; the message is a one-line reason fit for a dead-letter record or a CLI error. */
public final class InvalidRequestException extends RuntimeException {
    public InvalidRequestException(String reason) {
        super(reason);
    }
}
