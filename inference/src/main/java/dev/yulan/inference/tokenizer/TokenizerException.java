package dev.yulan.inference.tokenizer;

/** A model directory's tokenizer files are missing or unusable; the message is one line naming the file and the cause. */
public final class TokenizerException extends RuntimeException {
    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
