package dev.yulan.inference.engine;

/** Why a generation ended, named as in the OpenAI API where one exists. */
public enum FinishReason {
    /** EOS, a stop token id or a stop string. */
    STOP,
    /** max tokens or the end of the context. */
    LENGTH,
    CANCELLED,
    ERROR;

    /** The wire name: {@code stop}, {@code length}, {@code cancelled}, {@code error}. */
    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
