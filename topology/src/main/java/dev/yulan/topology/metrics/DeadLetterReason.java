package dev.yulan.topology.metrics;

import java.util.Locale;

/**
 * Why input went to the dead-letter topic, as a small fixed set so the metric's label has bounded cardinality.
 * The detailed reason travels in the dead-letter record itself.
 */
public enum DeadLetterReason {
    /** Bytes that decode as neither a known Avro schema nor JSON. */
    MALFORMED,
    /** Avro single-object encoding with a schema fingerprint nobody knows. */
    UNKNOWN_SCHEMA,
    /** Decodes, but fields are missing or out of range (empty prompt, absurd sampling parameters). */
    INVALID_REQUEST,
    /** The prompt does not fit the model's context. */
    PROMPT_TOO_LONG,
    /** Too many requests already waiting on this instance. */
    OVERLOADED,
    /** The engine failed the request. */
    ENGINE_ERROR,
    OTHER;

    /** The label value: {@code malformed}, {@code unknown_schema}, ... */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The category with this name (any case, {@code -} or {@code _}), or {@link #OTHER}. */
    public static DeadLetterReason fromName(String name) {
        if (name == null) {
            return OTHER;
        }
        String normalized = name.trim().replace('-', '_').toUpperCase(Locale.ROOT);
        for (DeadLetterReason reason : values()) {
            if (reason.name().equals(normalized)) {
                return reason;
            }
        }
        return OTHER;
    }

    /**
     * The category of a dead letter's one-line reason, as the operator writes them: records that do not decode (or do
     * not match the schema) are {@link #MALFORMED} or {@link #UNKNOWN_SCHEMA}, a prompt beyond the context {@link #PROMPT_TOO_LONG}, everything else the
     * reader or the engine refuses {@link #INVALID_REQUEST}.
     */
    public static DeadLetterReason classify(String reason) {
        if (reason == null || reason.isBlank()) {
            return OTHER;
        }
        String text = reason.toLowerCase(Locale.ROOT);
        if (text.contains("unknown schema fingerprint")) {
            return UNKNOWN_SCHEMA;
        }
        if (text.contains("the context holds") || text.contains("longer than the context")) {
            return PROMPT_TOO_LONG;
        }
        if (text.contains("neither avro")
                || text.contains("not avro single-object")
                || text.contains("unknown field '")
                || text.contains("missing required field '")
                || text.contains("must not be null")
                || text.contains("corrupt avro")
                || text.contains("unreadable json")
                || text.contains("empty json")
                || text.contains("expected a json object")
                || text.contains("empty record value")
                || text.contains("tombstone")
                || text.contains("not utf-8")
                || text.contains("not valid base64")) {
            return MALFORMED;
        }
        return INVALID_REQUEST;
    }
}
