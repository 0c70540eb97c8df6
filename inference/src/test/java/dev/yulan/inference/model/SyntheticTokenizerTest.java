package dev.yulan.inference.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SyntheticTokenizerTest {

    @BeforeAll
    static void keepDjlCacheInTarget() {
        // djl extracts its bundled native library into a cache directory; keep it inside the build output.
        if (System.getProperty("DJL_CACHE_DIR") == null) {
            System.setProperty(
                    "DJL_CACHE_DIR",
                    Path.of("target", "djl-cache").toAbsolutePath().toString());
        }
    }

    @Test
    void writesTokenizerThatHuggingFaceLoadsAndRoundTripsUtf8(@TempDir Path dir) throws Exception {
        SyntheticTokenizer.write(dir, 300, 512);
        try (HuggingFaceTokenizer tokenizer =
                HuggingFaceTokenizer.newInstance(dir.resolve("tokenizer.json"), Map.of())) {
            for (String text : new String[] {
                "Hello, world!",
                "  leading spaces and\ttabs\nnewlines",
                "Grüße, 你好, 🙂 and emoji ZWJ 👩‍💻",
                "a < b > c"
            }) {
                Encoding enc = tokenizer.encode(text);
                long[] ids = enc.getIds();
                assertThat(ids[0]).as("bos first").isEqualTo(SyntheticTokenizer.BOS_ID);
                assertThat(ids).hasSize(1 + text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
                for (int i = 1; i < ids.length; i++) {
                    assertThat(ids[i]).isBetween((long) SyntheticTokenizer.FIRST_BYTE_ID, 258L);
                }
                assertThat(tokenizer.decode(ids, true)).isEqualTo(text);
            }
            assertThat(tokenizer.decode(new long[] {'A' + 3L, SyntheticTokenizer.EOS_ID}, false))
                    .isEqualTo("A</s>");
        }
    }

    @Test
    void writesTokenizerConfigWithChatTemplate(@TempDir Path dir) throws Exception {
        SyntheticTokenizer.write(dir, 99000, 28723);
        JsonNode config = JsonMapper.builder().build().readTree(Files.readString(dir.resolve("tokenizer_config.json")));
        assertThat(config.get("bos_token").asText()).isEqualTo("<s>");
        assertThat(config.get("eos_token").asText()).isEqualTo("</s>");
        assertThat(config.get("add_bos_token").asBoolean()).isTrue();
        assertThat(config.get("chat_template").asText()).isEqualTo(SyntheticTokenizer.CHAT_TEMPLATE);
        JsonNode vocab = JsonMapper.builder()
                .build()
                .readTree(Files.readString(dir.resolve("tokenizer.json")))
                .get("model")
                .get("vocab");
        assertThat(vocab.size()).isEqualTo(99000);
    }
}
