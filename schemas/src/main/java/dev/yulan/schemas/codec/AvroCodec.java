package dev.yulan.schemas.codec;

import java.io.IOException;
import java.nio.ByteBuffer;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.message.BadHeaderException;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.MissingSchemaException;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;

/**
 * Avro single-object encoding of one record type: a 2-byte marker (C3 01), the writer schema's 8-byte CRC-64-AVRO
 * fingerprint, then the binary datum. Reading resolves any known version ({@link SchemaVersions#store()}) to the
 * current one. Thread-safe.
 */
public final class AvroCodec<T extends SpecificRecord> {

    /** The first two bytes of every single-object encoded record. */
    public static final byte MARKER_0 = (byte) 0xC3;

    public static final byte MARKER_1 = (byte) 0x01;

    private final Schema schema;
    private final BinaryMessageEncoder<T> encoder;
    private final BinaryMessageDecoder<T> decoder;

    private AvroCodec(Class<T> type) {
        SpecificData model = new KnownRecords();
        this.schema = model.getSchema(type);
        this.encoder = new BinaryMessageEncoder<>(model, schema);
        this.decoder = new BinaryMessageDecoder<>(model, schema, SchemaVersions.store());
    }

    public static <T extends SpecificRecord> AvroCodec<T> of(Class<T> type) {
        return new AvroCodec<>(type);
    }

    public Schema schema() {
        return schema;
    }

    public byte[] encode(T record) {
        try {
            ByteBuffer buffer = encoder.encode(record);
            byte[] bytes = new byte[buffer.remaining()];
            buffer.get(bytes);
            return bytes;
        } catch (IOException | AvroRuntimeException | NullPointerException | ClassCastException e) {
            throw new RecordFormatException("cannot encode " + schema.getName() + ": " + oneLine(e), e);
        }
    }

    public T decode(byte[] bytes) {
        try {
            return decoder.decode(bytes);
        } catch (MissingSchemaException e) {
            throw new RecordFormatException(
                    "unknown schema fingerprint " + fingerprintOf(bytes) + " (not a known " + schema.getName()
                            + " version)",
                    e);
        } catch (BadHeaderException e) {
            throw new RecordFormatException("not Avro single-object encoding: " + oneLine(e), e);
        } catch (IOException | RuntimeException e) {
            throw new RecordFormatException(
                    "corrupt Avro " + schema.getName() + " record (" + bytes.length + " bytes): " + oneLine(e), e);
        }
    }

    /** Whether the bytes start with the single-object marker. */
    public static boolean looksLikeAvro(byte[] bytes) {
        return bytes != null && bytes.length >= 2 && bytes[0] == MARKER_0 && bytes[1] == MARKER_1;
    }

    /** The fingerprint this codec writes. */
    public long fingerprint() {
        return SchemaNormalization.parsingFingerprint64(schema);
    }

    private static String fingerprintOf(byte[] bytes) {
        if (bytes.length < 10) {
            return "(truncated header)";
        }
        long fingerprint = ByteBuffer.wrap(bytes, 2, 8)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .getLong();
        return String.format("%016x", fingerprint);
    }

    static String oneLine(Throwable e) {
        String message = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
