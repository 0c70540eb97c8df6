package dev.yulan.topology.processor;

import dev.yulan.inference.engine.GenerationListener;
import dev.yulan.inference.engine.GenerationResult;
import dev.yulan.inference.engine.TokenEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * One task's mailbox: engine threads put token events and completions in, the task's stream thread takes them out in
 * its punctuator ({@code ProcessorContext} must only be used on that thread). After {@link #close()} events are
 * dropped: they belong to a task that is gone.
 */
final class EngineEvents {

    sealed interface Event {
        Submission submission();
    }

    record Token(Submission submission, TokenEvent token) implements Event {}

    record Done(Submission submission, GenerationResult result) implements Event {}

    private final ConcurrentLinkedQueue<Event> queue = new ConcurrentLinkedQueue<>();
    private volatile boolean closed;

    GenerationListener listenerFor(Submission submission) {
        return new GenerationListener() {
            @Override
            public void onToken(TokenEvent event) {
                if (!closed) {
                    queue.add(new Token(submission, event));
                }
            }

            @Override
            public void onComplete(GenerationResult result) {
                if (!closed) {
                    queue.add(new Done(submission, result));
                }
            }
        };
    }

    /** Everything queued so far, in arrival order. */
    List<Event> drain() {
        List<Event> events = new ArrayList<>();
        for (Event event; (event = queue.poll()) != null; ) {
            events.add(event);
        }
        return events;
    }

    void close() {
        closed = true;
        queue.clear();
    }
}
