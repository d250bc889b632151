package io.github.gracefulshutdown.lambda;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Shutdown handlers for an AWS Lambda Java function, run once when Lambda
 * retires the environment (on SIGTERM, which Lambda sends only when an
 * extension such as the graceful-shutdown layer is registered), each isolated,
 * within {@code GRACEFUL_SHUTDOWN_TIMEOUT_MS}, and reported to the extension.
 *
 * <pre>{@code
 * public class Handler implements RequestHandler<Map<String, Object>, String> {
 *     static final HikariDataSource pool = new HikariDataSource(config());
 *     static {
 *         GracefulShutdown.fromEnv()
 *             .onShutdown("close-pool", pool::close)
 *             .install();
 *     }
 *     ...
 * }
 * }</pre>
 *
 * <p>One JVM is one process: on Lambda Managed Instances, where the Java client
 * runs several runtime loops in one JVM, the handlers still run once, and the
 * reports form one stream. Only one instance can be installed per JVM.
 */
public final class GracefulShutdown {
    private static GracefulShutdown installedInstance;

    private final Config config;
    private boolean concurrent;
    private final List<Runner.Handler> handlers = new ArrayList<>();
    private volatile boolean built;
    private boolean installed;
    private volatile Reporter reporter = Reporter.disabled();
    private final Object runLock = new Object();
    private boolean running;
    private volatile Summary summary;
    private final CountDownLatch ran = new CountDownLatch(1);
    /** Started at install, armed by the signal. */
    private Watchdog watchdog;

