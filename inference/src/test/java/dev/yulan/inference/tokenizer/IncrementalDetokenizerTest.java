package dev.yulan.inference.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class IncrementalDetokenizerTest {

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
    void streamsGreedyTokensToTheReferenceText() {
        JsonNode reference = Stories260K.reference();
        int[] greedy = Stories260K.ints(reference.get("greedy_from_bos").get("ids"));
        int steps = reference.get("greedy_200_text").get("steps").asInt();

        List<String> deltas = stream(new IncrementalDetokenizer(tokenizer), Arrays.copyOf(greedy, 1 + steps));

        assertThat(String.join("", deltas))
                .isEqualTo(reference.get("greedy_200_text").get("text").asText());
        assertThat(String.join("", stream(new IncrementalDetokenizer(tokenizer), greedy)))
                .isEqualTo(tokenizer.decode(Arrays.copyOfRange(greedy, 1, greedy.length)));
        // Plain ASCII pieces: every token's text comes out at once (BOS has none).
        assertThat(deltas.subList(1, 1 + steps))
                .allSatisfy(delta -> assertThat(delta).isNotEmpty());
    }

    @Test
    void streamsChineseAndEmojiWithoutReplacementCharacters() {
        String text = "café 你好 🦙 YuLan 玉兰是中国人民大学的校花。Emoji: 😀👍🏽 and 한국어, done.";
        int[] ids = tokenizer.encode(text, true);
        // The 512-piece vocabulary spells these characters with byte-fallback tokens, several per character.
        assertThat(Arrays.stream(ids)
                        .filter(id -> tokenizer.piece(id).startsWith("<0x"))
                        .count())
                .isGreaterThan(40);

        List<String> deltas = stream(new IncrementalDetokenizer(tokenizer), ids);

        assertThat(String.join("", deltas)).isEqualTo(text).isEqualTo(tokenizer.decode(ids, true));
        assertThat(deltas).allSatisfy(delta -> {
            assertThat(delta).doesNotContain("\uFFFD");
            assertThat(delta.isEmpty() || !Character.isHighSurrogate(delta.charAt(delta.length() - 1)))
                    .as("delta %s ends with half a surrogate pair", delta)
                    .isTrue();
        });
        // Held back while a character is incomplete, so some steps emit nothing.
        assertThat(deltas).contains("");
    }

    @Test
    void keepsTheLeadingSpaceOfTextThatFollowsAContext() {
        int[] ids = tokenizer.encode("Once upon a time, there was a little girl named Lily.", true);
        int split = 4;
        int[] context = Arrays.copyOf(ids, split);
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer, context, true);

        List<String> deltas = stream(detokenizer, Arrays.copyOfRange(ids, split, ids.length));

        assertThat(tokenizer.decode(context, true)).isEqualTo("Once upon a");
        assertThat(String.join("", deltas)).isEqualTo(" time, there was a little girl named Lily.");
        assertThat(deltas.getFirst()).isEqualTo(" time");
    }

    @Test
    void flushEmitsAnIncompleteCharacterAtTheEnd() {
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer);
        assertThat(detokenizer.add(tokenizer.bosId())).isEmpty();
        assertThat(detokenizer.add(tokenizer.tokenId("▁Once"))).isEqualTo("Once");
        assertThat(detokenizer.add(tokenizer.tokenId("<0xE4>"))).isEmpty();
        assertThat(detokenizer.flush()).isEqualTo("\uFFFD");
        assertThat(detokenizer.flush()).isEmpty();
    }

    @Test
    void keepsSpecialTokensWhenAsked() {
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer, new int[0], false);
        int[] ids = {1, 403, 407, 2};
        String text = String.join("", stream(detokenizer, ids));
        assertThat(text)
                .isEqualTo(tokenizer.decode(Arrays.copyOfRange(ids, 1, ids.length)))
                .endsWith("</s>");
    }

    /** Feeds ids one at a time, then flushes; the flush's delta is appended to the last one. */
    private static List<String> stream(IncrementalDetokenizer detokenizer, int[] ids) {
        List<String> deltas = new ArrayList<>();
        for (int id : ids) {
            deltas.add(detokenizer.add(id));
        }
        String rest = detokenizer.flush();
        if (!rest.isEmpty()) {
            deltas.add(rest);
        }
        return deltas;
    }
}
