package dev.yulan.topology.bench;

import dev.yulan.inference.engine.GenerationHandle;
import dev.yulan.inference.engine.GenerationListener;
import dev.yulan.inference.engine.GenerationRequest;
import dev.yulan.inference.engine.GenerationResult;
import dev.yulan.inference.engine.Prompt;
import dev.yulan.inference.engine.SamplingParams;
import dev.yulan.inference.engine.ServingEngine;
import dev.yulan.inference.engine.TokenEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The engine's speed on one workload shape, measured as llama.cpp's peer benchmark measures it: per batch size B, B
 * sequences with distinct prompts of P tokens are prefilled together, then each generates G tokens greedily, all
 * batched together.
 */
public final class EngineBenchmark {

    /** One batch size's numbers. */
    public record Result(
            int batch,
            double prefillTokensPerSecond,
            double decodeTokensPerSecond,
            double interTokenLatencyMs,
            double timeToFirstTokenMs) {}

    private final ServingEngine engine;
    private final int promptTokens;
    private final int genTokens;
    private int runs;

    public EngineBenchmark(ServingEngine engine, int promptTokens, int genTokens) {
        this.engine = engine;
        this.promptTokens = promptTokens;
        this.genTokens = genTokens;
    }

    /** Runs B sequences together and measures prefill (until every first token) and decode (after it). */
    public Result run(int batch) {
        int vocab = engine.model().vocabSize();
        AtomicLong lastFirstToken = new AtomicLong();
        List<GenerationHandle> handles = new ArrayList<>();
        GenerationListener listener = new GenerationListener() {
            @Override
            public void onToken(TokenEvent event) {
                if (event.index() == 0) {
                    lastFirstToken.accumulateAndGet(System.nanoTime(), Math::max);
                }
            }

            @Override
            public void onComplete(GenerationResult result) {}
        };
        int run = runs++;
        long start = System.nanoTime();
        for (int s = 0; s < batch; s++) {
            int[] prompt = new int[promptTokens];
            for (int i = 0; i < promptTokens; i++) {
                // Distinct per run and sequence, so the prefix cache never helps.
                prompt[i] = 3 + (int) Math.floorMod((i * 7919L + s * 104729L + run * 1299709L), vocab - 3);
            }
            GenerationRequest request = new GenerationRequest(
                    "bench-" + run + "-" + s, 0, null, new Prompt.Tokens(prompt), SamplingParams.greedy(genTokens));
            handles.add(engine.submit(request, listener));
        }
        long end = start;
        long generatedAfterFirst = 0;
        double ttftSum = 0;
        for (GenerationHandle handle : handles) {
            GenerationResult r = handle.result().join();
            if (r.error() != null) {
                throw new IllegalStateException("benchmark request failed: " + r.error());
            }
            end = Math.max(end, start + r.totalNanos());
            generatedAfterFirst += r.completionTokens() - 1;
            ttftSum += r.timeToFirstTokenNanos() / 1e6;
        }
        double prefillSeconds = (lastFirstToken.get() - start) / 1e9;
        double decodeSeconds = (end - lastFirstToken.get()) / 1e9;
        double decodeRate = generatedAfterFirst / decodeSeconds;
        return new Result(
                batch,
                (double) batch * promptTokens / prefillSeconds,
                decodeRate,
                decodeSeconds * 1000 / Math.max(1, genTokens - 1),
                ttftSum / batch);
    }
}
