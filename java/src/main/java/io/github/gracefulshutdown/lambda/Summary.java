package io.github.gracefulshutdown.lambda;

import java.util.List;

/** What happened to all the handlers, in registration order. */
public final class Summary {
    private final String signal;
    private final List<HandlerOutcome> handlers;
    private final double totalMs;

    Summary(String signal, List<HandlerOutcome> handlers, double totalMs) {
        this.signal = signal;
        this.handlers = List.copyOf(handlers);
        this.totalMs = totalMs;
    }

    /** {@code SIGTERM}, {@code SIGINT}, {@code trigger}, or {@code exit} (the JVM exiting for another reason). */
    public String signal() {
        return signal;
    }

    public List<HandlerOutcome> handlers() {
        return handlers;
    }

    /** From the signal to the last handler's end. */
    public double totalMs() {
        return totalMs;
    }

    private int count(HandlerOutcome.Status status) {
        int n = 0;
        for (HandlerOutcome h : handlers) {
            if (h.status() == status) {
                n++;
            }
        }
        return n;
    }

    public int completed() {
        return count(HandlerOutcome.Status.COMPLETED);
    }

    public int failed() {
        return count(HandlerOutcome.Status.FAILED);
    }

    public int timedOut() {
        return count(HandlerOutcome.Status.TIMED_OUT);
    }

    public int skipped() {
        return count(HandlerOutcome.Status.SKIPPED);
    }

    public boolean allCompleted() {
        return completed() == handlers.size();
    }

    /** The handler with this name, or null. */
    public HandlerOutcome handler(String name) {
        for (HandlerOutcome h : handlers) {
            if (h.name().equals(name)) {
                return h;
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return "Summary[signal=" + signal + ", totalMs=" + (long) totalMs + ", handlers=" + handlers + "]";
    }
}
