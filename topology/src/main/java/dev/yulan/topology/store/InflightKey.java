package dev.yulan.topology.store;

import java.util.Objects;

/**
 * Key of the inflight store: the conversation id, a NUL separator, then the request's input offset as 20 digits. Keys
 * sort by conversation, then by arrival (offsets of one partition increase), so a prefix scan lists a conversation's
 * requests in order; NUL sorts before every other character, so each conversation's keys are contiguous.
 */
public record InflightKey(String conversationId, long offset) {

    static final char SEPARATOR = '\u0000';

    public InflightKey {
        Objects.requireNonNull(conversationId, "conversationId");
        if (conversationId.indexOf(SEPARATOR) >= 0) {
            throw new IllegalArgumentException("conversation id contains NUL");
        }
        if (offset < 0) {
            throw new IllegalArgumentException("negative offset " + offset);
        }
    }

    public String encode() {
        return prefix(conversationId) + String.format("%020d", offset);
    }

    public static InflightKey decode(String key) {
        int separator = key.lastIndexOf(SEPARATOR);
        if (separator < 0) {
            throw new IllegalArgumentException("not an inflight key: " + key);
        }
        return new InflightKey(key.substring(0, separator), Long.parseLong(key.substring(separator + 1)));
    }

    /** The prefix shared by every key of a conversation. */
    public static String prefix(String conversationId) {
        return conversationId + SEPARATOR;
    }
}
