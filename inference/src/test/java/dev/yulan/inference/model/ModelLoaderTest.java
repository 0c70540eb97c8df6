package dev.yulan.inference.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.yulan.inference.tensor.DType;
import dev.yulan.inference.tensor.Matrix;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ModelLoaderTest {

    private static final long SEED = 42;

    @TempDir
    Path dir;

    /** Reads float element {@code index} of a tensor straight from the file, without the loader. */
    private static float rawF32(Path file, String tensor, long index) throws Exception {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            byte[] len = new byte[8];
            raf.readFully(len);
            long headerLength =
                    ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
            byte[] header = new byte[(int) headerLength];
            raf.readFully(header);
            JsonNode entry = JsonMapper.builder()
                    .build()
                    .readTree(new String(header, StandardCharsets.UTF_8))
                    .get(tensor);
            assertThat(entry.get("dtype").asText()).isEqualTo("F32");
            raf.seek(8 + headerLength + entry.get("data_offsets").get(0).asLong() + 4 * index);
            byte[] value = new byte[4];
            raf.readFully(value);
            return ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN).getFloat();
        }
    }

    @Test
    void loadsBundledStoriesModel() throws Exception {
        Path model = TestFiles.stories260K();
        Path file = model.resolve("model.safetensors");
        try (Checkpoint cp = ModelLoader.load(model, LoadOptions.defaults())) {
            ModelWeights w = cp.weights();
            assertThat(cp.directory()).isEqualTo(model);
            assertThat(cp.generationConfig().eosTokenIds()).containsExactly(2);
            assertThat(w.layers()).hasSize(5);
            assertThat(w.tied()).isTrue();
            assertThat(w.dtypes()).containsExactly(DType.F32);
            assertThat(w.embedding().rows()).isEqualTo(512);
            assertThat(w.embedding().cols()).isEqualTo(64);
            LayerWeights l3 = w.layers().get(3);
            assertThat(l3.hasBiases()).isFalse();
            assertThat(l3.bo()).isNull();
            assertThat(List.of(
                            l3.wq().rows(),
                            l3.wk().rows(),
                            l3.wv().rows(),
                            l3.wo().cols()))
                    .containsExactly(64, 32, 32, 64);
            assertThat(List.of(l3.wGate().rows(), l3.wDown().rows(), l3.wDown().cols()))
                    .containsExactly(172, 64, 172);

            Matrix wk = l3.wk();
            assertThat(wk.get(7, 11)).isEqualTo(rawF32(file, "model.layers.3.self_attn.k_proj.weight", 7 * 64 + 11));
            Matrix emb = w.embedding();
            assertThat(emb.get(300, 63)).isEqualTo(rawF32(file, "model.embed_tokens.weight", 300 * 64 + 63));
            Matrix down = l3.wDown();
            assertThat(down.get(63, 171))
                    .isEqualTo(rawF32(file, "model.layers.3.mlp.down_proj.weight", 63 * 172 + 171));
            assertThat(l3.ffnNorm()[5]).isEqualTo(rawF32(file, "model.layers.3.post_attention_layernorm.weight", 5));
            assertThat(w.finalNorm()[63]).isEqualTo(rawF32(file, "model.norm.weight", 63));
        }
    }

    @ParameterizedTest
    @EnumSource(
            value = DType.class,
            names = {"BF16", "F16", "F32"})
    void roundTripsSyntheticCheckpoint(DType dtype) {
        SyntheticCheckpoint.write(dir, SyntheticShape.TINY, dtype, SEED, 1, LoadProgress.NONE);
        assertThat(dir.resolve("model.safetensors")).exists();
        AtomicLong lastDone = new AtomicLong();
        AtomicLong total = new AtomicLong();
        LoadProgress progress = (d, t) -> {
            lastDone.set(d);
            total.set(t);
        };
        try (Checkpoint written = ModelLoader.load(dir, LoadOptions.defaults().withProgress(progress));
                Checkpoint built = ModelLoader.load(SyntheticShape.TINY, dtype, SEED, LoadOptions.defaults())) {
            ModelConfig c = written.config();
            assertThat(c).isEqualTo(built.config());
            assertThat(c.numHeads() / c.numKvHeads()).isEqualTo(5);
            ModelWeights w = written.weights();
            assertThat(lastDone.get()).isEqualTo(total.get()).isPositive();
            assertThat(w.tied()).isFalse();
            assertThat(w.dtypes()).containsExactly(dtype);
            LayerWeights l1 = w.layers().get(1);
            assertThat(l1.hasBiases()).isTrue();
            assertThat(l1.bk()).hasSize(32);
            assertThat(l1.bo()).hasSize(64);
            assertThat(l1.wq().rows()).isEqualTo(160);
            assertThat(l1.wk().rows()).isEqualTo(32);
            assertSameWeights(w, built.weights());
            assertPlausibleValues(w);
        }
    }

    @Test
    void roundTripsShardedSyntheticCheckpoint() {
        SyntheticCheckpoint.write(dir, SyntheticShape.TINY, DType.BF16, SEED, 3, LoadProgress.NONE);
        assertThat(dir.resolve("model.safetensors")).doesNotExist();
        assertThat(dir.resolve("model.safetensors.index.json")).exists();
        assertThat(dir.resolve("model-00003-of-00003.safetensors")).exists();
        try (Checkpoint written = ModelLoader.load(dir, LoadOptions.defaults());
                Checkpoint built = ModelLoader.load(SyntheticShape.TINY, DType.BF16, SEED, LoadOptions.defaults())) {
            assertSameWeights(written.weights(), built.weights());
        }
    }

    @Test
    void seedsDiffer() {
        try (Checkpoint a = SyntheticCheckpoint.inMemory(SyntheticShape.TINY, DType.F32, 1, LoadProgress.NONE);
                Checkpoint b = SyntheticCheckpoint.inMemory(SyntheticShape.TINY, DType.F32, 2, LoadProgress.NONE)) {
            assertThat(a.weights()
                            .embedding()
                            .data()
                            .mismatch(b.weights().embedding().data()))
                    .isNotEqualTo(-1L);
        }
    }

    @Test
    void quantizesEveryMatrixAtLoad() {
        SyntheticCheckpoint.write(dir, SyntheticShape.TINY, DType.F32, SEED, 1, LoadProgress.NONE);
        try (Checkpoint plain = ModelLoader.load(dir, LoadOptions.defaults());
                Checkpoint q8 = ModelLoader.load(dir, LoadOptions.defaults().withQuantize(DType.Q8_0))) {
            ModelWeights w = q8.weights();
            assertThat(w.dtypes()).containsExactly(DType.Q8_0);
            assertThat(w.layers().get(0).bq())
                    .isEqualTo(plain.weights().layers().get(0).bq());
            Matrix src = plain.weights().layers().get(1).wDown();
            Matrix dst = w.layers().get(1).wDown();
            for (int r = 0; r < src.rows(); r += 7) {
                for (int c = 0; c < src.cols(); c += 5) {
                    float expected = src.get(r, c);
                    assertThat(dst.get(r, c)).isCloseTo(expected, within(0.2f / 127));
                }
            }
            assertThat(w.matrixBytes()).isLessThan(plain.weights().matrixBytes() / 3);
        }
    }

    @Test
    void quantizingKeepsTiedHeadAndFallsBackForOddWidths() {
        try (Checkpoint cp =
                ModelLoader.load(TestFiles.stories260K(), LoadOptions.defaults().withQuantize(DType.Q8_0))) {
            ModelWeights w = cp.weights();
            assertThat(w.tied()).isTrue();
            assertThat(w.embedding().dtype()).isEqualTo(DType.Q8_0);
            assertThat(w.layers().get(0).wq().dtype()).isEqualTo(DType.Q8_0);
            // 172 columns is not a whole number of 32-element blocks
            assertThat(w.layers().get(0).wDown().dtype()).isEqualTo(DType.F32);
        }
    }

    @Test
    void quantizesToQ4AndBuildsSyntheticSpecs() {
        try (Checkpoint cp =
                ModelLoader.load("synth:tiny:f32", LoadOptions.defaults().withQuantize(DType.Q4_0))) {
            assertThat(cp.directory()).isNull();
            assertThat(cp.config().architecture()).isEqualTo("LlamaForCausalLM");
            assertThat(cp.weights().dtypes()).containsExactly(DType.Q4_0);
            assertThat(cp.weights().tied()).isFalse();
        }
        try (Checkpoint cp = ModelLoader.load("synth:tiny", LoadOptions.defaults())) {
            assertThat(cp.weights().dtypes()).containsExactly(DType.BF16);
        }
        assertThatThrownBy(() -> ModelLoader.load("synth:huge", LoadOptions.defaults()))
                .isInstanceOf(CheckpointException.class)
                .hasMessage("bad synthetic model synth:huge: unknown shape huge; use yulan-mini or tiny");
    }

    @Test
    void rejectsTensorShapeThatContradictsConfig() throws Exception {
        SyntheticCheckpoint.write(dir, SyntheticShape.TINY, DType.BF16, SEED, 1, LoadProgress.NONE);
        Path config = dir.resolve("config.json");
        Files.writeString(
                config, Files.readString(config).replace("\"intermediate_size\" : 160", "\"intermediate_size\" : 192"));
        assertThatThrownBy(() -> ModelLoader.load(dir, LoadOptions.defaults()))
                .isInstanceOf(CheckpointException.class)
                .hasMessage(
                        "tensor model.layers.0.mlp.gate_proj.weight has shape [160, 64], config.json implies [192, 64]");
    }

    @Test
    void rejectsCheckpointMissingALayer() throws Exception {
        SyntheticCheckpoint.write(dir, SyntheticShape.TINY, DType.BF16, SEED, 1, LoadProgress.NONE);
        Path config = dir.resolve("config.json");
        Files.writeString(
                config, Files.readString(config).replace("\"num_hidden_layers\" : 2", "\"num_hidden_layers\" : 3"));
        assertThatThrownBy(() -> ModelLoader.load(dir, LoadOptions.defaults()))
                .isInstanceOf(CheckpointException.class)
                .hasMessage("tensor model.layers.2.input_layernorm.weight is missing from " + dir);
    }

    @Test
    void rejectsMissingDirectory() {
        Path missing = dir.resolve("nope");
        assertThatThrownBy(() -> ModelLoader.load(missing, LoadOptions.defaults()))
                .isInstanceOf(CheckpointException.class)
                .hasMessage("model directory " + missing + " does not exist");
    }

    private static void assertSameWeights(ModelWeights a, ModelWeights b) {
        List<Matrix> ma = a.matrices().toList();
        List<Matrix> mb = b.matrices().toList();
        assertThat(ma).hasSameSizeAs(mb);
        for (int i = 0; i < ma.size(); i++) {
            assertThat(ma.get(i).dtype()).isEqualTo(mb.get(i).dtype());
            assertThat(ma.get(i).data().mismatch(mb.get(i).data()))
                    .as("matrix %d", i)
                    .isEqualTo(-1L);
        }
        assertThat(a.finalNorm()).isEqualTo(b.finalNorm());
        for (int l = 0; l < a.layers().size(); l++) {
            assertThat(a.layers().get(l).attnNorm()).isEqualTo(b.layers().get(l).attnNorm());
            assertThat(a.layers().get(l).bv()).isEqualTo(b.layers().get(l).bv());
        }
    }

    private static void assertPlausibleValues(ModelWeights w) {
        Matrix m = w.layers().get(0).wUp();
        double sum = 0;
        double sumSq = 0;
        int n = 0;
        for (int r = 0; r < m.rows(); r++) {
            for (int c = 0; c < m.cols(); c++) {
                double v = m.get(r, c);
                sum += v;
                sumSq += v * v;
                n++;
            }
        }
        double mean = sum / n;
        double std = Math.sqrt(sumSq / n - mean * mean);
        assertThat(mean).isCloseTo(0, within(0.002));
        assertThat(std).isCloseTo(0.02, within(0.002));
        for (float g : w.finalNorm()) {
            assertThat(g).isBetween(0.7f, 1.3f);
        }
        float[] bq = w.layers().get(0).bq();
        assertThat(bq).isNotEqualTo(new float[bq.length]);
    }
}
