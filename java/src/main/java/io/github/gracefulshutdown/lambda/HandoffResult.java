package io.github.gracefulshutdown.lambda;

/**
 * What became of a handoff ({@link GracefulShutdown#handoff}): taken by the
 * extension ({@link #taken()}, with its counts), refused by it (its status and
 * message), not answered in time, or refused by the library before sending.
 */
public final class HandoffResult {
    private final boolean taken;
    private final int status;
    private final String message;
    private final boolean sent;
    private final int accepted;
    private final int held;

    private HandoffResult(boolean taken, int status, String message, boolean sent, int accepted, int held) {
        this.taken = taken;
        this.status = status;
        this.message = message;
        this.sent = sent;
        this.accepted = accepted;
        this.held = held;
    }

    static HandoffResult taken(int status, int accepted, int held) {
        return new HandoffResult(true, status, null, true, accepted, held);
    }

    static HandoffResult refused(int status, String message) {
        return new HandoffResult(false, status, message, true, 0, 0);
    }

    static HandoffResult unanswered(String message) {
        return new HandoffResult(false, 0, message, true, 0, 0);
    }

    static HandoffResult notSent(String message) {
        return new HandoffResult(false, 0, message, false, 0, 0);
    }

    /** Whether the extension took the handoff (answered 202): it sends the requests, or dead-letters them. */
    public boolean taken() {
        return taken;
    }

    /**
     * The extension's answer: 202 when taken, else its refusal (400, 401, 413,
     * 501, …); 0 when there was none (refused by the library before sending, or
     * no answer in time).
     */
    public int status() {
        return status;
    }

    /**
     * Why it was not taken: the extension's message ({@code handoff.maxRequests: …}),
     * or the library's reason; null when taken.
     */
    public String message() {
        return message;
    }

    /**
     * Whether the whole handoff was written to the extension. Not taken, with
     * status 0 and sent: the answer did not come in time, and the extension may
     * have taken it.
     */
    public boolean sent() {
        return sent;
    }

    /** The number of this handoff's requests the extension took. */
    public int accepted() {
        return accepted;
    }

    /** The number of requests the extension holds for the environment, this handoff's included. */
    public int held() {
        return held;
    }

    /** One line: {@code handoff taken: accepted=2 held=5}, {@code handoff refused by the extension: 501: …}, … */
    @Override
    public String toString() {
        if (taken) {
            return "handoff taken: accepted=" + accepted + " held=" + held;
        }
        if (status != 0) {
            return "handoff refused by the extension: " + status + ": " + message;
        }
        return sent ? "handoff: " + message : "handoff not sent: " + message;
    }
}
