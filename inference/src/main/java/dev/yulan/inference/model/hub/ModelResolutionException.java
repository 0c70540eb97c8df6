package dev.yulan.inference.model.hub;

/** A model spec that cannot be turned into local files; the message is one line a user can act on. */
public final class ModelResolutionException extends RuntimeException {

    public ModelResolutionException(String message) {
        super(message);
    }

    public ModelResolutionException(String message, Throwable cause) {
        super(message, cause);
    }
}
