package dev.yulan.schemas.codec;

import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * A Kafka serde for clients of the operator's topics: writes the configured format, reads either. A null value (a
 * tombstone) maps to null both ways.
 */
public final class RecordSerde<T extends SpecificRecord> implements Serde<T> {

    private final RecordCodec<T> codec;

    private RecordSerde(RecordCodec<T> codec) {
        this.codec = codec;
    }

    public static <T extends SpecificRecord> RecordSerde<T> of(Class<T> type, RecordFormat outputFormat) {
        return new RecordSerde<>(RecordCodec.of(type, outputFormat));
    }

    @Override
    public Serializer<T> serializer() {
        return (topic, record) -> record == null ? null : codec.encode(record);
    }

    @Override
    public Deserializer<T> deserializer() {
        return (topic, bytes) -> bytes == null ? null : codec.decode(bytes);
    }
}
