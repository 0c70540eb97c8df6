package dev.yulan.inference.engine;

/** Receives a request's events on an engine thread, in order; must not block. */
public interface GenerationListener {

    /** One generated token with its text delta (possibly empty while a UTF-8 character is incomplete). */
    void onToken(TokenEvent event);

    /** The last call for a request, exactly once, whatever the finish reason. */
    void onComplete(GenerationResult result);
}
