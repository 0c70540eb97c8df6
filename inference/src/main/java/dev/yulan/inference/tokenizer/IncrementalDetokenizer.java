package dev.yulan.inference.tokenizer;

import java.util.Arrays;

/**
 * Turns one sequence's token ids, fed one at a time, into text deltas that never end in half a character.
 *
 * <p>A token's text depends on its neighbours: SentencePiece's "▁" becomes a space except at the very start, and a
 * character may be spread over several byte tokens ({@code <0xE4><0xBD><0xA0>}, or byte-level BPE pieces). So, as in
 * Hugging Face text-generation-inference and vLLM, each step decodes a short window (a few tokens already emitted plus
 * the ones not yet emitted) and emits what the window's text adds to the text of its already-emitted part, unless that
 * ends in U+FFFD (an incomplete UTF-8 sequence), in which case it waits for more tokens. {@link #flush()} emits what is
 * left at the end, even an incomplete character, so that the concatenation of all deltas equals
 * {@link Tokenizer#decode(int[], boolean)} of all ids. A BOS at the very start is never part of the text.
 *
 * <p>Not thread-safe: one instance per sequence.
 */
public final class IncrementalDetokenizer {

    /** Tokens of context decoded before the unemitted ones, as in vLLM (enough for "▁" and byte sequences). */
    private static final int WINDOW_CONTEXT = 5;

    private final Tokenizer tokenizer;
    private final boolean skipSpecialTokens;
    private int[] ids = new int[64];
    private int count;
    private int prefixOffset;
    private int readOffset;
    private boolean started;

    /** A detokenizer for a sequence that starts here; special tokens are left out of the text. */
    public IncrementalDetokenizer(Tokenizer tokenizer) {
        this(tokenizer, new int[0], true);
    }

    /**
     * A detokenizer for text that follows {@code contextIds} (usually the tail of the prompt), so that e.g. the first
     * generated "▁word" becomes " word". The context itself is not emitted.
     */
    public IncrementalDetokenizer(Tokenizer tokenizer, int[] contextIds, boolean skipSpecialTokens) {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
        for (int id : contextIds) {
            append(id);
        }
        this.readOffset = count;
        this.prefixOffset = Math.max(0, count - WINDOW_CONTEXT);
    }

    /** Feeds the next token id; returns the new text, possibly empty. */
    public String add(int id) {
        append(id);
        return emit(false);
    }

    /** Emits whatever is still held back (an incomplete character becomes U+FFFD); call once at the end. */
    public String flush() {
        return emit(true);
    }

    private void append(int id) {
        if (!started) {
            started = true;
            if (id == tokenizer.bosId()) {
                return;
            }
        }
        if (count == ids.length) {
            ids = Arrays.copyOf(ids, count * 2);
        }
        ids[count++] = id;
    }

    private String emit(boolean atEnd) {
        if (readOffset == count) {
            return "";
        }
        String emitted = tokenizer.decode(ids, prefixOffset, readOffset, skipSpecialTokens);
        String window = tokenizer.decode(ids, prefixOffset, count, skipSpecialTokens);
        if (!atEnd && (window.length() <= emitted.length() || window.endsWith("\uFFFD"))) {
            return "";
        }
        // The window starts with the already-emitted tokens, so its text starts with their text (same decoder
        // input at the start); what follows is new.
        String delta = window.length() > emitted.length() ? window.substring(emitted.length()) : "";
        prefixOffset = readOffset;
        readOffset = count;
        return delta;
    }
}
