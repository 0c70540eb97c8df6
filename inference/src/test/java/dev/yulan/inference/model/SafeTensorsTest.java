package dev.yulan.inference.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.yulan.inference.tensor.DType;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {

    @TempDir
    Path dir;

    private final Arena arena = Arena.ofShared();

    @AfterEach
    void close() {
        arena.close();
    }

    private CheckpointException failure(Path path) {
        try {
            SafeTensors.open(path, arena);
        } catch (CheckpointException e) {
            assertThat(e.getMessage()).doesNotContain("\n");
            return e;
        }
        throw new AssertionError("opening " + path + " should have failed");
    }

    @Test
    void readsTensorsOfAValidFile() throws Exception {
        Path file = TestFiles.safetensors(
                dir.resolve("model.safetensors"),
                "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[0,12]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}",
                20);
        SafeTensors st = SafeTensors.open(dir, arena);
        assertThat(st.tensors()).hasSize(2);
        SafeTensors.Tensor a = st.tensor("a");
        assertThat(a.dtype()).isEqualTo(DType.BF16);
        assertThat(a.shape()).containsExactly(2L, 3L);
        assertThat(a.byteSize()).isEqualTo(12);
        assertThat(a.file()).isEqualTo(file);
        assertThat(st.tensor("b").dtype()).isEqualTo(DType.F32);
        assertThat(st.dataBytes()).isEqualTo(20);
    }

    @Test
    void rejectsMissingDirectoryAndFile() {
        assertThat(failure(dir.resolve("nope")).getMessage()).startsWith("no such file or directory");
        assertThat(failure(dir).getMessage())
                .isEqualTo("no model.safetensors or model.safetensors.index.json in " + dir);
    }

    @Test
    void rejectsFileShorterThanTheLength() throws Exception {
        Files.write(dir.resolve("model.safetensors"), new byte[] {1, 2, 3});
        assertThat(failure(dir).getMessage()).contains("is too short to be a safetensors file (3 bytes");
    }

    @Test
    void rejectsHeaderLengthPastTheEnd() throws Exception {
        ByteBuffer buf = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000);
        Files.write(dir.resolve("model.safetensors"), buf.array());
        assertThat(failure(dir).getMessage()).contains("header length 1000 runs past the end of the file (16 bytes)");
    }

    @Test
    void rejectsBadJson() throws Exception {
        TestFiles.safetensors(dir.resolve("model.safetensors"), "{\"a\": {\"dtype\": ", 0);
        assertThat(failure(dir).getMessage()).startsWith("bad JSON header in " + dir.resolve("model.safetensors"));
    }

    @Test
    void rejectsOffsetsBeyondTheData() throws Exception {
        TestFiles.safetensors(
                dir.resolve("model.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
                8);
        assertThat(failure(dir).getMessage())
                .contains("tensor a in")
                .contains("data_offsets [0, 16] lie outside the data section (8 bytes)");
    }

    @Test
    void rejectsOverlappingTensors() throws Exception {
        TestFiles.safetensors(
                dir.resolve("model.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                16);
        assertThat(failure(dir).getMessage()).startsWith("tensors a and b in").contains("overlap");
    }

    @Test
    void rejectsShapeThatDisagreesWithByteRange() throws Exception {
        TestFiles.safetensors(
                dir.resolve("model.safetensors"),
                "{\"a\":{\"dtype\":\"BF16\",\"shape\":[3,3],\"data_offsets\":[0,16]}}",
                16);
        assertThat(failure(dir).getMessage()).contains("shape [3, 3] of BF16 takes 18 bytes, but data_offsets span 16");
    }

    @Test
    void rejectsMalformedEntries() throws Exception {
        TestFiles.safetensors(
                dir.resolve("model.safetensors"), "{\"a\":{\"dtype\":\"Q9\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
        assertThat(failure(dir).getMessage()).contains("has unknown dtype Q9");
        TestFiles.safetensors(
                dir.resolve("model.safetensors"), "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4);
        assertThat(failure(dir).getMessage()).contains("data_offsets must be a list of 2 integers");
    }

    @Test
    void namesTensorAndDtypeTheEngineCannotUse() throws Exception {
        TestFiles.safetensors(
                dir.resolve("model.safetensors"),
                "{\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}",
                16);
        SafeTensors st = SafeTensors.open(dir, arena);
        assertThatThrownBy(() -> st.tensor("ids").dtype())
                .isInstanceOf(CheckpointException.class)
                .hasMessageStartingWith("tensor ids in ")
                .hasMessageEndingWith("has dtype I64; only F32, F16 and BF16 are supported");
    }

    @Test
    void reportsMissingTensor() throws Exception {
        TestFiles.safetensors(
                dir.resolve("model.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                4);
        SafeTensors st = SafeTensors.open(dir, arena);
        assertThatThrownBy(() -> st.tensor("model.norm.weight"))
                .isInstanceOf(CheckpointException.class)
                .hasMessage("tensor model.norm.weight is missing from " + dir);
    }

    @Test
    void readsShardsThroughTheIndex() throws Exception {
        TestFiles.safetensors(
                dir.resolve("s1.safetensors"), "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        TestFiles.safetensors(
                dir.resolve("s2.safetensors"), "{\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4);
        Files.writeString(
                dir.resolve("model.safetensors.index.json"),
                "{\"metadata\":{},\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s2.safetensors\"}}");
        SafeTensors st = SafeTensors.open(dir, arena);
        assertThat(st.tensor("a").file().getFileName().toString()).isEqualTo("s1.safetensors");
        assertThat(st.tensor("b").dtype()).isEqualTo(DType.F16);
    }

    @Test
    void rejectsMissingShardAndMisplacedTensor() throws Exception {
        TestFiles.safetensors(
                dir.resolve("s1.safetensors"), "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        Files.writeString(
                dir.resolve("model.safetensors.index.json"),
                "{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s2.safetensors\"}}");
        assertThat(failure(dir).getMessage())
                .isEqualTo("model.safetensors.index.json names shard s2.safetensors, which does not exist in "
                        + dir.toAbsolutePath());
        Files.writeString(
                dir.resolve("model.safetensors.index.json"),
                "{\"weight_map\":{\"a\":\"s1.safetensors\",\"c\":\"s1.safetensors\"}}");
        assertThat(failure(dir).getMessage())
                .isEqualTo(
                        "model.safetensors.index.json puts tensor c in s1.safetensors, but that shard does not hold it");
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"weight_map\": 3}");
        assertThat(failure(dir).getMessage()).contains("has no weight_map object");
    }
}
