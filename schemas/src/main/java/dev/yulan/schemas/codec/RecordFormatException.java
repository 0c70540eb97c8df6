package dev.yulan.schemas.codec;

/** Bytes that are not a readable record; the message is one line saying why (fit for a dead letter). */
public final class RecordFormatException extends RuntimeException {
    public RecordFormatException(String reason) {
        super(reason);
    }

    public RecordFormatException(String reason, Throwable cause) {
        super(reason, cause);
    }
}
