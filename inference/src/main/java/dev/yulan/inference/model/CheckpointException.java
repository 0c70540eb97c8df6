package dev.yulan.inference.model;

/** A model directory or file that cannot be loaded; the message is one line saying what is wrong and where. */
public final class CheckpointException extends RuntimeException {

    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
