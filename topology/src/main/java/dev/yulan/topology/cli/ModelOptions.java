package dev.yulan.topology.cli;

import dev.yulan.inference.engine.EngineOptions;
import dev.yulan.inference.engine.ServingEngine;
import dev.yulan.inference.model.LoadOptions;
import dev.yulan.inference.scheduler.SchedulerConfig;
import dev.yulan.inference.tensor.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Option;

/** The options every command that loads a model shares. */
public final class ModelOptions {

    @Option(
            names = "--model",
            paramLabel = "DIR",
            description = "A Hugging Face model directory (config.json, model.safetensors, tokenizer.json). "
                    + "Default: the bundled tiny model (stories260K).")
    String model;

    @Option(
            names = "--quantize",
            paramLabel = "TYPE",
            description = "Quantize matrices at load: q8_0 or q4_0. Default: use the checkpoint's dtype.")
    String quantize;

    @Option(names = "--threads", paramLabel = "N", description = "Compute threads. Default: one per core.")
    int threads;

    /** The bundled demo model, next to the launcher. */
    public static Path bundledModel() {
        String home = System.getProperty("yulan.home");
        Path base = home != null ? Path.of(home) : Path.of(".");
        Path model = base.resolve("models").resolve("stories260K");
        if (!Files.isDirectory(model) && home == null) {
            model = Path.of("..", "models", "stories260K");
        }
        return model;
    }

    /** The model directory to load; the bundled one when none was given. */
    public Path modelDirectory() {
        if (model == null) {
            return bundledModel();
        }
        Path dir = Path.of(model);
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException(
                    "--model " + model + ": no such directory (give a Hugging Face model directory)");
        }
        return dir;
    }

    public DType quantizeType() {
        return parseQuantize(quantize);
    }

    static DType parseQuantize(String value) {
        if (value == null || value.isBlank() || value.equalsIgnoreCase("none")) {
            return null;
        }
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "q8_0", "q8" -> DType.Q8_0;
            case "q4_0", "q4" -> DType.Q4_0;
            default -> throw new IllegalArgumentException("--quantize " + value + ": use q8_0 or q4_0");
        };
    }

    /** Loads the model and starts an engine, with {@code scheduler} limits or the model's defaults when null. */
    public ServingEngine openEngine(SchedulerConfig scheduler) {
        Path dir = modelDirectory();
        LoadOptions load = LoadOptions.defaults().withQuantize(quantizeType());
        String id = model == null ? "stories260K (bundled)" : dir.getFileName().toString();
        return ServingEngine.open(dir, new EngineOptions(load, threads, scheduler, id));
    }
}
