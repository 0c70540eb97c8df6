package dev.yulan.schemas.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.yulan.schemas.PromptRequest;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.junit.jupiter.api.Test;

class SchemaEvolutionTest {

    private static Schema promptV1() {
        return SchemaVersions.historical().stream()
                .filter(s -> s.getName().equals("PromptRequest") && SchemaVersions.version(s) == 1)
                .findFirst()
                .orElseThrow();
    }

    @Test
    void readsPromptRequestWrittenWithVersion1() throws Exception {
        Schema v1 = promptV1();
        assertThat(v1.getField("priority")).isNull();
        GenericRecord old = new GenericData.Record(v1);
        old.put("request_id", "old-1");
        old.put("conversation_id", "c-9");
        old.put("prompt", "Once upon a time");
        old.put("max_tokens", 12);
        old.put("temperature", 0.5f);
        old.put("stream", true);
        old.put("metadata", Map.of("k", "v"));
        ByteBuffer written = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), v1).encode(old);
        byte[] bytes = new byte[written.remaining()];
        written.get(bytes);

        PromptRequest read = AvroCodec.of(PromptRequest.class).decode(bytes);

        assertThat(read.getRequestId()).isEqualTo("old-1");
        assertThat(read.getPrompt()).isEqualTo("Once upon a time");
        assertThat(read.getMaxTokens()).isEqualTo(12);
        assertThat(read.getStream()).isTrue();
        assertThat(read.getMetadata()).containsEntry("k", "v");
        assertThat(read.getPriority()).isZero();
        assertThat(read.getPresencePenalty()).isNull();
        assertThat(read.getRepetitionPenalty()).isNull();
    }

    @Test
    void everyHistoricalVersionIsReadableByTheCurrentSchema() {
        for (Schema old : SchemaVersions.historical()) {
            Schema current = SchemaVersions.current().stream()
                    .filter(s -> s.getFullName().equals(old.getFullName()))
                    .findFirst()
                    .orElseThrow();
            assertThat(SchemaVersions.version(current)).isGreaterThan(SchemaVersions.version(old));
            var result = SchemaCompatibility.checkReaderWriterCompatibility(current, old);
            assertThat(result.getType())
                    .as(old.getFullName() + " v" + SchemaVersions.version(old))
                    .isEqualTo(SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE);
        }
    }

    @Test
    void version1ReaderStillReadsCurrentRecords() throws Exception {
        Schema v1 = promptV1();
        byte[] bytes = AvroCodec.of(PromptRequest.class).encode(SampleRecords.prompt());
        var store = SchemaVersions.store();
        GenericRecord read = new BinaryMessageDecoder<GenericRecord>(GenericData.get(), v1, store).decode(bytes);
        assertThat(read.get("max_tokens")).isEqualTo(32);
        assertThat(read.getSchema().getField("priority")).isNull();
    }

    @Test
    void roundTripsEveryTypeInAvro() {
        assertThat(roundTrip(SampleRecords.prompt(), PromptRequest.class)).isEqualTo(SampleRecords.prompt());
        assertThat(roundTrip(SampleRecords.chunk(), dev.yulan.schemas.CompletionChunk.class))
                .isEqualTo(SampleRecords.chunk());
        assertThat(roundTrip(SampleRecords.completion(), dev.yulan.schemas.Completion.class))
                .isEqualTo(SampleRecords.completion());
        assertThat(roundTrip(SampleRecords.deadLetter(), dev.yulan.schemas.DeadLetter.class))
                .isEqualTo(SampleRecords.deadLetter());
    }

    @Test
    void rejectsUnknownSchemaFingerprint() {
        byte[] bytes = AvroCodec.of(PromptRequest.class).encode(SampleRecords.prompt());
        bytes[5] ^= 0x5a;
        assertThatThrownBy(() -> AvroCodec.of(PromptRequest.class).decode(bytes))
                .isInstanceOf(RecordFormatException.class)
                .hasMessageStartingWith("unknown schema fingerprint");
    }

    @Test
    void rejectsTruncatedAvroRecord() {
        byte[] bytes = AvroCodec.of(PromptRequest.class).encode(SampleRecords.prompt());
        byte[] truncated = java.util.Arrays.copyOf(bytes, bytes.length / 2);
        assertThatThrownBy(() -> AvroCodec.of(PromptRequest.class).decode(truncated))
                .isInstanceOf(RecordFormatException.class)
                .hasMessageStartingWith("corrupt Avro PromptRequest record")
                .hasMessageNotContaining("\n");
    }

    @Test
    void knowsTheOpenAiFieldNames() {
        List<String> names = PromptRequest.getClassSchema().getFields().stream()
                .map(Schema.Field::name)
                .toList();
        assertThat(names)
                .contains(
                        "request_id",
                        "conversation_id",
                        "prompt",
                        "messages",
                        "max_tokens",
                        "temperature",
                        "top_p",
                        "top_k",
                        "min_p",
                        "seed",
                        "stop",
                        "stream",
                        "metadata");
    }

    private static <T extends org.apache.avro.specific.SpecificRecord> T roundTrip(T record, Class<T> type) {
        AvroCodec<T> codec = AvroCodec.of(type);
        byte[] bytes = codec.encode(record);
        assertThat(AvroCodec.looksLikeAvro(bytes)).isTrue();
        return codec.decode(bytes);
    }
}
