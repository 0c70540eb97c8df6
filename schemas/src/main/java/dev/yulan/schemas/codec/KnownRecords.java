package dev.yulan.schemas.codec;

import dev.yulan.schemas.Completion;
import dev.yulan.schemas.CompletionChunk;
import dev.yulan.schemas.DeadLetter;
import dev.yulan.schemas.Message;
import dev.yulan.schemas.PromptRequest;
import dev.yulan.schemas.Timings;
import dev.yulan.schemas.Usage;
import dev.yulan.schemas.state.ConversationHistory;
import dev.yulan.schemas.state.InflightRequest;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;

/**
 * The specific data model of this module's generated records. Avro 1.12 refuses to load record classes by name unless
 * they are trusted through a JVM-wide system property or global; resolving our own classes directly avoids both.
 */
final class KnownRecords extends SpecificData {

    private static final List<Class<?>> CLASSES = List.of(
            PromptRequest.class,
            Message.class,
            CompletionChunk.class,
            Completion.class,
            Usage.class,
            Timings.class,
            DeadLetter.class,
            InflightRequest.class,
            ConversationHistory.class);

    private final Map<String, Class<?>> byName;

    KnownRecords() {
        this.byName = CLASSES.stream().collect(Collectors.toUnmodifiableMap(Class::getName, Function.identity()));
    }

    @Override
    @SuppressWarnings("rawtypes")
    public Class getClass(Schema schema) {
        if (schema.getType() == Schema.Type.RECORD) {
            Class<?> known = byName.get(schema.getFullName());
            if (known != null) {
                return known;
            }
        }
        return super.getClass(schema);
    }
}
