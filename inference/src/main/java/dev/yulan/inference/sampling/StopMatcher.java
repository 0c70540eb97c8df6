package dev.yulan.inference.sampling;

import dev.yulan.inference.engine.SamplingParams;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Decides, token by token, which streamed text may be emitted and when generation stops. Text that could be the start
 * of a stop string is held back until it either completes the stop string (the output is cut before it; the stop
 * string is not emitted, as in the OpenAI API) or can no longer match (it is released). A stop token id or EOS id stops
 * generation too; its own text is not emitted. One per sequence; not thread-safe.
 */
public final class StopMatcher {
    private static final Emission NOTHING = new Emission("", false);

    private final List<String> stopStrings;
    private final Set<Integer> stopTokenIds;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;
    private String matched;

    /** What to emit for a token, and whether generation ends here (finish reason {@code stop}). */
    public record Emission(String text, boolean stop) {}

    public StopMatcher(List<String> stopStrings, Collection<Integer> stopTokenIds) {
        for (String stop : stopStrings) {
            if (stop.isEmpty()) {
                throw new IllegalArgumentException("stop strings must not be empty");
            }
        }
        this.stopStrings = List.copyOf(stopStrings);
        this.stopTokenIds = Set.copyOf(stopTokenIds);
    }

    /** A matcher for a request's stop strings and stop token ids plus the model's EOS ids. */
    public static StopMatcher of(SamplingParams params, Collection<Integer> eosTokenIds) {
        Set<Integer> ids = new HashSet<>(params.stopTokenIds());
        ids.addAll(eosTokenIds);
        return new StopMatcher(params.stop(), ids);
    }

    /** Whether {@code tokenId} ends generation by itself (a stop token id or EOS). */
    public boolean isStopToken(int tokenId) {
        return stopTokenIds.contains(tokenId);
    }

    /**
     * Feeds the next generated token and its text delta. Returns the text that may be emitted now (possibly empty) and
     * whether generation stops. After a stop, further tokens emit nothing.
     */
    public Emission accept(int tokenId, String textDelta) {
        if (stopped) {
            return NOTHING;
        }
        if (isStopToken(tokenId)) {
            stopped = true;
            return new Emission(drain(pending.length()), true);
        }
        return acceptText(textDelta);
    }

    /** Feeds text alone (no token id check); see {@link #accept}. */
    public Emission acceptText(String textDelta) {
        if (stopped) {
            return NOTHING;
        }
        if (textDelta.isEmpty()) {
            return NOTHING;
        }
        // The pending text before this delta matched no stop string, but any of it may start one.
        pending.append(textDelta);
        int cut = -1;
        for (String stop : stopStrings) {
            int at = pending.indexOf(stop);
            if (at >= 0 && (cut < 0 || at < cut)) {
                cut = at;
                matched = stop;
            }
        }
        if (cut >= 0) {
            stopped = true;
            String text = pending.substring(0, cut);
            pending.setLength(0);
            return new Emission(text, true);
        }
        int emit = pending.length() - heldBack();
        return emit == 0 ? NOTHING : new Emission(drain(emit), false);
    }

    /** Ends generation for another reason (length, cancellation): releases the held-back text. */
    public String finish() {
        stopped = true;
        return drain(pending.length());
    }

    public boolean stopped() {
        return stopped;
    }

    /** The stop string that ended generation, or null. */
    public String matchedStopString() {
        return matched;
    }

    /** Length of the longest suffix of the pending text that is a proper prefix of a stop string. */
    private int heldBack() {
        int longest = 0;
        for (String stop : stopStrings) {
            int max = Math.min(stop.length() - 1, pending.length());
            for (int len = max; len > longest; len--) {
                if (endsWithPrefix(stop, len)) {
                    longest = len;
                    break;
                }
            }
        }
        return longest;
    }

    private boolean endsWithPrefix(String stop, int len) {
        int start = pending.length() - len;
        for (int i = 0; i < len; i++) {
            if (pending.charAt(start + i) != stop.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private String drain(int length) {
        String text = pending.substring(0, length);
        pending.delete(0, length);
        return text;
    }
}
