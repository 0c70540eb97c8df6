package dev.yulan.topology.store;

/** Names of the operator's state stores; their changelog topics are {@code <application.id>-<name>-changelog}. */
public final class StoreNames {
    /** Accepted requests, waiting or running, in arrival order per conversation. */
    public static final String INFLIGHT = "inflight";

    /** Token ids of every finished turn, per conversation. */
    public static final String HISTORY = "history";

    private StoreNames() {}
}
