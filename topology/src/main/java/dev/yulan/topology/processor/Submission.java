package dev.yulan.topology.processor;

import dev.yulan.topology.store.InflightKey;
import java.util.ArrayList;
import java.util.List;

/**
 * A request as submitted to the engine by this task: where it lives in the inflight store, and how much of it has been
 * sent as chunks. Only the task's stream thread touches the mutable part; listeners only carry the reference, which
 * also tells events of an earlier submission (before a restart) from current ones.
 */
final class Submission {
    final String requestId;
    final InflightKey key;
    final boolean stream;
    final boolean writesHistory;
    /** Tokens already forwarded as chunks (tokens with a lower index are skipped when generated again). */
    int emittedTokens;

    int nextSeq;
    /**
     * Characters of text the engine has delivered with this submission's tokens, skipped ones included (a resubmission
     * delivers every token again): what the final text holds beyond it was held back (a partial stop string, an
     * incomplete character) and goes into the last chunk.
     */
    int deliveredChars;

    final List<Integer> pendingTokenIds = new ArrayList<>();
    final StringBuilder pendingText = new StringBuilder();

    Submission(
            String requestId, InflightKey key, boolean stream, boolean writesHistory, int emittedTokens, int nextSeq) {
        this.requestId = requestId;
        this.key = key;
        this.stream = stream;
        this.writesHistory = writesHistory;
        this.emittedTokens = emittedTokens;
        this.nextSeq = nextSeq;
    }
}
