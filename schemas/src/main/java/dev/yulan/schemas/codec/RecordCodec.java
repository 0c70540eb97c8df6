package dev.yulan.schemas.codec;

import org.apache.avro.specific.SpecificRecord;

/**
 * Reads a record type in either format (Avro single-object encoding is recognised by its marker, anything else is read
 * as JSON) and writes it in the configured one. Thread-safe.
 */
public final class RecordCodec<T extends SpecificRecord> {

    private final AvroCodec<T> avro;
    private final JsonCodec<T> json;
    private final RecordFormat outputFormat;

    private RecordCodec(Class<T> type, RecordFormat outputFormat) {
        this.avro = AvroCodec.of(type);
        this.json = JsonCodec.of(type);
        this.outputFormat = outputFormat;
    }

    public static <T extends SpecificRecord> RecordCodec<T> of(Class<T> type, RecordFormat outputFormat) {
        return new RecordCodec<>(type, outputFormat);
    }

    public RecordFormat outputFormat() {
        return outputFormat;
    }

    public byte[] encode(T record) {
        return outputFormat == RecordFormat.AVRO ? avro.encode(record) : json.encode(record);
    }

    /** Decodes Avro or JSON; a one-line {@link RecordFormatException} for anything else. */
    public T decode(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            throw new RecordFormatException("empty record value");
        }
        if (AvroCodec.looksLikeAvro(bytes)) {
            return avro.decode(bytes);
        }
        if (startsLikeJsonObject(bytes)) {
            return json.decode(bytes);
        }
        throw new RecordFormatException(
                "neither Avro single-object encoding (marker C3 01) nor a JSON object: starts with " + hexHead(bytes));
    }

    private static boolean startsLikeJsonObject(byte[] bytes) {
        int i = 0;
        // UTF-8 byte order mark
        if (bytes.length >= 3 && bytes[0] == (byte) 0xEF && bytes[1] == (byte) 0xBB && bytes[2] == (byte) 0xBF) {
            i = 3;
        }
        while (i < bytes.length && (bytes[i] == ' ' || bytes[i] == '\t' || bytes[i] == '\r' || bytes[i] == '\n')) {
            i++;
        }
        return i < bytes.length && bytes[i] == '{';
    }

    private static String hexHead(byte[] bytes) {
        StringBuilder hex = new StringBuilder();
        for (int i = 0; i < Math.min(8, bytes.length); i++) {
            hex.append(String.format("%02x", bytes[i] & 0xff));
        }
        return hex + (bytes.length > 8 ? "..." : "");
    }
}
