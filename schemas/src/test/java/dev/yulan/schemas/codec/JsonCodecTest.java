package dev.yulan.schemas.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.yulan.schemas.Completion;
import dev.yulan.schemas.CompletionChunk;
import dev.yulan.schemas.DeadLetter;
import dev.yulan.schemas.PromptRequest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;

class JsonCodecTest {

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void readsMinimalJsonPromptWithDefaults() {
        PromptRequest request = JsonCodec.of(PromptRequest.class).decode(utf8("{\"prompt\": \"Hello\"}"));
        assertThat(request.getPrompt()).isEqualTo("Hello");
        assertThat(request.getRequestId()).isNull();
        assertThat(request.getStream()).isFalse();
        assertThat(request.getMetadata()).isEmpty();
        assertThat(request.getPriority()).isZero();
    }

    @Test
    void readsOpenAiStyleChatRequest() {
        String json = """
                {"request_id": "r-7", "messages": [{"role": "user", "content": "Hi"}],
                 "max_tokens": 16, "temperature": 0, "top_p": 0.95, "stop": ["\\n"], "stream": true,
                 "seed": 12345678901}
                """;
        PromptRequest request = JsonCodec.of(PromptRequest.class).decode(utf8(json));
        assertThat(request.getMessages()).singleElement().satisfies(m -> {
            assertThat(m.getRole()).isEqualTo("user");
            assertThat(m.getContent()).isEqualTo("Hi");
        });
        assertThat(request.getTemperature()).isZero();
        assertThat(request.getTopP()).isEqualTo(0.95f);
        assertThat(request.getSeed()).isEqualTo(12345678901L);
        assertThat(request.getStop()).containsExactly("\n");
    }

    @Test
    void rejectsUnknownField() {
        assertThatThrownBy(() -> JsonCodec.of(PromptRequest.class).decode(utf8("{\"prompt\":\"x\",\"max_token\":5}")))
                .isInstanceOf(RecordFormatException.class)
                .hasMessage("unknown field 'max_token'");
    }

    @Test
    void rejectsMissingRequiredField() {
        assertThatThrownBy(() -> JsonCodec.of(PromptRequest.class).decode(utf8("{\"messages\":[{\"role\":\"user\"}]}")))
                .isInstanceOf(RecordFormatException.class)
                .hasMessage("missing required field 'messages[0].content'");
    }

    @Test
    void rejectsWrongType() {
        assertThatThrownBy(() -> JsonCodec.of(PromptRequest.class).decode(utf8("{\"max_tokens\":\"many\"}")))
                .isInstanceOf(RecordFormatException.class)
                .hasMessage("field 'max_tokens' must be a 32-bit integer, got a string");
    }

    @Test
    void rejectsMalformedJsonInOneLine() {
        assertThatThrownBy(() -> JsonCodec.of(PromptRequest.class).decode(utf8("{\"prompt\": ")))
                .isInstanceOf(RecordFormatException.class)
                .hasMessageStartingWith("malformed JSON")
                .hasMessageNotContaining("\n");
    }

    @Test
    void recordCodecTellsAvroFromJsonAndRejectsTheRest() {
        RecordCodec<PromptRequest> codec = RecordCodec.of(PromptRequest.class, RecordFormat.AVRO);
        byte[] avro = codec.encode(SampleRecords.prompt());
        assertThat(codec.decode(avro)).isEqualTo(SampleRecords.prompt());
        assertThat(codec.decode(utf8("  {\"prompt\":\"x\"}")).getPrompt()).isEqualTo("x");
        assertThatThrownBy(() -> codec.decode(utf8("hello")))
                .isInstanceOf(RecordFormatException.class)
                .hasMessageStartingWith("neither Avro single-object encoding");
        assertThatThrownBy(() -> codec.decode(new byte[0]))
                .isInstanceOf(RecordFormatException.class)
                .hasMessage("empty record value");
    }

    @Test
    void jsonFieldNamesMatchAvroFieldNames() {
        assertParity(SampleRecords.prompt(), PromptRequest.class);
        assertParity(SampleRecords.chunk(), CompletionChunk.class);
        assertParity(SampleRecords.completion(), Completion.class);
        assertParity(SampleRecords.deadLetter(), DeadLetter.class);
    }

    @Test
    void jsonRoundTripsEveryType() {
        assertThat(jsonRoundTrip(SampleRecords.prompt(), PromptRequest.class)).isEqualTo(SampleRecords.prompt());
        assertThat(jsonRoundTrip(SampleRecords.chunk(), CompletionChunk.class)).isEqualTo(SampleRecords.chunk());
        assertThat(jsonRoundTrip(SampleRecords.completion(), Completion.class)).isEqualTo(SampleRecords.completion());
        assertThat(jsonRoundTrip(SampleRecords.deadLetter(), DeadLetter.class)).isEqualTo(SampleRecords.deadLetter());
    }

    @Test
    void jsonAndAvroDecodeToTheSameRecord() {
        RecordCodec<PromptRequest> avroOut = RecordCodec.of(PromptRequest.class, RecordFormat.AVRO);
        RecordCodec<PromptRequest> jsonOut = RecordCodec.of(PromptRequest.class, RecordFormat.JSON);
        PromptRequest fromAvro = jsonOut.decode(avroOut.encode(SampleRecords.prompt()));
        PromptRequest fromJson = avroOut.decode(jsonOut.encode(SampleRecords.prompt()));
        assertThat(fromJson).isEqualTo(fromAvro);
    }

    private static <T extends SpecificRecord> T jsonRoundTrip(T record, Class<T> type) {
        JsonCodec<T> codec = JsonCodec.of(type);
        return codec.decode(codec.encode(record));
    }

    private static <T extends SpecificRecord> void assertParity(T record, Class<T> type) {
        JsonCodec<T> codec = JsonCodec.of(type);
        assertSameNames(codec.toJson(record), codec.schema(), type.getSimpleName());
    }

    private static void assertSameNames(JsonNode node, Schema schema, String path) {
        if (schema.getType() == Schema.Type.UNION) {
            if (node.isNull()) {
                return;
            }
            for (Schema branch : schema.getTypes()) {
                if (branch.getType() == Schema.Type.RECORD || branch.getType() == Schema.Type.ARRAY) {
                    assertSameNames(node, branch, path);
                }
            }
            return;
        }
        if (schema.getType() == Schema.Type.ARRAY) {
            for (JsonNode item : node) {
                assertSameNames(item, schema.getElementType(), path + "[]");
            }
            return;
        }
        if (schema.getType() != Schema.Type.RECORD) {
            return;
        }
        List<String> jsonNames = new ArrayList<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            jsonNames.add(it.next());
        }
        List<String> avroNames =
                schema.getFields().stream().map(Schema.Field::name).toList();
        assertThat(jsonNames).as(path).containsExactlyElementsOf(avroNames);
        for (Schema.Field field : schema.getFields()) {
            assertSameNames(node.get(field.name()), field.schema(), path + "." + field.name());
        }
    }
}
