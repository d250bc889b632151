package io.github.gracefulshutdown.lambda;

import java.io.IOException;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * SIGTERM and SIGINT: which one started the JVM's shutdown, and when.
 *
 * <p>The JVM's own handler of these signals starts its shutdown sequence
 * (every shutdown hook at once, on threads of their own). It runs even while
 * the Lambda Java client's thread is blocked in its native {@code next()}:
 * signals reach the JVM's dispatcher thread, not that one. This wrapper,
 * installed in front of it, notes the first signal's name and time (the budget
 * is counted from it), starts the library's shutdown on the signal's own thread
 * at once, passes the signal on to the JVM's handler on another thread once the
 * first handler has started (so that the application's other shutdown hooks
 * run alongside, without delaying it on a small CPU share), and logs any later
 * signal instead of passing it on: by then the handlers are running, and run
 * only once.
 *
 * <p>{@code sun.misc.Signal} is in the {@code jdk.unsupported} module, which
 * every JDK since 9 exports for exactly this use.
 */
final class Signals {
    private Signals() {}

    /** The first signal: its name ({@code SIGTERM}) and {@link System#nanoTime()} when it arrived. */
    static final class Arrival {
        final String name;
        final long at;

        Arrival(String name, long at) {
            this.name = name;
            this.at = at;
        }
    }

    private static volatile Arrival first;
    /** The first signal's passing on to the JVM's handler, until {@link #passOn} starts it. */
    private static JvmExit pending; // guarded by Signals.class
    private static boolean installed;
    private static volatile java.util.function.Consumer<Arrival> onFirst;

    static Arrival first() {
        return first;
    }

