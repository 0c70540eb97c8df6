package dev.yulan.topology.metrics;

import java.util.Objects;

/** Whether the instance can take traffic, and if not, why (shown in the {@code /ready} response body). */
public record Readiness(boolean ready, String reason) {

    private static final Readiness READY = new Readiness(true, "ready");

    public Readiness {
        Objects.requireNonNull(reason, "reason");
    }

    public static Readiness ok() {
        return READY;
    }

    public static Readiness notReady(String reason) {
        return new Readiness(false, reason);
    }
}
