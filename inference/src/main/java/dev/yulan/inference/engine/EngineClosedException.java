package dev.yulan.inference.engine;

/** The engine was closed: nothing more runs on it. Not the request's fault; it may run on another engine later. */
public final class EngineClosedException extends IllegalStateException {
    public EngineClosedException() {
        super("the engine is closed");
    }
}
