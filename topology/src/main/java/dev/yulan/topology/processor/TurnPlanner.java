package dev.yulan.topology.processor;

import dev.yulan.inference.engine.ChatMessage;
import dev.yulan.inference.engine.Prompt;
import dev.yulan.inference.engine.SamplingParams;
import dev.yulan.schemas.Message;
import dev.yulan.schemas.PromptRequest;
import java.util.List;

/**
 * Turns an accepted request into what the engine runs, at the moment it is submitted (after every earlier request of
 * its conversation has finished, so the history is complete). The rule, as documented on {@code PromptRequest}:
 * {@code prompt} is plain text, standalone; {@code messages} continue the history when {@code continuation} is true,
 * start over when it is false, and when it is absent continue exactly when the conversation has history and every
 * message is a {@code user} message.
 */
public final class TurnPlanner {
    private TurnPlanner() {}

    /**
     * @param history the conversation's token ids so far, or null if it has none
     * @throws RejectedInputException for a continuation of a conversation without history
     */
    public static Prompt prompt(PromptRequest request, int[] history) {
        if (request.getPrompt() != null) {
            return new Prompt.Text(request.getPrompt());
        }
        List<ChatMessage> messages = request.getMessages().stream()
                .map(m -> new ChatMessage(m.getRole(), m.getContent()))
                .toList();
        Boolean continuation = request.getContinuation();
        boolean continues = Boolean.TRUE.equals(continuation)
                || (continuation == null && history != null && allUser(request.getMessages()));
        if (!continues) {
            return new Prompt.Chat(messages);
        }
        if (history == null) {
            throw new RejectedInputException(
                    "unknown conversation '" + request.getConversationId() + "': no history to continue",
                    request.getRequestId());
        }
        return new Prompt.Continue(history, messages);
    }

    /** Whether a finished request's tokens become the conversation's history (chat turns do, plain text does not). */
    public static boolean writesHistory(PromptRequest request) {
        return request.getMessages() != null;
    }

    /** The engine's sampling parameters, neutral values for what the request leaves out. */
    public static SamplingParams sampling(PromptRequest r) {
        return new SamplingParams(
                orDefault(r.getTemperature(), 1f),
                r.getTopK() != null ? r.getTopK() : 0,
                orDefault(r.getTopP(), 1f),
                orDefault(r.getMinP(), 0f),
                orDefault(r.getRepetitionPenalty(), 1f),
                orDefault(r.getPresencePenalty(), 0f),
                orDefault(r.getFrequencyPenalty(), 0f),
                r.getSeed(),
                r.getMaxTokens(),
                r.getStop(),
                List.of(),
                false);
    }

    private static boolean allUser(List<Message> messages) {
        return messages.stream().allMatch(m -> m.getRole().equals("user"));
    }

    private static float orDefault(Float value, float fallback) {
        return value != null ? value : fallback;
    }
}
