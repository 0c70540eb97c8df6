package dev.yulan.topology.runtime;

import dev.yulan.inference.engine.EngineOptions;
import dev.yulan.inference.engine.ServingEngine;
import dev.yulan.inference.model.LoadOptions;
import dev.yulan.inference.model.hub.ModelResolver;
import dev.yulan.inference.scheduler.SchedulerConfig;
import dev.yulan.inference.tensor.DType;
import dev.yulan.topology.cli.ProgressBar;
import dev.yulan.topology.config.RuntimeConfig;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * What {@code --model} (the {@code model} key) names, made local and loaded: the bundled tiny model for {@code
 * stories260K}, a Hugging Face directory as it is, a hub id from the local cache or downloaded with progress. GGUF files
 * are recognised but not loadable yet (a clear error).
 */
public final class ModelSource {

    private final String spec;
    private final ModelResolver resolver;

    public ModelSource(String spec, ModelResolver resolver) {
        this.spec = spec == null || spec.isBlank() ? RuntimeConfig.BUNDLED_MODEL : spec.trim();
        this.resolver = resolver;
    }

    public static ModelSource of(String spec) {
        return new ModelSource(spec, ModelResolver.fromEnvironment());
    }

    public boolean isBundled() {
        return spec.equals(RuntimeConfig.BUNDLED_MODEL);
    }

    /** The name clients see in completions. */
    public String modelId() {
        if (isBundled()) {
            return RuntimeConfig.BUNDLED_MODEL;
        }
        Path path = Path.of(spec);
        return Files.exists(path)
                ? path.toAbsolutePath().normalize().getFileName().toString()
                : spec;
    }

    /** The local model directory (downloading a hub model into the Hugging Face cache if needed). */
    public Path directory(PrintStream notices) {
        if (isBundled()) {
            Path bundled = bundledDirectory();
            notices.println("model: the bundled tiny demo model " + RuntimeConfig.BUNDLED_MODEL + " (" + bundled
                    + "); it tells children's stories, it does not chat. Give --model DIR|owner/name for a real one.");
            return bundled;
        }
        Path resolved = resolver.resolve(spec);
        if (Files.isRegularFile(resolved)) {
            throw new IllegalArgumentException("--model " + spec
                    + ": GGUF files are not supported yet; pass a Hugging Face model directory or hub id");
        }
        return resolved;
    }

    /** Loads the model (progress on stderr) and starts an engine with these limits. */
    public ServingEngine open(DType quantize, int threads, SchedulerConfig scheduler, PrintStream notices) {
        Path dir = directory(notices);
        LoadOptions load = LoadOptions.defaults()
                .withQuantize(quantize)
                .withProgress(new ProgressBar(
                        "loading " + modelId() + (quantize == null ? "" : " (quantizing to " + quantize + ")"),
                        System.err));
        return ServingEngine.open(dir, new EngineOptions(load, threads, scheduler, modelId()));
    }

    /** The {@code quantize} key's value as a dtype, null for none. */
    public static DType quantizeType(String value) {
        if (value == null || value.isBlank() || value.equalsIgnoreCase("none")) {
            return null;
        }
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "q8_0", "q8" -> DType.Q8_0;
            case "q4_0", "q4" -> DType.Q4_0;
            default -> throw new IllegalArgumentException("quantize " + value + ": use none, q8_0 or q4_0");
        };
    }

    /** The bundled model: under {@code yulan.home} (the launcher sets it), else found from the working directory. */
    static Path bundledDirectory() {
        Path configured = RuntimeConfig.bundledModelDirectory();
        if (Files.isDirectory(configured)) {
            return configured;
        }
        Path parent = Path.of("..", "models", RuntimeConfig.BUNDLED_MODEL);
        if (System.getProperty("yulan.home") == null && Files.isDirectory(parent)) {
            return parent; // tests run in the module directory
        }
        throw new IllegalStateException("the bundled model is missing: expected " + configured.toAbsolutePath());
    }
}
