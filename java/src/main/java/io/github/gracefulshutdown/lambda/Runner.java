package io.github.gracefulshutdown.lambda;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Running the handlers once: each in a daemon thread of its own, in order or
 * all at once, inside one budget counted from the signal. The same rules as the
 * other libraries:
 *
 * <ul>
 * <li>In order (the default), each handler gets what is left of the budget. One
 * still running when the budget is gone is abandoned and reported
 * {@code timedOut}; handlers that have not started by then never run, are not
 * reported one by one (the verdict lists them as {@code not_started}, from the
 * names in {@code hello}) and count as skipped.
 * <li>Concurrently, every handler starts at once, and every one still running
 * when the budget is gone is abandoned and reported {@code timedOut}.
 * </ul>
 *
 * A Java thread cannot be killed: an abandoned handler's thread is interrupted
 * and left to the process's end, which comes right after the last reports.
 */
final class Runner {
    private Runner() {}

    /** A registered handler. */
    static final class Handler {
        final String name;
        final ShutdownHandler body;

        Handler(String name, ShutdownHandler body) {
            this.name = name;
            this.body = body;
        }
    }

    private static final class Run implements Runnable {
        final Handler handler;
        final CountDownLatch done = new CountDownLatch(1);
        volatile Throwable error;
        volatile long endedAt;
        Thread thread;

        Run(Handler handler) {
            this.handler = handler;
        }

        String threadName() {
            String n = handler.name.length() > 40 ? handler.name.substring(0, 40) : handler.name;
            return "graceful-shutdown-handler:" + n;
        }

        @Override
        public void run() {
            try {
                handler.body.run();
            } catch (Throwable t) { // isolation: anything a handler throws is its failure
                error = t;
            } finally {
                endedAt = System.nanoTime();
                done.countDown();
            }
        }
    }

    /**
     * A handler's thread, started at cold start and waiting for its one
     * handler: at SIGTERM a handler starts with one wake-up, where creating
     * and starting a thread would cost a small CPU share's milliseconds. It
     * runs one handler and ends (an abandoned handler keeps its thread).
     */
    private static final class Worker extends Thread {
        private Run run; // guarded by this

        Worker() {
            super("graceful-shutdown-handler");
            setDaemon(true);
        }

        synchronized void execute(Run r) {
            run = r;
            notifyAll();
        }

