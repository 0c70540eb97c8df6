package dev.yulan.schemas.codec;

import java.util.Locale;

/** How records are written: Avro single-object encoding, or JSON with the same field names. */
public enum RecordFormat {
    AVRO,
    JSON;

    /** Parses {@code avro} or {@code json} (any case). */
    public static RecordFormat parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown record format '" + name + "' (expected avro or json)");
        }
    }

    /** The configuration name: {@code avro} or {@code json}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
