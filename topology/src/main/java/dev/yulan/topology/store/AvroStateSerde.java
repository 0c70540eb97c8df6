package dev.yulan.topology.store;

import dev.yulan.schemas.codec.AvroCodec;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/** Store values in Avro single-object encoding, so state written by an older operator still reads. */
public final class AvroStateSerde<T extends SpecificRecord> implements Serde<T> {

    private final AvroCodec<T> codec;

    public AvroStateSerde(Class<T> type) {
        this.codec = AvroCodec.of(type);
    }

    @Override
    public Serializer<T> serializer() {
        return (topic, value) -> value == null ? null : codec.encode(value);
    }

    @Override
    public Deserializer<T> deserializer() {
        return (topic, bytes) -> bytes == null ? null : codec.decode(bytes);
    }
}
