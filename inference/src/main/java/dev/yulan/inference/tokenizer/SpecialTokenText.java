package dev.yulan.inference.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

/** Reads a special-token entry of {@code tokenizer_config.json}, which is either a string or {@code {content: ...}}. */
final class SpecialTokenText {
    private SpecialTokenText() {}

    /** The token's text, or null when the entry is absent, null, or has no content. */
    static String of(JsonNode entry) {
        if (entry == null || entry.isNull() || entry.isMissingNode()) {
            return null;
        }
        if (entry.isTextual()) {
            return entry.asText();
        }
        JsonNode content = entry.get("content");
        return content != null && content.isTextual() ? content.asText() : null;
    }
}
