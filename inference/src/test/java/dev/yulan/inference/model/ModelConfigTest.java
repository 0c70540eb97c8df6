package dev.yulan.inference.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelConfigTest {

    private static final String YULAN_MINI = """
            {"architectures": ["LlamaForCausalLM"], "attention_bias": true, "bos_token_id": 1, "eos_token_id": 2,
             "head_dim": 64, "hidden_act": "silu", "hidden_size": 1920, "intermediate_size": 4800,
             "max_position_embeddings": 28723, "mlp_bias": false, "model_type": "llama", "num_attention_heads": 30,
             "num_hidden_layers": 56, "num_key_value_heads": 6, "pad_token_id": 102, "rms_norm_eps": 1e-06,
             "rope_scaling": null, "rope_theta": 490000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
             "vocab_size": 99000}
            """;

    @Test
    void readsYulanMiniReleasedConfig() {
        ModelConfig c = ModelConfig.parse(YULAN_MINI, "config.json");
        assertThat(c.architecture()).isEqualTo("LlamaForCausalLM");
        assertThat(c.hiddenSize()).isEqualTo(1920);
        assertThat(c.numKvHeads()).isEqualTo(6);
        assertThat(c.groupSize()).isEqualTo(5);
        assertThat(c.headDim()).isEqualTo(64);
        assertThat(c.ropeTheta()).isEqualTo(490000.0);
        assertThat(c.attentionBias()).isTrue();
        assertThat(c.tieWordEmbeddings()).isFalse();
        assertThat(c.eosTokenIds()).containsExactly(2);
        // 2.42 B, as published
        assertThat(c.parameterCount()).isBetween(2_410_000_000L, 2_430_000_000L);
        assertThat(c.kvBytesPerToken(2)).isEqualTo(2L * 56 * 384 * 2);
    }

    @Test
    void readsBundledStoriesConfig() {
        ModelConfig c = ModelConfig.read(TestFiles.stories260K());
        assertThat(c.numHeads()).isEqualTo(8);
        assertThat(c.numKvHeads()).isEqualTo(4);
        assertThat(c.tieWordEmbeddings()).isTrue();
        assertThat(c.attentionBias()).isFalse();
        assertThat(c.rmsNormEps()).isEqualTo(1e-5);
        assertThat(c.torchDtype()).isEqualTo("float32");
    }

    @Test
    void appliesLlamaDefaults() {
        ModelConfig c = ModelConfig.parse("""
                {"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
                 "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 300, "eos_token_id": [2, 7]}
                """, "config.json");
        assertThat(c.numKvHeads()).isEqualTo(4);
        assertThat(c.headDim()).isEqualTo(16);
        assertThat(c.ropeTheta()).isEqualTo(10000.0);
        assertThat(c.ropeScaling()).isNull();
        assertThat(c.attentionBias()).isFalse();
        assertThat(c.tieWordEmbeddings()).isFalse();
        assertThat(c.eosTokenIds()).containsExactly(2, 7);
        assertThat(c.bosTokenId()).isEqualTo(-1);
    }

    @Test
    void acceptsLinearRopeScalingUnderEitherKey() {
        String base = YULAN_MINI.replace("\"rope_scaling\": null", "\"rope_scaling\": %s");
        assertThat(ModelConfig.parse(base.formatted("{\"type\": \"linear\", \"factor\": 4.0}"), "c")
                        .ropeScaling()
                        .factor())
                .isEqualTo(4.0);
        assertThat(ModelConfig.parse(base.formatted("{\"rope_type\": \"linear\", \"factor\": 2}"), "c")
                        .ropeScaling()
                        .factor())
                .isEqualTo(2.0);
    }

    @Test
    void rejectsOtherRopeScaling() {
        String json = YULAN_MINI.replace(
                "\"rope_scaling\": null", "\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0}");
        assertThatThrownBy(() -> ModelConfig.parse(json, "config.json"))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("rope_scaling type llama3 is not supported");
    }

    @Test
    void acceptsOtherCausalLmNamesOfLlamaType() {
        String json = YULAN_MINI.replace("LlamaForCausalLM", "YuLanMiniForCausalLM");
        assertThat(ModelConfig.parse(json, "c").architecture()).isEqualTo("YuLanMiniForCausalLM");
    }

    @Test
    void rejectsYulanMiniTrainingFormatWithReason() {
        String json =
                YULAN_MINI.replace("LlamaForCausalLM", "YuLanMiniForCausalLM").replace("\"llama\"", "\"yulanmini\"");
        assertThatThrownBy(() -> ModelConfig.parse(json, "config.json"))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("YuLan-Mini's training format")
                .hasMessageContaining("scale_emb");
    }

    @Test
    void rejectsOtherArchitectures() {
        String json = YULAN_MINI.replace("LlamaForCausalLM", "GPT2LMHeadModel").replace("\"llama\"", "\"gpt2\"");
        assertThatThrownBy(() -> ModelConfig.parse(json, "config.json"))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("unsupported model (architectures [GPT2LMHeadModel], model_type gpt2)");
    }

    @Test
    void rejectsBadJsonWithOneLine() {
        assertThatThrownBy(() -> ModelConfig.parse("{\"hidden_size\": 64,", "x/config.json"))
                .isInstanceOf(CheckpointException.class)
                .hasMessageStartingWith("bad JSON in x/config.json")
                .message()
                .doesNotContain("\n");
    }

    @Test
    void rejectsMissingFieldAndHeadMismatch(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> ModelConfig.read(dir))
                .isInstanceOf(CheckpointException.class)
                .hasMessage("no config.json in " + dir);
        Files.writeString(dir.resolve("config.json"), YULAN_MINI.replace("\"hidden_size\": 1920,", ""));
        assertThatThrownBy(() -> ModelConfig.read(dir)).hasMessageEndingWith("has no hidden_size");
        assertThatThrownBy(() -> ModelConfig.parse(
                        YULAN_MINI.replace("\"num_key_value_heads\": 6", "\"num_key_value_heads\": 7"), "c"))
                .hasMessageContaining("must be a multiple of num_key_value_heads (7)");
    }

    @Test
    void readsGenerationConfig(@TempDir Path dir) throws Exception {
        assertThat(GenerationConfig.read(dir)).isNull();
        Files.writeString(
                dir.resolve("generation_config.json"),
                "{\"bos_token_id\": 1, \"eos_token_id\": [2, 5], \"temperature\": 0.7, \"top_p\": 0.9, \"top_k\": 40}");
        GenerationConfig g = GenerationConfig.read(dir);
        assertThat(g.bosTokenId()).isEqualTo(1);
        assertThat(g.eosTokenIds()).containsExactly(2, 5);
        assertThat(g.temperature()).isEqualTo(0.7);
        assertThat(g.topP()).isEqualTo(0.9);
        assertThat(g.topK()).isEqualTo(40);
        assertThat(g.doSample()).isNull();
    }
}
