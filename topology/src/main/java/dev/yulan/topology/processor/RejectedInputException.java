package dev.yulan.topology.processor;

/** Input the operator will not run; the message is the one-line reason written to the dead-letter record. */
public final class RejectedInputException extends RuntimeException {

    private final String requestId;

    public RejectedInputException(String reason, String requestId) {
        super(reason);
        this.requestId = requestId;
    }

    public RejectedInputException(String reason) {
        this(reason, null);
    }

    /** The request id when the record was read far enough to have one, else null. */
    public String requestId() {
        return requestId;
    }
}
