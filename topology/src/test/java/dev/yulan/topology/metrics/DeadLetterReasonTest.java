package dev.yulan.topology.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DeadLetterReasonTest {

    @Test
    void classifiesTheOperatorsReasons() {
        assertThat(DeadLetterReason.classify(
                        "neither Avro single-object encoding (marker C3 01) nor a JSON object: starts with 01 02"))
                .isEqualTo(DeadLetterReason.MALFORMED);
        assertThat(DeadLetterReason.classify("unreadable JSON: Unexpected end-of-input"))
                .isEqualTo(DeadLetterReason.MALFORMED);
        assertThat(DeadLetterReason.classify("unknown field 'max_token'")).isEqualTo(DeadLetterReason.MALFORMED);
        assertThat(DeadLetterReason.classify("record has no value (a tombstone)"))
                .isEqualTo(DeadLetterReason.MALFORMED);
        assertThat(DeadLetterReason.classify("unknown schema fingerprint 0x12 (not a known PromptRequest version)"))
                .isEqualTo(DeadLetterReason.UNKNOWN_SCHEMA);
        assertThat(DeadLetterReason.classify(
                        "the prompt has 600 tokens; the context holds 512 and at least one must be left to generate"))
                .isEqualTo(DeadLetterReason.PROMPT_TOO_LONG);
        assertThat(DeadLetterReason.classify("temperature 3 out of range [0, 2]"))
                .isEqualTo(DeadLetterReason.INVALID_REQUEST);
        assertThat(DeadLetterReason.classify(null)).isEqualTo(DeadLetterReason.OTHER);
    }
}