        @Override
        public void run() {
            Run r;
            synchronized (this) {
                while (run == null) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        // only the handler's own interrupt (its budget gone) means anything
                    }
                }
                r = run;
            }
            r.run();
        }
    }

    /** At most this many handler threads wait from cold start; a handler past them gets a new one. */
    static final int MAX_STANDBY = 8;

    private static final ArrayDeque<Worker> STANDBY = new ArrayDeque<>();

    /** Starts waiting handler threads until {@code count} (at most {@link #MAX_STANDBY}) wait. */
    static void standBy(int count) {
        synchronized (STANDBY) {
            while (STANDBY.size() < Math.min(count, MAX_STANDBY)) {
                Worker w = new Worker();
                w.start();
                STANDBY.addLast(w);
            }
        }
    }

    /** How many handler threads wait (tests). */
    static int standing() {
        synchronized (STANDBY) {
            return STANDBY.size();
        }
    }

    /** Runs {@code run} on a waiting thread, or on a new one when none waits. */
    private static void launch(Run run) {
        Worker w;
        synchronized (STANDBY) {
            w = STANDBY.pollFirst();
        }
        if (w != null) {
            w.setName(run.threadName());
            run.thread = w;
            w.execute(run);
        } else {
            Thread t = new Thread(run, run.threadName());
            t.setDaemon(true);
            run.thread = t;
            t.start();
        }
    }

    private static final class Nothing implements Runnable {
        @Override
        public void run() {
            // nothing
        }
    }

    private static final class Quiet implements ShutdownHandler {
        @Override
        public void run() {
            // nothing
        }
    }

    private static final class Failing implements ShutdownHandler {
        @Override
        public void run() {
            throw new IllegalStateException("rehearsal", new Error("rehearsal"));
        }
    }

    /**
     * Rehearses the shutdown at cold start: the handlers' path as a signal
     * runs it ({@link #run}, on waiting threads, every report encoded as
     * {@code tcp} would write it, a handler that completes and one that fails),
     * with this thread's log lines dropped and nothing sent, so that every
     * class of that path is loaded, linked and initialised, and its calls
     * resolved, before SIGTERM. The handlers' threads wait again afterwards.
     */
    static void rehearse(boolean concurrent, int handlers, Reporter.Tcp tcp) {
        Thread self = Thread.currentThread();
        Log.mute(self);
        try {
            standBy(2);
            Reporter reporter = Reporter.rehearsal(tcp != null ? tcp : new Reporter.Tcp(0, "rehearsal"));
            List<Handler> list = List.of(new Handler("rehearsal", new Quiet()), new Handler("failing", new Failing()));
            run(list, concurrent, 60_000, System.nanoTime(), "SIGTERM", reporter, new Nothing());
            // The wait for a handler still running (the rehearsal's end before it was awaited),
            // and for the reports' ordering lock held by the sending thread.
            try {
                new CountDownLatch(1).await(1, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            try {
                Class.forName("java.util.concurrent.locks.AbstractQueuedSynchronizer$ExclusiveNode", true, null);
            } catch (ClassNotFoundException | LinkageError ignored) {
                // another JDK: loaded when needed
            }
        } finally {
            Log.mute(null);
        }
        standBy(handlers);
    }

    /** Runs every handler once within {@code budgetMs} from {@code start} ({@link System#nanoTime()}). */
    static Summary run(List<Handler> handlers, boolean concurrent, int budgetMs, long start, String signal,
                       Reporter reporter) {
        return run(handlers, concurrent, budgetMs, start, signal, reporter, null);
    }

    /**
     * {@link #run(List, boolean, int, long, String, Reporter)}, calling
     * {@code afterStart} (if not null) once the first handler has started (all
     * of them, concurrently), or at once when there is none: what is not the
     * handlers' own work waits until then.
     */
    static Summary run(List<Handler> handlers, boolean concurrent, int budgetMs, long start, String signal,
                       Reporter reporter, Runnable afterStart) {
        long deadline = start + TimeUnit.MILLISECONDS.toNanos(budgetMs);
        reporter.sendNow(Report.shutdownStarted(signal), Limits.FLUSH_LIMIT_MS);
        Log.info("graceful-shutdown: running shutdown handlers signal=" + signal + " handlers=" + handlers.size()
                + " budget_ms=" + budgetMs + " concurrent=" + concurrent);
        List<HandlerOutcome> outcomes = new ArrayList<>(handlers.size());
        if (handlers.isEmpty() && afterStart != null) {
            afterStart.run();
        }
        if (concurrent) {
            int n = handlers.size();
            Run[] runs = new Run[n];
            long[] began = new long[n];
            for (int i = 0; i < n; i++) {
                runs[i] = start(i, handlers.get(i), reporter);
                began[i] = System.nanoTime();
            }
            if (n > 0 && afterStart != null) {
                afterStart.run();
            }
            for (int i = 0; i < n; i++) {
                outcomes.add(finish(i, runs[i], began[i], deadline, reporter));
            }
        } else {
            for (int i = 0; i < handlers.size(); i++) {
                Handler h = handlers.get(i);
                Run r = null;
                long began = 0;
                if (System.nanoTime() - deadline >= 0) {
                    Log.warn("graceful-shutdown: shutdown handler skipped: the " + budgetMs
                            + " ms budget was used up before its turn handler=" + h.name);
                    outcomes.add(new HandlerOutcome(h.name, i, HandlerOutcome.Status.SKIPPED, 0, null));
                } else {
                    r = start(i, h, reporter);
                    began = System.nanoTime();
                }
                if (i == 0 && afterStart != null) {
                    afterStart.run();
                }
                if (r != null) {
                    outcomes.add(finish(i, r, began, deadline, reporter));
                }
            }
        }
        Summary summary = new Summary(signal, outcomes, millis(System.nanoTime() - start));
        // The last report: written before the exit, with every one before it.
        reporter.sendNow(Report.allDone(summary.completed(), summary.failed(), summary.timedOut(),
                (long) summary.totalMs()), Limits.FLUSH_LIMIT_MS);
        Log.info("graceful-shutdown: shutdown handlers done completed=" + summary.completed() + " failed="
                + summary.failed() + " timed_out=" + summary.timedOut() + " skipped=" + summary.skipped()
                + " total_ms=" + (long) summary.totalMs());
        return summary;
    }

    private static Run start(int index, Handler handler, Reporter reporter) {
        // `started` is written before the handler runs: a runtime SIGKILLed while it
        // runs still leaves a verdict that says it was running.
        reporter.sendNow(Report.started(handler.name, index), Limits.FLUSH_LIMIT_MS);
        if (Log.enabled(Log.DEBUG)) {
            Log.debug("graceful-shutdown: shutdown handler started handler=" + handler.name + " index=" + index);
        }
        Run run = new Run(handler);
        launch(run);
        return run;
    }

    private static HandlerOutcome finish(int index, Run run, long began, long deadline, Reporter reporter) {
        String name = run.handler.name;
        boolean ended;
        try {
            ended = run.done.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ended = run.done.getCount() == 0;
        }
        double duration = millis((ended ? run.endedAt : System.nanoTime()) - began);
        long ms = (long) duration;
        if (!ended) {
            run.thread.interrupt();
            reporter.sendNow(Report.timedOut(name, index, ms), Limits.FLUSH_LIMIT_MS);
            Log.error("graceful-shutdown: shutdown handler timed out: still running when the budget ran out; "
                    + "abandoned handler=" + name + " duration_ms=" + ms);
            return new HandlerOutcome(name, index, HandlerOutcome.Status.TIMED_OUT, duration, null);
        }
        Throwable error = run.error;
        if (error != null) {
            String text = Report.fit(describe(error), Limits.MAX_ERROR_BYTES);
            reporter.sendNow(Report.failed(name, index, ms, text), Limits.FLUSH_LIMIT_MS);
            Log.error("graceful-shutdown: shutdown handler failed handler=" + name + " duration_ms=" + ms
                    + " error=" + text);
            return new HandlerOutcome(name, index, HandlerOutcome.Status.FAILED, duration, text);
        }
        reporter.sendNow(Report.finished(name, index, ms), Limits.FLUSH_LIMIT_MS);
        Log.info("graceful-shutdown: shutdown handler completed handler=" + name + " duration_ms=" + ms);
        return new HandlerOutcome(name, index, HandlerOutcome.Status.COMPLETED, duration, null);
    }

    /**
     * {@code Type: message}, then the causes, joined with {@code : }; an
     * {@link Error} (or any throwable that is not an {@link Exception}), the
     * hardest failure short of ending the process, starts with {@code panicked: },
     * as the protocol names it.
     */
    static String describe(Throwable error) {
        StringBuilder out = new StringBuilder();
        if (!(error instanceof Exception)) {
            out.append("panicked: ");
        }
        Map<Throwable, Boolean> seen = new IdentityHashMap<>();
        Throwable current = error;
        boolean first = true;
        while (current != null && seen.put(current, Boolean.TRUE) == null && seen.size() <= 16) {
            if (!first) {
                out.append(": ");
            }
            first = false;
            String type = current.getClass().getSimpleName();
            if (type.isEmpty()) {
                type = current.getClass().getName();
            }
            String message = current.getMessage();
            out.append(type);
            if (message != null && !message.isEmpty()) {
                out.append(": ").append(message);
            }
            current = current.getCause();
        }
        return out.toString();
    }

    static double millis(long nanos) {
        return Math.max(0, nanos) / 1_000_000.0;
    }
}
