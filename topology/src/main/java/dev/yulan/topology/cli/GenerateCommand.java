package dev.yulan.topology.cli;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.yulan.inference.engine.ChatMessage;
import dev.yulan.inference.engine.GenerationHandle;
import dev.yulan.inference.engine.GenerationListener;
import dev.yulan.inference.engine.GenerationRequest;
import dev.yulan.inference.engine.GenerationResult;
import dev.yulan.inference.engine.Prompt;
import dev.yulan.inference.engine.SamplingParams;
import dev.yulan.inference.engine.ServingEngine;
import dev.yulan.inference.engine.TokenEvent;
import dev.yulan.inference.scheduler.SchedulerConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code yulan generate}: the engine alone, no Kafka. */
@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        description = {
            "Generate text with the engine alone (no Kafka).",
            "With --prompt, the generated text streams to stdout and timings go to stderr.",
            "With --prompts-file, every line is a prompt; all run together (continuous batching) and one JSON line per"
                    + " prompt is written to stdout, in input order."
        },
        footer = {
            "",
            "Examples:",
            "  ./yulan generate --prompt 'Once upon a time' --max-tokens 64",
            "  ./yulan generate --model ~/models/YuLan-Mini-Instruct --chat --prompt 'Hello!' --temperature 0.7",
            "  ./yulan generate --prompts-file prompts.txt --concurrency 8 --temperature 0"
        })
public final class GenerateCommand implements Callable<Integer> {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "The prompt. An empty prompt starts from BOS alone.")
    String prompt;

    @Option(names = "--prompts-file", paramLabel = "FILE", description = "One prompt per line, run together.")
    Path promptsFile;

    @Option(
            names = "--concurrency",
            paramLabel = "N",
            description = "Sequences run at once. Default: ${DEFAULT-VALUE}.")
    int concurrency = 32;

    @Option(names = "--chat", description = "Wrap each prompt as a user message with the model's chat template.")
    boolean chat;

    @Option(
            names = "--max-tokens",
            paramLabel = "N",
            description = "Tokens to generate at most. Default: ${DEFAULT-VALUE}.")
    int maxTokens = 256;

    @Option(names = "--temperature", paramLabel = "T", description = "0 is greedy. Default: ${DEFAULT-VALUE}.")
    float temperature = 0f;

    @Option(names = "--top-k", paramLabel = "K", description = "Keep the K most likely tokens (0: all).")
    int topK = 0;

    @Option(names = "--top-p", paramLabel = "P", description = "Nucleus sampling (1: off).")
    float topP = 1f;

    @Option(names = "--min-p", paramLabel = "P", description = "Drop tokens below P x the top probability (0: off).")
    float minP = 0f;

    @Option(names = "--repetition-penalty", paramLabel = "R", description = "1: off.")
    float repetitionPenalty = 1f;

    @Option(names = "--presence-penalty", paramLabel = "P", description = "0: off.")
    float presencePenalty = 0f;

    @Option(names = "--frequency-penalty", paramLabel = "P", description = "0: off.")
    float frequencyPenalty = 0f;

    @Option(names = "--seed", paramLabel = "S", description = "Random seed. Default: derived from the request id.")
    Long seed;

    @Option(names = "--stop", paramLabel = "STR", description = "Stop before this text (repeatable).")
    List<String> stop = new ArrayList<>();

    @Override
    public Integer call() throws IOException {
        if ((prompt == null) == (promptsFile == null)) {
            throw new IllegalArgumentException("give exactly one of --prompt or --prompts-file");
        }
        SamplingParams sampling = new SamplingParams(
                temperature,
                topK,
                topP,
                minP,
                repetitionPenalty,
                presencePenalty,
                frequencyPenalty,
                seed,
                maxTokens,
                stop,
                List.of(),
                false);
        if (prompt != null) {
            try (ServingEngine engine = modelOptions.openEngine(null)) {
                return streamOne(engine, sampling);
            }
        }
        List<String> prompts = Files.readAllLines(promptsFile, StandardCharsets.UTF_8);
        try (ServingEngine engine = modelOptions.openEngine(batchedScheduler())) {
            return runAll(engine, prompts, sampling);
        }
    }

    /** Up to --concurrency sequences at once, within the model's own context. */
    private SchedulerConfig batchedScheduler() {
        return SchedulerConfig.defaults(Integer.MAX_VALUE).withMaxRunning(Math.max(1, concurrency));
    }

    private Prompt promptOf(String text) {
        return chat ? new Prompt.Chat(List.of(new ChatMessage("user", text))) : new Prompt.Text(text);
    }

    private int streamOne(ServingEngine engine, SamplingParams sampling) {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        StringBuilder printed = new StringBuilder();
        GenerationHandle handle = engine.submit(
                new GenerationRequest("generate-0", 0, null, promptOf(prompt), sampling), new GenerationListener() {
                    @Override
                    public void onToken(TokenEvent event) {
                        out.print(event.textDelta());
                        printed.append(event.textDelta());
                    }

                    @Override
                    public void onComplete(GenerationResult result) {}
                });
        GenerationResult result = handle.result().join();
        out.print(
                result.text().substring(Math.min(printed.length(), result.text().length())));
        out.println();
        if (result.error() != null) {
            System.err.println("yulan: " + result.error());
            return 1;
        }
        System.err.println(timings(result));
        return 0;
    }

    static String timings(GenerationResult r) {
        double prefillSeconds = (r.timeToFirstTokenNanos() - r.queueNanos()) / 1e9;
        double decodeSeconds = (r.totalNanos() - r.timeToFirstTokenNanos()) / 1e9;
        int computedPrompt = r.promptTokens() - r.cachedTokens();
        return String.format(
                Locale.ROOT,
                "prompt tokens: %d (cached %d), prefill: %.1f tok/s, generated: %d, decode: %.2f tok/s,"
                        + " time to first token: %.0f ms, total: %.2f s, finish: %s",
                r.promptTokens(),
                r.cachedTokens(),
                prefillSeconds > 0 ? computedPrompt / prefillSeconds : 0,
                r.completionTokens(),
                decodeSeconds > 0 ? (r.completionTokens() - 1) / decodeSeconds : 0,
                r.timeToFirstTokenNanos() / 1e6,
                r.totalNanos() / 1e9,
                r.finishReason().wireName());
    }

    private int runAll(ServingEngine engine, List<String> prompts, SamplingParams sampling) {
        JsonMapper json = JsonMapper.builder().build();
        List<GenerationHandle> handles = new ArrayList<>();
        GenerationListener quiet = new GenerationListener() {
            @Override
            public void onToken(TokenEvent event) {}

            @Override
            public void onComplete(GenerationResult result) {}
        };
        for (int i = 0; i < prompts.size(); i++) {
            handles.add(engine.submit(
                    new GenerationRequest("generate-" + i, 0, null, promptOf(prompts.get(i)), sampling), quiet));
        }
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        int failures = 0;
        for (int i = 0; i < handles.size(); i++) {
            GenerationResult r = handles.get(i).result().join();
            ObjectNode line = json.createObjectNode();
            line.put("index", i);
            line.put("text", r.text());
            line.put("finish_reason", r.finishReason().wireName());
            line.put("prompt_tokens", r.promptTokens());
            line.put("cached_tokens", r.cachedTokens());
            line.put("completion_tokens", r.completionTokens());
            if (r.error() != null) {
                line.put("error", r.error());
                failures++;
            }
            out.println(line.toString());
        }
        return failures == 0 ? 0 : 1;
    }
}
