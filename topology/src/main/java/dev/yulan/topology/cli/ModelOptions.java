package dev.yulan.topology.cli;

import dev.yulan.inference.engine.ServingEngine;
import dev.yulan.inference.scheduler.SchedulerConfig;
import dev.yulan.inference.tensor.DType;
import dev.yulan.topology.runtime.ModelSource;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The options every command that loads a model shares. */
public final class ModelOptions {

    @Option(
            names = "--model",
            paramLabel = "MODEL",
            description = "A Hugging Face model directory (config.json, model.safetensors, tokenizer.json) or a hub id"
                    + " owner/name[@revision] (from the local Hugging Face cache, else downloaded). Default: the"
                    + " bundled tiny model (stories260K).")
    String model;

    @Option(
            names = "--quantize",
            paramLabel = "TYPE",
            description = "Quantize matrices at load: q8_0 or q4_0. Default: use the checkpoint's dtype.")
    String quantize;

    @Option(names = "--threads", paramLabel = "N", description = "Compute threads. Default: one per core.")
    int threads;

    /** The model directory to load: the bundled one when none was given, else a local directory or a hub id. */
    public Path modelDirectory() {
        return source().directory(System.err);
    }

    private ModelSource source() {
        return ModelSource.of(model);
    }

    public DType quantizeType() {
        return ModelSource.quantizeType(quantize);
    }

    /** Loads the model and starts an engine, with {@code scheduler} limits or the model's defaults when null. */
    public ServingEngine openEngine(SchedulerConfig scheduler) {
        return source().open(quantizeType(), threads, scheduler, System.err);
    }
}
