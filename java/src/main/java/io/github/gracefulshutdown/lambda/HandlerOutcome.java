package io.github.gracefulshutdown.lambda;

/** What happened to one handler. */
public final class HandlerOutcome {
    /** How one handler ended. */
    public enum Status {
        /** It returned. */
        COMPLETED,
        /** It threw; {@link HandlerOutcome#error()} says what. */
        FAILED,
        /** The budget ran out while it ran; it was abandoned (its thread interrupted). */
        TIMED_OUT,
        /** In order, the budget was used up before its turn: it never ran. */
        SKIPPED
    }

    private final String name;
    private final int index;
    private final Status status;
    private final double durationMs;
    private final String error;

    HandlerOutcome(String name, int index, Status status, double durationMs, String error) {
        this.name = name;
        this.index = index;
        this.status = status;
        this.durationMs = durationMs;
        this.error = error;
    }

    public String name() {
        return name;
    }

    /** Its registration index, from 0. */
    public int index() {
        return index;
    }

    public Status status() {
        return status;
    }

    /** From its start to its end (or to the budget's end); 0 if skipped. */
    public double durationMs() {
        return durationMs;
    }

    /** The error text of a failed handler ({@code panicked: } first for an {@link Error}), else null. */
    public String error() {
        return error;
    }

    @Override
    public String toString() {
        return name + "=" + status + "(" + (long) durationMs + "ms" + (error != null ? ", " + error : "") + ")";
    }
}
