package dev.yulan.topology.processor;

import dev.yulan.schemas.Message;
import dev.yulan.schemas.PromptRequest;
import dev.yulan.schemas.codec.RecordCodec;
import dev.yulan.schemas.codec.RecordFormat;
import dev.yulan.schemas.codec.RecordFormatException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

/**
 * Reads a prompt record's bytes (Avro or JSON) and checks everything that can be checked without the engine, filling in
 * the request id and conversation id. Whatever is wrong becomes a {@link RejectedInputException} with a one-line
 * reason.
 */
public final class PromptReader {

    public static final Set<String> ROLES = Set.of("system", "user", "assistant", "tool");
    static final int MAX_ID_LENGTH = 512;
    static final int MAX_STOP_STRINGS = 16;

    private final RecordCodec<PromptRequest> codec = RecordCodec.of(PromptRequest.class, RecordFormat.AVRO);
    private final int defaultMaxTokens;
    private final int maxTokensLimit;

    /** {@code maxTokensLimit} is the smaller of the configured limit and the model's context length. */
    public PromptReader(int defaultMaxTokens, int maxTokensLimit) {
        this.defaultMaxTokens = defaultMaxTokens;
        this.maxTokensLimit = maxTokensLimit;
    }

    public AcceptedPrompt read(byte[] key, byte[] value, String topic, int partition, long offset) {
        if (value == null) {
            throw new RejectedInputException("record has no value (a tombstone)");
        }
        PromptRequest request;
        try {
            request = codec.decode(value);
        } catch (RecordFormatException e) {
            throw new RejectedInputException(e.getMessage());
        }
        String requestId =
                request.getRequestId() != null ? request.getRequestId() : topic + "-" + partition + "-" + offset;
        checkId("request_id", requestId, null);
        String keyId = key == null || key.length == 0 ? null : utf8(key, requestId);
        String conversationId = request.getConversationId();
        if (conversationId != null && keyId != null && !conversationId.equals(keyId)) {
            throw new RejectedInputException(
                    "conversation_id '" + conversationId + "' differs from the record key '" + keyId + "'", requestId);
        }
        if (conversationId == null) {
            conversationId = keyId != null ? keyId : requestId;
        }
        checkId("conversation_id", conversationId, requestId);
        validate(request, requestId);
        // Filled in place: the generated copy builder deep-copies through a model Avro's class security refuses.
        request.setRequestId(requestId);
        request.setConversationId(conversationId);
        if (request.getMaxTokens() == null) {
            request.setMaxTokens(defaultMaxTokens);
        }
        return new AcceptedPrompt(requestId, conversationId, request);
    }

    private void validate(PromptRequest r, String requestId) {
        boolean hasPrompt = r.getPrompt() != null;
        boolean hasMessages = r.getMessages() != null;
        if (hasPrompt && hasMessages) {
            reject("give either prompt or messages, not both", requestId);
        }
        if (!hasPrompt && !hasMessages) {
            reject("missing prompt or messages", requestId);
        }
        if (hasPrompt && r.getPrompt().isEmpty()) {
            reject("empty prompt", requestId);
        }
        if (hasPrompt && Boolean.TRUE.equals(r.getContinuation())) {
            reject("continuation needs messages, not prompt", requestId);
        }
        if (hasMessages) {
            List<Message> messages = r.getMessages();
            if (messages.isEmpty()) {
                reject("empty messages", requestId);
            }
            for (int i = 0; i < messages.size(); i++) {
                if (!ROLES.contains(messages.get(i).getRole())) {
                    reject(
                            "messages[" + i + "].role '" + messages.get(i).getRole()
                                    + "' is not one of system, user, assistant, tool",
                            requestId);
                }
            }
            if (messages.stream().allMatch(m -> m.getContent().isEmpty())) {
                reject("empty prompt (every message is empty)", requestId);
            }
        }
        if (r.getMaxTokens() != null && (r.getMaxTokens() < 1 || r.getMaxTokens() > maxTokensLimit)) {
            reject("max_tokens " + r.getMaxTokens() + " out of range [1, " + maxTokensLimit + "]", requestId);
        }
        range("temperature", r.getTemperature(), 0f, 2f, requestId);
        if (r.getTopP() != null && !(r.getTopP() > 0f && r.getTopP() <= 1f)) {
            reject("top_p " + r.getTopP() + " out of range (0, 1]", requestId);
        }
        if (r.getTopK() != null && r.getTopK() < 0) {
            reject("top_k " + r.getTopK() + " is negative", requestId);
        }
        range("min_p", r.getMinP(), 0f, 1f, requestId);
        range("presence_penalty", r.getPresencePenalty(), -2f, 2f, requestId);
        range("frequency_penalty", r.getFrequencyPenalty(), -2f, 2f, requestId);
        if (r.getRepetitionPenalty() != null && !(r.getRepetitionPenalty() > 0f && r.getRepetitionPenalty() <= 10f)) {
            reject("repetition_penalty " + r.getRepetitionPenalty() + " out of range (0, 10]", requestId);
        }
        if (r.getStop() != null) {
            if (r.getStop().size() > MAX_STOP_STRINGS) {
                reject("more than " + MAX_STOP_STRINGS + " stop strings", requestId);
            }
            if (r.getStop().stream().anyMatch(String::isEmpty)) {
                reject("empty stop string", requestId);
            }
        }
    }

    private static void range(String name, Float value, float min, float max, String requestId) {
        if (value != null && !(value >= min && value <= max)) {
            reject(name + " " + value + " out of range [" + format(min) + ", " + format(max) + "]", requestId);
        }
    }

    private static String format(float f) {
        return f == Math.rint(f) ? Integer.toString((int) f) : Float.toString(f);
    }

    private static void checkId(String name, String id, String requestId) {
        if (id.isEmpty()) {
            reject(name + " is empty", requestId);
        }
        if (id.length() > MAX_ID_LENGTH) {
            reject(name + " longer than " + MAX_ID_LENGTH + " characters", requestId);
        }
        if (id.indexOf('\u0000') >= 0) {
            reject(name + " contains a NUL character", requestId);
        }
    }

    private static String utf8(byte[] key, String requestId) {
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(key))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new RejectedInputException("record key is not UTF-8 text", requestId);
        }
    }

    private static void reject(String reason, String requestId) {
        throw new RejectedInputException(reason, requestId);
    }
}
