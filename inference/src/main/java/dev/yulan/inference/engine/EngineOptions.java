package dev.yulan.inference.engine;

import dev.yulan.inference.model.LoadOptions;
import dev.yulan.inference.scheduler.SchedulerConfig;

/**
 * How to start a {@link ServingEngine}.
 *
 * @param load checkpoint loading (quantize-at-load, progress)
 * @param threads compute threads, 0 for one per core
 * @param scheduler batching and KV limits, null for the defaults of the model's context
 * @param modelId the name clients see, null for the model directory's name
 */
public record EngineOptions(LoadOptions load, int threads, SchedulerConfig scheduler, String modelId) {

    public EngineOptions {
        load = load == null ? LoadOptions.defaults() : load;
    }

    public static EngineOptions defaults() {
        return new EngineOptions(LoadOptions.defaults(), 0, null, null);
    }
}