    private GracefulShutdown(Config config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    /** Settings read once from the environment ({@link Config#fromEnv()}). */
    public static GracefulShutdown fromEnv() {
        return new GracefulShutdown(Config.fromEnv());
    }

    /** Settings given directly (tests). */
    public static GracefulShutdown withConfig(Config config) {
        return new GracefulShutdown(config);
    }

    public Config config() {
        return config;
    }

    /**
     * Registers {@code handler} to run once at shutdown, under {@code name}
     * (cut to {@code maxNameBytes} of JSON). Register every handler before
     * {@link #install()}.
     */
    public synchronized GracefulShutdown onShutdown(String name, ShutdownHandler handler) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("onShutdown: name must be a non-empty string, got "
                    + (name == null ? "null" : "\"\""));
        }
        Objects.requireNonNull(handler, "onShutdown: handler " + Json.quote(name) + " must not be null");
        if (built) {
            throw new IllegalStateException("onShutdown: handler " + Json.quote(name) + " registered after install(); "
                    + "register every shutdown handler before calling install()");
        }
        handlers.add(new Runner.Handler(Report.fit(name, Limits.MAX_NAME_BYTES), handler));
        return this;
    }

    /** Run the handlers all at once ({@code true}) or one after another in registration order (the default). */
    public synchronized GracefulShutdown concurrent(boolean concurrent) {
        if (built) {
            throw new IllegalStateException("concurrent: set it before install()");
        }
        this.concurrent = concurrent;
        return this;
    }

    public boolean isConcurrent() {
        return concurrent;
    }

    /** The handler names, in registration order. */
    public synchronized List<String> handlerNames() {
        List<String> names = new ArrayList<>(handlers.size());
        for (Runner.Handler h : handlers) {
            names.add(h.name);
        }
        return Collections.unmodifiableList(names);
    }

    /** Whether the extension was found at cold start (so reports are sent). */
    public boolean extensionAttached() {
        return reporter.enabled();
    }

    /** Waits until every report sent so far is answered, at most {@code limitMs}; whether it was (tests). */
    boolean awaitReports(long limitMs) {
        return reporter.flush(limitMs, true);
    }

    /** What happened, once the handlers have run; else null. */
    public Summary summary() {
        return summary;
    }

    /**
     * Checks for the extension and announces the handlers ({@code hello}: written
     * at once, its answer read in the background), without watching for the shutdown: the handlers then run only
     * through {@link #trigger()}. For tests.
     */
    public synchronized GracefulShutdown build() {
        if (built) {
            return this;
        }
        built = true;
        warmUp();
        List<String> names = handlerNames();
        String[] why = new String[1];
        String secret = Attach.readSecret(config.secretFile(), why);
        if (secret != null) {
            reporter = Reporter.toExtension(config.port(), secret);
            long pid = ProcessHandle.current().pid();
            for (Report hello : Report.helloReports(pid, names, config.timeoutMs(), concurrent, null)) {
                reporter.send(hello);
            }
            // Written now, from this thread (a loopback connect and write: about 4 ms the
            // first time in a JVM, measured), its answer read in the background. Left to the
            // background thread alone, on a starved CPU the JVM's init outran it: measured, a
            // hello not yet written 250 ms later, so that a runtime that crashed in its second
            // invocation left no report at all. Bounded: what is not written within
            // flushLimitMs stays queued for the background thread.
            reporter.flush(Limits.FLUSH_LIMIT_MS, false);
        } else {
            Attach.warnMissingOnce(why[0], names);
        }
        // The shutdown rehearsed (nothing sent, nothing logged) and the handlers' threads
        // waiting: at SIGTERM nothing is loaded or started before the first handler runs.
        Runner.rehearse(concurrent, names.size(), reporter.tcp());
        Log.debug("graceful-shutdown: shutdown handlers registered handlers=" + names + " port=" + config.port()
                + " timeout_ms=" + config.timeoutMs() + " concurrent=" + concurrent + " extension=" + (secret != null));
        return this;
    }

    /**
     * Checks for the extension, and runs the handlers once when the JVM shuts
     * down: on the first SIGTERM or SIGINT, after which the library ends the
     * process once the last report is written; or when the application exits by
     * itself ({@code System.exit}), after which that exit goes on. Call it once,
     * at init (a static initializer or the handler's constructor).
     *
     * @throws IllegalStateException if another instance is installed in this JVM
     */
    public GracefulShutdown install() {
        synchronized (GracefulShutdown.class) {
            if (installedInstance == this) {
                return this;
            }
            if (installedInstance != null) {
                throw new IllegalStateException("install(): another GracefulShutdown is already installed in this JVM; "
                        + "register every handler on one instance (one JVM is one process, with one report stream)");
            }
            installedInstance = this;
        }
        build();
        synchronized (this) {
            installed = true;
        }
        Thread hook = new Thread(new Hook(this), "graceful-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        Watchdog w = new Watchdog(config.timeoutMs());
        w.start();
        synchronized (this) {
            watchdog = w;
        }
        Signals.install(new OnSignal(this));
        Signals.startKiller();
        return this;
    }

    /**
     * Runs the handlers now, as a signal would, but without ending the process;
     * returns what happened. They run once per process: later calls (and a later
     * signal) get the same summary without running anything again.
     */
    public Summary trigger() {
        build();
        Summary s = runOnce("trigger", System.nanoTime(), null);
        reporter.flush(Limits.FLUSH_LIMIT_MS, true);
        return s;
    }

    private Summary runOnce(String signal, long start, Runnable afterStart) {
        boolean first;
        synchronized (runLock) {
            first = !running;
            running = true;
        }
        if (!first) {
            try {
                ran.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return summary;
        }
        try {
            List<Runner.Handler> list;
            synchronized (this) {
                list = List.copyOf(handlers);
            }
            summary = Runner.run(list, concurrent, config.timeoutMs(), start, signal, reporter, afterStart);
        } finally {
            ran.countDown();
        }
        return summary;
    }

    /**
     * Hands {@code requests} to the extension, which sends them after the
     * runtime has gone, within the shutdown phase, and logs a dead-letter
     * record for each one it could not deliver ({@code docs/protocol.md},
     * Handoff). Call it from a shutdown handler, for the work that does not fit
     * the handlers' budget:
     *
     * <pre>{@code
     * .onShutdown("flush", () -> {
     *     HandoffResult r = GracefulShutdown.handoff(
     *             HandoffRequest.awsJson("dynamodb", "DynamoDB_20120810.BatchWriteItem", buffer.json(), null));
     *     if (!r.taken()) {
     *         throw new IllegalStateException(r.toString());
     *     }
     * })
     * }</pre>
     *
     * <p>One {@code POST} to the extension (127.0.0.1, {@code GRACEFUL_SHUTDOWN_PORT},
     * with the secret, as the reports), its answer awaited at most
     * {@code library.handoffTimeoutMs} of {@code spec/limits.json} (100 ms).
     * Never throws for a refusal: the result says whether the extension took
     * it, or its refusal (status and message: 501 from the layer without
     * handoff, 413 over a limit, 400 naming the field), or that no answer came
     * in time, or that the library refused it before sending (no requests, a
     * body over {@code handoff.maxBodyBytes}, the layer not attached). Any
     * result but taken is also logged, one line.
     */
    public static HandoffResult handoff(HandoffRequest... requests) {
        // The settings as at cold start; a bad value was logged then.
        return handoff(Config.fromLookup(System::getenv).config, requests);
    }

    /** {@link #handoff(HandoffRequest...)} with these settings. */
    static HandoffResult handoff(Config config, HandoffRequest... requests) {
        List<HandoffRequest> list = new ArrayList<>(requests.length);
        for (HandoffRequest r : requests) {
            list.add(Objects.requireNonNull(r, "handoff: a request is null"));
        }
        HandoffResult result = Handoff.send(config, list);
        if (result.taken()) {
            Log.debug("graceful-shutdown: " + result);
        } else {
            Log.warn("graceful-shutdown: " + result);
        }
        return result;
    }

    /**
     * The first SIGTERM or SIGINT, on the signal's thread: the handlers, the
     * reports, then the end of the process ({@link Signals#endBy}).
     */
    private void onSignal(Signals.Arrival arrival) {
        Watchdog w;
        synchronized (this) {
            w = watchdog;
        }
        if (w != null) {
            w.arm(arrival);
        }
        // The signal goes on to the JVM (its shutdown sequence, the other hooks) once
        // the first handler has started.
        Summary s = runAndFlush(arrival.name, arrival.at, Signals.PASS_ON);
        Signals.passOn();
        Log.info("graceful-shutdown: exiting total_ms=" + (long) Runner.millis(System.nanoTime() - arrival.at)
                + " completed=" + (s != null ? s.completed() : 0) + " by " + arrival.name);
        Signals.endBy(arrival.name);
    }

    /**
     * The shutdown hook: the JVM runs it, with every other hook, when it begins
     * to shut down. After a signal, the shutdown is already running on the
     * signal's thread, which ends the process: the hook holds the JVM's exit
     * sequence until then, since once every hook has returned the JVM stops
     * all its threads (for up to 300 ms, see {@link Signals#endBy}). Otherwise
     * (the application calls {@code System.exit}) it runs the handlers, and the
     * exit goes on with the application's status.
     */
    private void onJvmShutdown() {
        Signals.Arrival arrival = Signals.first();
        if (arrival != null) {
            try {
                // Bounded: the watchdog ends the process by then at the latest.
                Thread.sleep(watchdogMs(config.timeoutMs()) + Signals.KILL_WAIT_MS + 1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return;
        }
        runAndFlush("exit", System.nanoTime(), null);
    }

    private Summary runAndFlush(String signal, long start, Runnable afterStart) {
        Summary s = null;
        try {
            s = runOnce(signal, start, afterStart);
        } catch (Throwable e) { // our own code; never let it stop the exit
            Log.error("graceful-shutdown: the shutdown failed: " + e);
        }
        // Written is delivered (the extension reads what reached its socket even
        // once this process is gone): a report still queued may hold the exit until
        // shortly before the kill; the answers then get a short wait only, so that
        // a refusal is still logged.
        long limit = flushLimitMs(Runner.millis(System.nanoTime() - start));
        if (!reporter.flush(limit, false)) {
            Log.warn("graceful-shutdown: some reports were not delivered within " + limit + " ms");
        } else {
            reporter.flush(Limits.FLUSH_LIMIT_MS, true);
        }
        return s;
    }

    /** How long pending reports may hold the exit, {@code sinceSignalMs} after the signal. */
    static long flushLimitMs(double sinceSignalMs) {
        return (long) Math.max(Limits.FLUSH_LIMIT_MS,
                Limits.RUNTIME_SHARE_MS - Limits.KILL_MARGIN_MS - sinceSignalMs);
    }

    /** When, from the signal, the last-resort watchdog ends the process. */
    static long watchdogMs(int timeoutMs) {
        return Math.max(timeoutMs + Limits.WATCHDOG_GRACE_MS, Limits.RUNTIME_SHARE_MS - Limits.KILL_MARGIN_MS);
    }

    /**
     * The last resort, should the shutdown thread itself be held (a handler that
     * keeps a lock the library's logging needs, say): the process is ended
     * shortly before Lambda would kill it. Started at install and waiting, so
     * that the signal only arms it.
     */
    private static final class Watchdog extends Thread {
        private final int timeoutMs;
        private Signals.Arrival arrival; // guarded by this

        Watchdog(int timeoutMs) {
            super("graceful-shutdown-watchdog");
            this.timeoutMs = timeoutMs;
            setDaemon(true);
        }

        synchronized void arm(Signals.Arrival a) {
            arrival = a;
            notifyAll();
        }

        @Override
        public void run() {
            Signals.Arrival a;
            synchronized (this) {
                while (arrival == null) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                a = arrival;
            }
            long at = a.at + TimeUnit.MILLISECONDS.toNanos(watchdogMs(timeoutMs));
            long left;
            while ((left = at - System.nanoTime()) > 0) {
                try {
                    TimeUnit.NANOSECONDS.sleep(left);
                } catch (InterruptedException e) {
                    return;
                }
            }
            Log.error("graceful-shutdown: the shutdown did not end in time; ending the process");
            Signals.endBy(a.name);
        }
    }

    // Named classes rather than lambdas on the signal's path: a lambda is linked
    // the first time it runs, which costs milliseconds on a small CPU share.

    private static final class Hook implements Runnable {
        private final GracefulShutdown owner;

        Hook(GracefulShutdown owner) {
            this.owner = owner;
        }

        @Override
        public void run() {
            owner.onJvmShutdown();
        }
    }

    private static final class OnSignal implements java.util.function.Consumer<Signals.Arrival> {
        private final GracefulShutdown owner;

        OnSignal(GracefulShutdown owner) {
            this.owner = owner;
        }

        @Override
        public void accept(Signals.Arrival arrival) {
            owner.onSignal(arrival);
        }
    }

    /** Loads what the shutdown runs, at cold start, so that the signal does not wait for class loading. */
    private void warmUp() {
        Report.allDone(0, 0, 0, 0).toJson();
        Report.failed("x", 0, 0, "x").toJson();
        Report.timedOut("x", 0, 0).toJson();
        Report.finished("x", 0, 0).toJson();
        Report.started("x", 0).encodeRequest(config.port(), "x", null);
        Report.shutdownStarted("x").toJson();
        new Summary("x", List.of(new HandlerOutcome("x", 0, HandlerOutcome.Status.COMPLETED, 0, null)), 0).completed();
        Runner.describe(new Error("x"));
        flushLimitMs(0);
        watchdogMs(0);
        Signals.warmUp();
    }
}
