package dev.yulan.inference.scheduler;

import dev.yulan.inference.cache.BlockTable;
import dev.yulan.inference.engine.FinishReason;
import dev.yulan.inference.engine.GenerationListener;
import dev.yulan.inference.engine.GenerationRequest;
import dev.yulan.inference.engine.GenerationResult;
import dev.yulan.inference.engine.TokenEvent;
import dev.yulan.inference.sampling.Sampler;
import dev.yulan.inference.sampling.SamplingState;
import dev.yulan.inference.sampling.StopMatcher;
import dev.yulan.inference.tokenizer.IncrementalDetokenizer;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

/**
 * One request inside the scheduler: its tokens (prompt, then generated), its KV block table while admitted, and what
 * it has emitted. Owned by the scheduler thread.
 */
final class Sequence {

    enum State {
        WAITING,
        RUNNING,
        FINISHED
    }

    final GenerationRequest request;
    final GenerationListener listener;
    final CompletableFuture<GenerationResult> result = new CompletableFuture<>();
    private final SamplingState sampling;
    private final IncrementalDetokenizer detokenizer;
    private final StopMatcher stopMatcher;
    private final StringBuilder emitted = new StringBuilder();
    private final int[] turnClosing;
    private boolean stopHit;
    final long submitNanos;

    private int[] tokens;
    private int length;
    private final int promptLength;
    private int generated;
    private int cachedTokens = -1;
    private long admitNanos;
    private long firstTokenNanos;
    State state = State.WAITING;
    BlockTable table;
    long admissionOrder;

    /**
     * @param turnClosing the tokens the chat template writes after an assistant message (e.g. EOS, or
     *     {@code <|im_end|>\n}): they end {@link GenerationResult#conversationTokens()} in place of the stop token, so
     *     that a next turn continues a well-formed conversation
     */
    Sequence(
            GenerationRequest request,
            int[] promptTokens,
            GenerationListener listener,
            SamplingState sampling,
            IncrementalDetokenizer detokenizer,
            StopMatcher stopMatcher,
            int[] turnClosing) {
        this.request = request;
        this.listener = listener;
        this.sampling = sampling;
        this.detokenizer = detokenizer;
        this.stopMatcher = stopMatcher;
        this.turnClosing = turnClosing;
        this.tokens = Arrays.copyOf(promptTokens, Math.max(16, promptTokens.length * 2));
        this.length = promptTokens.length;
        this.promptLength = promptTokens.length;
        this.submitNanos = System.nanoTime();
    }

    int shard() {
        return request.shard();
    }

    int length() {
        return length;
    }

    int token(int position) {
        return tokens[position];
    }

    /** The token ids so far; the array may be longer than {@link #length()}. */
    int[] tokenArray() {
        return tokens;
    }

    int promptLength() {
        return promptLength;
    }

    int generated() {
        return generated;
    }

    /** Positions whose KV is in the cache. */
    int computed() {
        return table == null ? 0 : table.tokens();
    }

    /** Positions still to run before the next token can be sampled. */
    int pending() {
        return length - computed();
    }

    void admitted(BlockTable table, long order) {
        this.table = table;
        this.admissionOrder = order;
        this.state = State.RUNNING;
        if (admitNanos == 0) {
            admitNanos = System.nanoTime();
        }
        if (cachedTokens < 0) {
            cachedTokens = table.tokens();
        }
    }

    /** Preemption by recompute: the blocks go back, the tokens stay, and the sequence waits to be run again. */
    void preempted() {
        table.release();
        table = null;
        state = State.WAITING;
    }

    /**
     * Samples the next token from {@code logits[off .. off+vocab)}, appends it, and forwards it with its text delta to
     * the listener. The draw depends only on the seed and the number of tokens generated so far.
     */
    void sampleAndAppend(Sampler sampler, float[] logits, int off, int vocab) {
        int token = sampler.sample(logits, off, vocab, generated, sampling);
        float logprob = request.sampling().logprobs() ? Sampler.logprob(logits, off, vocab, token) : Float.NaN;
        sampling.accept(token);
        if (length == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[length++] = token;
        if (generated++ == 0) {
            firstTokenNanos = System.nanoTime();
        }
        String delta = stopMatcher.isStopToken(token) ? "" : detokenizer.add(token);
        StopMatcher.Emission emission = stopMatcher.accept(token, delta);
        emitted.append(emission.text());
        stopHit |= emission.stop();
        listener.onToken(new TokenEvent(request.requestId(), generated - 1, token, emission.text(), logprob));
    }

    /** Why this sequence must end now, or null to go on. */
    FinishReason finishReason(int maxContext) {
        if (stopHit) {
            return FinishReason.STOP;
        }
        if (generated >= request.sampling().maxTokens() || length >= maxContext) {
            return FinishReason.LENGTH;
        }
        return null;
    }

    /**
     * The prompt and generated tokens, with the turn closed as the chat template closes an assistant turn. A final stop
     * token is replaced by the closing tokens (it was sampled but never run, so the cached KV stays a prefix).
     */
    private int[] conversationTokens() {
        int kept = length > promptLength && stopMatcher.isStopToken(tokens[length - 1]) ? length - 1 : length;
        int[] out = Arrays.copyOf(tokens, kept + turnClosing.length);
        System.arraycopy(turnClosing, 0, out, kept, turnClosing.length);
        return out;
    }

    /** Ends the sequence: releases its KV blocks and delivers the result, exactly once. */
    void finish(FinishReason reason, String error) {
        if (state == State.FINISHED) {
            return;
        }
        state = State.FINISHED;
        if (table != null) {
            table.release();
            table = null;
        }
        long now = System.nanoTime();
        if (!stopHit) {
            // Release what the detokenizer and the stop matcher still hold: it ends the text.
            emitted.append(stopMatcher.acceptText(detokenizer.flush()).text());
            if (!stopMatcher.stopped()) {
                emitted.append(stopMatcher.finish());
            }
        }
        GenerationResult r = new GenerationResult(
                request.requestId(),
                emitted.toString(),
                reason,
                promptLength,
                Math.max(0, cachedTokens),
                generated,
                conversationTokens(),
                admitNanos == 0 ? now - submitNanos : admitNanos - submitNanos,
                firstTokenNanos == 0 ? 0 : firstTokenNanos - submitNanos,
                now - submitNanos,
                error);
        try {
            listener.onComplete(r);
        } finally {
            result.complete(r);
        }
    }
}
