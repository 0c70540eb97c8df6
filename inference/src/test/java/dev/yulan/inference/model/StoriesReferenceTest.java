package dev.yulan.inference.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.yulan.inference.cache.BlockPool;
import dev.yulan.inference.cache.BlockTable;
import dev.yulan.inference.engine.EngineOptions;
import dev.yulan.inference.engine.GenerationListener;
import dev.yulan.inference.engine.GenerationRequest;
import dev.yulan.inference.engine.GenerationResult;
import dev.yulan.inference.engine.Prompt;
import dev.yulan.inference.engine.SamplingParams;
import dev.yulan.inference.engine.ServingEngine;
import dev.yulan.inference.engine.TokenEvent;
import dev.yulan.inference.kernel.Kernels;
import dev.yulan.inference.tensor.DType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The bundled stories260K model reproduces the vectors llama2.c computed on the original checkpoint. */
class StoriesReferenceTest {

    static final Path MODEL = Path.of("..", "models", "stories260K");
    private static JsonNode reference;
    private static Checkpoint checkpoint;

    @BeforeAll
    static void load() throws IOException {
        reference = JsonMapper.builder()
                .build()
                .readTree(MODEL.resolve("reference.json").toFile());
        checkpoint = ModelLoader.load(MODEL, LoadOptions.defaults());
    }

    @AfterAll
    static void close() {
        checkpoint.close();
    }

    private static int[] greedyIds() {
        return StreamSupport.stream(reference.get("greedy_from_bos").get("ids").spliterator(), false)
                .mapToInt(JsonNode::asInt)
                .toArray();
    }

    /** Runs {@code tokens} as one prefill and returns the logits of every position, [positions x vocab]. */
    static float[] allLogits(Checkpoint model, Kernels kernels, int[] tokens, DType kvType) {
        ModelConfig config = model.config();
        Transformer transformer = new Transformer(config, model.weights(), kernels, tokens.length, tokens.length);
        try (BlockPool pool = new BlockPool(
                Transformer.kvLayout(config, 16, kvType),
                Transformer.kvLayout(config, 16, kvType).blockBytes() * (tokens.length / 16 + 1),
                0)) {
            BlockTable table = new BlockTable(pool, 0);
            table.reserve(tokens.length);
            ForwardBatch batch = new ForwardBatch(tokens.length);
            for (int p = 0; p < tokens.length; p++) {
                batch.add(table, tokens[p], p, true);
            }
            float[] logits = new float[tokens.length * config.vocabSize()];
            transformer.forward(batch, pool, logits);
            return logits;
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"scalar", "vector"})
    void reproducesTheLogitProbes(String kernelsName) {
        int[] ids = greedyIds();
        int[] input = java.util.Arrays.copyOf(ids, 201);
        int vocab = checkpoint.config().vocabSize();
        float[] logits;
        try (Kernels kernels = kernelsName.equals("scalar") ? Kernels.scalar() : Kernels.create(2)) {
            logits = allLogits(checkpoint, kernels, input, DType.F32);
        }
        for (JsonNode probe : reference.get("logit_probes")) {
            int pos = probe.get("pos").asInt();
            assertThat(input[pos]).isEqualTo(probe.get("input_token").asInt());
            int off = pos * vocab;
            for (int i = 0; i < 16; i++) {
                assertThat(logits[off + i])
                        .as("logit %d at position %d", i, pos)
                        .isCloseTo((float) probe.get("logits_first16").get(i).asDouble(), within(1e-4f));
            }
            double sum = 0;
            double sumSq = 0;
            int argmax = 0;
            for (int i = 0; i < vocab; i++) {
                sum += logits[off + i];
                sumSq += (double) logits[off + i] * logits[off + i];
                if (logits[off + i] > logits[off + argmax]) {
                    argmax = i;
                }
            }
            assertThat(argmax).isEqualTo(probe.get("argmax").asInt());
            assertThat(logits[off + argmax])
                    .isCloseTo((float) probe.get("max_logit").asDouble(), within(1e-4f));
            assertThat(sum).isCloseTo(probe.get("logits_sum").asDouble(), within(vocab * 1e-4));
            assertThat(sumSq).isCloseTo(probe.get("logits_sumsq").asDouble(), within(1e-5 * Math.abs(sumSq) + 1e-2));
        }
    }

    @Test
    void generatesTheReferenceStoryGreedily() {
        int[] expected = greedyIds();
        int steps = reference.get("greedy_200_text").get("steps").asInt();
        try (ServingEngine engine = ServingEngine.open(MODEL, EngineOptions.defaults())) {
            List<TokenEvent> events = new ArrayList<>();
            GenerationResult result = engine.submit(
                            new GenerationRequest(
                                    "story", 0, null, new Prompt.Text(""), SamplingParams.greedy(expected.length - 1)),
                            listener(events))
                    .result()
                    .join();
            int[] generated = events.stream().mapToInt(TokenEvent::tokenId).toArray();
            assertThat(generated).containsExactly(java.util.Arrays.copyOfRange(expected, 1, expected.length));
            String first200 = IntStream.range(0, steps)
                    .mapToObj(i -> events.get(i).textDelta())
                    .reduce("", String::concat);
            assertThat(first200)
                    .isEqualTo(reference.get("greedy_200_text").get("text").asText());
            assertThat(result.completionTokens()).isEqualTo(expected.length - 1);
            assertThat(result.promptTokens()).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"Q8_0", "Q4_0"})
    void quantizedAtLoadStillTellsTheReferenceStory(String type) {
        DType quantize = DType.valueOf(type);
        int[] expected = greedyIds();
        // Q8_0 keeps the story well past its first 20 tokens; Q4_0 is coarser and drifts after about 18.
        int mustMatch = quantize == DType.Q8_0 ? 48 : 12;
        EngineOptions options = new EngineOptions(LoadOptions.defaults().withQuantize(quantize), 2, null, "q");
        try (ServingEngine engine = ServingEngine.open(MODEL, options)) {
            assertThat(engine.checkpoint().weights().dtypes()).contains(quantize);
            List<TokenEvent> events = new ArrayList<>();
            engine.submit(
                            new GenerationRequest("q", 0, null, new Prompt.Text(""), SamplingParams.greedy(mustMatch)),
                            listener(events))
                    .result()
                    .join();
            assertThat(events.stream().mapToInt(TokenEvent::tokenId).toArray())
                    .containsExactly(java.util.Arrays.copyOfRange(expected, 1, 1 + mustMatch));
        }
    }

    static GenerationListener listener(List<TokenEvent> events) {
        return new GenerationListener() {
            @Override
            public void onToken(TokenEvent event) {
                events.add(event);
            }

            @Override
            public void onComplete(GenerationResult result) {}
        };
    }
}
