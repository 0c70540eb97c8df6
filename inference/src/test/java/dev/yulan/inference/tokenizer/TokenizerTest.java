package dev.yulan.inference.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerTest {

    private static Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizer.load(Stories260K.dir(), 1, new int[] {2});
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void reproducesLlama2cEncodingsWithBos() {
        JsonNode encodings = Stories260K.reference().get("encode");
        assertThat(encodings).hasSize(10);
        for (JsonNode encoding : encodings) {
            String text = encoding.get("text").asText();
            assertThat(tokenizer.encode(text, true))
                    .as("encoding of %s", text)
                    .containsExactly(Stories260K.ints(encoding.get("ids")));
        }
    }

    @Test
    void decodesGreedyTokensAfterBosToReferenceText() {
        JsonNode reference = Stories260K.reference();
        int[] greedy = Stories260K.ints(reference.get("greedy_from_bos").get("ids"));
        int steps = reference.get("greedy_200_text").get("steps").asInt();
        String expected = reference.get("greedy_200_text").get("text").asText();

        // llama2.c's rule: the text after BOS, with the first piece's leading space dropped.
        assertThat(tokenizer.decode(Arrays.copyOfRange(greedy, 1, 1 + steps))).isEqualTo(expected);
        assertThat(tokenizer.decode(Arrays.copyOfRange(greedy, 0, 1 + steps), true))
                .isEqualTo(expected);
    }

    @Test
    void decodeKeepsSpecialTokensUnlessAskedToSkipThem() {
        int[] ids = tokenizer.encode("Once upon a time", true);
        assertThat(tokenizer.decode(ids)).isEqualTo("<s> Once upon a time");
        assertThat(tokenizer.decode(ids, true)).isEqualTo("Once upon a time");
    }

    @Test
    void encodesWithoutBosWhenNotAsked() {
        assertThat(tokenizer.encode("Lily", false)).containsExactly(317);
        assertThat(tokenizer.encode("", false)).isEmpty();
    }

    @Test
    void readsSpecialTokensAndVocabulary() {
        assertThat(tokenizer.bosId()).isEqualTo(1);
        assertThat(tokenizer.bosToken()).isEqualTo("<s>");
        assertThat(tokenizer.eosIds()).containsExactly(2);
        assertThat(tokenizer.eosToken()).isEqualTo("</s>");
        assertThat(tokenizer.addBosByDefault()).isTrue();
        assertThat(tokenizer.vocabSize()).isEqualTo(512);
        assertThat(tokenizer.piece(403)).isEqualTo("▁Once");
        assertThat(tokenizer.piece(231)).isEqualTo("<0xE4>");
        assertThat(tokenizer.tokenId("▁Once")).isEqualTo(403);
        assertThat(tokenizer.tokenId("no such piece")).isEqualTo(-1);
        assertThat(tokenizer.isSpecial(2)).isTrue();
        assertThat(tokenizer.isSpecial(403)).isFalse();
        assertThatThrownBy(() -> tokenizer.piece(512)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void mergesEosIdsOfModelConfigAndTokenizerConfig() {
        try (Tokenizer t = Tokenizer.load(Stories260K.dir(), -1, new int[] {13, 2})) {
            assertThat(t.eosIds()).containsExactly(13, 2);
            assertThat(t.bosId()).isEqualTo(1);
        }
    }

    @Test
    void neverTruncatesLongInput() {
        String text = "Once upon a time, there was a little girl named Lily. ".repeat(200);
        int[] ids = tokenizer.encode(text, true);
        assertThat(ids.length).isGreaterThan(2000);
        assertThat(tokenizer.decode(ids, true)).isEqualTo(text);
    }

    @Test
    void encodesAndDecodesFromManyThreadsAtOnce() {
        List<String> texts = IntStream.range(0, 64)
                .mapToObj(i -> "Story " + i + ": Lily saw " + "a big red ball ".repeat(i % 7) + "你好")
                .toList();
        List<int[]> sequential =
                texts.stream().map(t -> tokenizer.encode(t, true)).toList();

        List<int[]> parallel =
                texts.parallelStream().map(t -> tokenizer.encode(t, true)).toList();
        List<String> decoded = parallel.parallelStream()
                .map(ids -> tokenizer.decode(ids, true))
                .toList();

        for (int i = 0; i < texts.size(); i++) {
            assertThat(parallel.get(i)).containsExactly(sequential.get(i));
        }
        assertThat(decoded).isEqualTo(texts);
    }

    @Test
    void followsAddBosTokenAndObjectFormTokensOfTokenizerConfig(@TempDir Path dir) throws IOException {
        Files.copy(Stories260K.dir().resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"add_bos_token": false,
                 "bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false},
                 "eos_token": {"content": "</s>"}}
                """);
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertThat(t.addBosByDefault()).isFalse();
            assertThat(t.bosId()).isEqualTo(1);
            assertThat(t.eosIds()).containsExactly(2);
        }
    }

    @Test
    void fallsBackToPostProcessorAndModelConfigWithoutTokenizerConfig(@TempDir Path dir) throws IOException {
        Files.copy(Stories260K.dir().resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        try (Tokenizer t = Tokenizer.load(dir, 1, new int[] {2})) {
            assertThat(t.bosId()).isEqualTo(1);
            assertThat(t.addBosByDefault()).isTrue(); // the post-processor starts sequences with <s>
            assertThat(t.eosIds()).containsExactly(2);
            assertThat(t.encode("Lily", t.addBosByDefault())).containsExactly(1, 317);
        }
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertThat(t.bosId()).isEqualTo(-1);
            assertThat(t.addBosByDefault()).isFalse();
            assertThat(t.encode("Lily", true)).containsExactly(317);
        }
    }

    @Test
    void rejectsMissingDirectoryWithOneLine(@TempDir Path dir) {
        assertOneLineError(() -> Tokenizer.load(dir.resolve("nope")), "does not exist");
    }

    @Test
    void rejectsMissingTokenizerJsonWithOneLine(@TempDir Path dir) {
        assertOneLineError(() -> Tokenizer.load(dir), "No tokenizer.json in " + dir);
    }

    @Test
    void rejectsCorruptTokenizerJsonWithOneLine(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"vocab\": ");
        assertOneLineError(() -> Tokenizer.load(dir), "tokenizer.json is not valid JSON");
    }

    @Test
    void rejectsJsonThatIsNoTokenizerWithOneLine(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), "{\"version\": \"1.0\"}");
        assertOneLineError(() -> Tokenizer.load(dir), "has no model.vocab");

        Files.writeString(
                dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"Nonsense\", \"vocab\": {\"a\": 0}}}");
        assertOneLineError(() -> Tokenizer.load(dir), "is not a usable tokenizer");
    }

    @Test
    void rejectsCorruptTokenizerConfigWithOneLine(@TempDir Path dir) throws IOException {
        Files.copy(Stories260K.dir().resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"add_bos_token\": tru");
        assertOneLineError(() -> Tokenizer.load(dir), "tokenizer_config.json is not valid JSON");
    }

    private static void assertOneLineError(Runnable load, String expected) {
        assertThatThrownBy(load::run)
                .isInstanceOf(TokenizerException.class)
                .hasMessageContaining(expected)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }
}
