package dev.yulan.inference.model;

/**
 * Linear RoPE scaling ({@code rope_scaling: {"type": "linear", "factor": f}}): positions are divided by {@code factor}
 * before the rotation angles are computed. Other scaling types are rejected when the config is read.
 */
public record RopeScaling(double factor) {

    public RopeScaling {
        if (!(factor > 0)) {
            throw new IllegalArgumentException("rope_scaling factor must be positive, got " + factor);
        }
    }
}
