package dev.yulan.inference.engine;

/** The served model as clients see it. */
public record ModelInfo(String id, int contextLength, int vocabSize) {}
