package dev.yulan.inference.engine;

/** The {@code index}-th generated token of a request (0-based). {@code logprob} is NaN unless asked for. */
public record TokenEvent(String requestId, int index, int tokenId, String textDelta, float logprob) {}
