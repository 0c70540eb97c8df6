package dev.yulan.inference.model;

/** Told how far a long load (mapping, validating, quantizing) has come. Called from loader threads. */
@FunctionalInterface
public interface LoadProgress {

    LoadProgress NONE = (done, total) -> {};

    void update(long bytesDone, long bytesTotal);
}
