package dev.yulan.inference.engine;

import java.util.List;

/** What to generate from. */
public sealed interface Prompt {

    /** Plain text completion; BOS is added as the tokenizer config says. An empty text starts from BOS alone. */
    record Text(String text) implements Prompt {}

    /** A whole conversation rendered with the model's chat template, ending with the generation prompt. */
    record Chat(List<ChatMessage> messages) implements Prompt {
        public Chat {
            messages = List.copyOf(messages);
        }
    }

    /** Token ids as given, nothing added. */
    record Tokens(int[] ids) implements Prompt {}

    /**
     * The next turn of a conversation: {@code history} are the token ids of every earlier turn exactly as the engine
     * saw and produced them ({@link GenerationResult#conversationTokens()}), {@code messages} the new messages (usually
     * one user message), rendered with the chat template as a continuation and appended.
     */
    record Continue(int[] history, List<ChatMessage> messages) implements Prompt {
        public Continue {
            messages = List.copyOf(messages);
        }
    }
}
