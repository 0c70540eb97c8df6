package dev.yulan.inference.model;

import java.lang.foreign.Arena;
import java.nio.file.Path;

/**
 * A loaded model: its configuration, its weights, and the arena that owns the weights' memory (the packed copies).
 * Closing it frees the weights; nothing may use them afterwards.
 *
 * @param generationConfig defaults from {@code generation_config.json}, or null when there is none
 * @param directory the model directory (where the tokenizer files are), or null for a model built in memory
 */
public record Checkpoint(
        ModelConfig config, GenerationConfig generationConfig, ModelWeights weights, Path directory, Arena arena)
        implements AutoCloseable {

    @Override
    public void close() {
        arena.close();
    }
}