    /** Installs the wrapper on SIGTERM and SIGINT, once per JVM; {@code shutdown} runs on the first. */
    static synchronized void install(java.util.function.Consumer<Arrival> shutdown) {
        if (installed) {
            return;
        }
        installed = true;
        onFirst = shutdown;
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                Wrapper wrapper = new Wrapper();
                wrapper.previous = Signal.handle(new Signal(name), wrapper);
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                // The JVM runs with -Xrs, or the signal is taken: the shutdown hook still
                // runs on the JVM's own exit; only the signal's name and repeats are unknown.
                Log.debug("graceful-shutdown: cannot watch SIG" + name + ": " + e.getMessage());
            }
        }
    }

    /** The handler in front of the JVM's own (a named class: no call site to link at install). */
    private static final class Wrapper implements SignalHandler {
        volatile SignalHandler previous;

        @Override
        public void handle(Signal signal) {
            onSignal(signal, previous);
        }
    }

    private static void onSignal(Signal signal, SignalHandler previous) {
        long now = System.nanoTime();
        String name = "SIG" + signal.getName();
        boolean isFirst;
        synchronized (Signals.class) {
            isFirst = first == null;
            if (isFirst) {
                first = new Arrival(name, now);
                pending = new JvmExit(signal, previous);
            }
        }
        if (!isFirst) {
            Log.info("graceful-shutdown: " + name + " received again; the shutdown handlers are already running "
                    + "and run only once");
            return;
        }
        java.util.function.Consumer<Arrival> shutdown = onFirst;
        if (shutdown != null) {
            shutdown.accept(first);
        }
        passOn();
    }

    /**
     * Passes the first signal on to the JVM's own handler, on a thread of its
     * own, once (later calls do nothing): the JVM's shutdown sequence and the
     * application's other hooks. Called once the first handler has started,
     * since on a small CPU share their work would delay it.
     */
    static void passOn() {
        JvmExit exit;
        synchronized (Signals.class) {
            exit = pending;
            pending = null;
        }
        if (exit != null) {
            Thread jvm = new Thread(exit, "graceful-shutdown-jvm-exit");
            jvm.setDaemon(true);
            jvm.start();
        }
    }

    /** {@link #passOn}, as a task. */
    static final Runnable PASS_ON = new PassOn();

    private static final class PassOn implements Runnable {
        @Override
        public void run() {
            passOn();
        }
    }

    /** Passes the first signal on to the JVM's own handler: its shutdown sequence, with every hook. */
    private static final class JvmExit implements Runnable {
        private final Signal signal;
        private final SignalHandler previous;

        JvmExit(Signal signal, SignalHandler previous) {
            this.signal = signal;
            this.previous = previous;
        }

        @Override
        public void run() {
            if (previous != null && previous != SignalHandler.SIG_DFL && previous != SignalHandler.SIG_IGN) {
                previous.handle(signal);
            } else {
                System.exit(128 + signal.getNumber());
            }
        }
    }

    /**
     * A shell started at cold start (on a thread of its own, so that the init
     * does not wait for it) that waits for a signal's name on its standard input
     * and sends that signal to this process with its built-in {@code kill}: at
     * shutdown one write, where starting a process would take tens of
     * milliseconds (hundreds on a starved CPU). It ignores SIGTERM and SIGINT
     * (a signal to the whole process group must not end it first) and ends by
     * itself when this process does (its input closes).
     */
    private static volatile Process killer;

    /** Whether the shell that sends the signal back is running (tests). */
    static boolean killerStarted() {
        Process k = killer;
        return k != null && k.isAlive();
    }

    static void startKiller() {
        Thread t = new Thread(new StartKiller(), "graceful-shutdown-killer-start");
        t.setDaemon(true);
        t.start();
    }

    private static final class StartKiller implements Runnable {
        @Override
        public void run() {
            try {
                killer = new ProcessBuilder(SHELL, "-c",
                        "trap '' TERM INT HUP; read sig && kill -s \"$sig\" " + ProcessHandle.current().pid())
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .redirectError(ProcessBuilder.Redirect.INHERIT)
                        .start();
            } catch (IOException | RuntimeException e) {
                Log.debug("graceful-shutdown: no " + SHELL + " to end the process with: " + e);
            }
        }
    }

    /** Asks the waiting shell to send {@code bare} ({@code TERM}); whether it was asked. */
    private static boolean askKiller(String bare) {
        Process k = killer;
        if (k == null || !k.isAlive()) {
            return false;
        }
        try {
            java.io.OutputStream in = k.getOutputStream();
            in.write((bare + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            in.flush();
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** The shell that sends the signal back; every Lambda runtime image has it. */
    static final String SHELL = "/bin/sh";

    /**
     * Ends the process the way a Unix program that handled a fatal signal
     * should: the signal's default disposition back, and the signal sent again.
     * The kernel ends the process at once; the parent (Lambda) sees it
     * terminated by the signal it sent, as with the Node.js library.
     *
     * <p>Why not {@code Runtime.halt(0)}: every way the JVM exits by itself
     * (halt, exit, the end of main) stops the JVM at a safepoint and then waits
     * for threads running native code to come back (HotSpot's
     * {@code VM_Exit::wait_for_threads_in_native_to_block}: up to 300 ms for a
     * user thread, in 10 ms steps). The Lambda Java client's thread sits in
     * native code in {@code next()}, a request to the Runtime API that never
     * answers once the environment is being retired, so the JVM waits those
     * 300 ms, the whole of the runtime's share, and would be SIGKILLed first.
     * Measured: the JVM gone 310 to 330 ms after {@code halt}, on JDK 17 and 25.
     *
     * <p>Why a child process: {@code sun.misc.Signal.raise} only raises a signal
     * that has a Java handler, so it cannot raise one whose disposition is the
     * default; the JDK has no other way to signal its own process
     * ({@code ProcessHandle.destroy} refuses the current process). So a shell
     * started at cold start sends it ({@link #startKiller}); failing that, one
     * started now. If the signal has not ended the process within
     * {@link #KILL_WAIT_MS}, {@code halt} is the fallback.
     */
    static void endBy(String name) {
        Log.flushAll();
        String bare = name.startsWith("SIG") ? name.substring(3) : name;
        try {
            Signal.handle(new Signal(bare), SignalHandler.SIG_DFL);
            if (askKiller(bare)) {
                Log.debug("graceful-shutdown: asked the waiting shell to send " + name);
                Thread.sleep(KILL_WAIT_MS); // the signal ends the process meanwhile
                Log.warn("graceful-shutdown: the waiting shell did not send " + name + "; starting another");
            }
            Process kill = new ProcessBuilder(SHELL, "-c", "kill -s " + bare + " " + ProcessHandle.current().pid())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            kill.waitFor(KILL_WAIT_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
            // Still here: the signal is blocked, or the shell could not send it.
            Log.warn("graceful-shutdown: " + name + " sent again did not end the process; halting");
        } catch (IOException | RuntimeException e) {
            Log.warn("graceful-shutdown: cannot send " + name + " again (" + e + "); halting");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Runtime.getRuntime().halt(0);
    }

    /** How long the signal sent again may take to end the process before {@code halt}. */
    static final long KILL_WAIT_MS = 100;

    /**
     * Loads what the signal's path and {@link #endBy} need, at cold start: the
     * JDK's own dispatch of a signal to its Java handler, this class's, the log's.
     */
    static void warmUp() {
        new Arrival("SIGTERM", 0).getClass();
        new JvmExit(null, null).getClass();
        PASS_ON.getClass();
        Log.warmUp();
        // What the JVM's shutdown sequence loads when the signal is passed on to it
        // (java.lang.ApplicationShutdownHooks walks its hooks), while the handlers run.
        new java.util.IdentityHashMap<Object, Object>().keySet().iterator().hasNext();
        for (String c : new String[] {"java.lang.ProcessBuilder$Redirect", "java.lang.ProcessImpl",
                "java.lang.ProcessHandleImpl", "java.lang.ProcessImpl$LaunchMechanism",
                "java.lang.ProcessEnvironment", "java.lang.ProcessImpl$ProcessPipeInputStream",
                // the task that runs a Java signal handler on a new thread (JDK 17 to 25)
                "jdk.internal.misc.Signal$1"}) {
            try {
                Class.forName(c, true, null);
            } catch (ClassNotFoundException | LinkageError ignored) {
                // a JDK without it: loaded when needed
            }
        }
    }
}
