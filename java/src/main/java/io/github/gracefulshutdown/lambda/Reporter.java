package io.github.gracefulshutdown.lambda;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * Delivering reports to the extension, in order, never holding up a handler for long.
 *
 * <p>A report is delivered once its request is written on a loopback
 * connection: the extension orders reports by the order their connections
 * arrive, and a request already in the kernel's socket buffers reaches it even
 * if the function is SIGKILLed the next moment. Connecting and writing take tens
 * of microseconds on loopback; reading the answer needs the extension to run,
 * so it is never waited for on the handlers' path.
 *
 * <ul>
 * <li>{@link #send} queues a report for the sending thread (cold start's {@code hello}).
 * <li>{@link #sendNow} connects and writes on the calling thread (earlier queued
 * reports first, so the order holds), with the tiny {@code reportNowTimeoutMs}
 * limit, and leaves the answer to the sending thread; on any error the report
 * stays queued for that thread instead. Every report of the shutdown is sent
 * this way: on a small CPU share a background thread can lag by tens of
 * milliseconds, and a runtime SIGKILLed in that time would leave a verdict that
 * says a running handler never started.
 * </ul>
 */
final class Reporter {
    /** How a report leaves the process. */
    interface Link {
        /** Connects and writes {@code report}; the socket whose answer is still to be read, if any. */
        Socket open(Report report, int timeoutMs) throws IOException;

        /**
         * Reads the answer to a written report, says what it means, closes the
         * socket; whether the extension took it ({@code 202}).
         */
        default boolean answer(Report report, Socket socket) {
            if (socket != null) {
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // nothing to do
                }
            }
            return true;
        }
    }

    private static final class Entry {
        final long seq;
        final Report report;
        final int attempt;
        /** Connects of the sending thread that failed (this side's limit ran out). */
        int failedOpens;
        boolean written;
        Socket socket;

        Entry(long seq, Report report, int attempt) {
            this.seq = seq;
            this.report = report;
            this.attempt = attempt;
        }
    }

    /**
     * How many times a {@code hello} is sent before it is given up. On a small
     * CPU share the process's quota can run out between a connect and its write,
     * or while the connect's wall-clock limit runs: the connection is then cut
     * (by this side's limit or the extension's 300 ms) and the report lost.
     * Nothing waits for the {@code hello} at cold start, and a repeated one
     * changes nothing in the verdict, so it is sent again until the extension
     * answers {@code 202}. The shutdown's reports are not: they are written on
     * the handlers' path, in order.
     */
    static final int HELLO_ATTEMPTS = 5;

    /**
     * How many times the sending thread tries to connect and write a report
     * before it gives it up, one report at a time, in order. A loopback connect
     * completes at once unless the extension is wedged, but its limit is counted
     * on the wall clock, and on a small CPU share the process can be stopped for
     * most of 100 ms: measured, a {@code timedOut} lost that way left a verdict
     * that said the handler was still running after the process had ended.
     */
    static final int OPEN_ATTEMPTS = 5;

    private final Link link;
    /** Held while connections are opened and written, so that they reach the extension in queue order. */
    private final ReentrantLock order = new ReentrantLock();
    private final Object mon = new Object();
    private final ArrayDeque<Entry> pending = new ArrayDeque<>();
    private long queued;
    private long written;
    private long answered;

    private Reporter(Link link) {
        this(link, true);
    }

    private Reporter(Link link, boolean sendingThread) {
        this.link = link;
        if (link != null && sendingThread) {
            Thread t = new Thread(new Sending(this), "graceful-shutdown-report");
            t.setDaemon(true);
            t.start();
        }
    }

    private static final class Sending implements Runnable {
        private final Reporter owner;

        Sending(Reporter owner) {
            this.owner = owner;
        }

        @Override
        public void run() {
            owner.work();
        }
    }

    /**
     * A reporter for the rehearsal of the shutdown at cold start: each report
     * is encoded into the request {@code tcp} would write, and dropped; no
     * sending thread, nothing is connected. Only {@link #sendNow} is used on it.
     */
    static Reporter rehearsal(Tcp tcp) {
        return new Reporter(new Rehearsal(tcp), false);
    }

    private static final class Rehearsal implements Link {
        private final Tcp tcp;

        Rehearsal(Tcp tcp) {
            this.tcp = tcp;
        }

        @Override
        public Socket open(Report report, int timeoutMs) {
            tcp.request(report);
            return null;
        }
    }

    static Reporter disabled() {
        return new Reporter(null);
    }

    static Reporter to(Link link) {
        return new Reporter(link);
    }

    static Reporter toExtension(int port, String secret) {
        return new Reporter(new Tcp(port, secret));
    }

    /** The link to the extension, or null (disabled, or not over TCP). */
    Tcp tcp() {
        return link instanceof Tcp ? (Tcp) link : null;
    }

    /** Hands each report to {@code deliver} (tests). */
    static Reporter calling(Consumer<Report> deliver) {
        return new Reporter((report, timeoutMs) -> {
            deliver.accept(report);
            return null;
        });
    }

    boolean enabled() {
        return link != null;
    }

    /** Queues a report. Never blocks on the network, never throws. */
    void send(Report report) {
        enqueue(report);
    }

    /**
     * Queues {@code report} and writes it (and every report queued before it)
     * from this thread, waiting at most {@code limitMs} for the ordering lock.
     * Returns whether it was written; if not, it stays queued for the sending thread.
     */
    boolean sendNow(Report report, long limitMs) {
        long seq = enqueue(report);
        if (link == null) {
            return true;
        }
        writePending(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(limitMs));
        synchronized (mon) {
            return written >= seq;
        }
    }

    /**
     * Writes everything queued so far (from this thread, as {@link #sendNow}) and
     * waits until it is answered (or, with {@code answered} false, written),
     * within {@code limitMs}; whether it all was.
     */
    boolean flush(long limitMs, boolean answeredToo) {
        if (link == null) {
            return true;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(limitMs);
        long target;
        synchronized (mon) {
            target = queued;
        }
        writePending(deadline);
        synchronized (mon) {
            while (true) {
                if ((answeredToo ? answered : written) >= target) {
                    return true;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(mon, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
    }

    private long enqueue(Report report) {
        return enqueue(report, 1);
    }

    private long enqueue(Report report, int attempt) {
        if (link == null) {
            return 0;
        }
        synchronized (mon) {
            queued++;
            pending.addLast(new Entry(queued, report, attempt));
            mon.notifyAll();
            return queued;
        }
    }

    private static boolean again(Entry e) {
        return "hello".equals(e.report.type) && e.attempt < HELLO_ATTEMPTS;
    }

    /** Connects and writes every queued report not written yet, in order, from this thread. */
    private void writePending(long deadline) {
        boolean locked;
        try {
            locked = order.tryLock(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (!locked) {
            return;
        }
        try {
            for (Entry entry : unwritten()) {
                try {
                    entry.socket = link.open(entry.report, Limits.REPORT_NOW_TIMEOUT_MS);
                } catch (IOException | RuntimeException e) {
                    // Left to the sending thread, which tries once more.
                    Log.debug("graceful-shutdown: report left to the sending thread: " + e);
                    break;
                }
                markWritten(entry);
            }
        } finally {
            order.unlock();
        }
    }

    private java.util.List<Entry> unwritten() {
        synchronized (mon) {
            java.util.List<Entry> out = new java.util.ArrayList<>(pending.size());
            for (Entry e : pending) {
                if (!e.written) {
                    out.add(e);
                }
            }
            return out;
        }
    }

    private void markWritten(Entry entry) {
        synchronized (mon) {
            entry.written = true;
            written = Math.max(written, entry.seq);
            mon.notifyAll();
        }
    }

    private void work() {
        while (true) {
            Entry entry;
            synchronized (mon) {
                while (pending.isEmpty()) {
                    try {
                        mon.wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                entry = pending.peekFirst();
            }
            // The ordering lock only when there is something to write (a caller of sendNow
            // may be writing the queue meanwhile): on a small CPU share this thread can be
            // stopped for most of 100 ms while it holds the lock, and a sendNow on the
            // handlers' path would wait for it. At shutdown every report is written by
            // sendNow, and this thread only reads the answers.
            boolean toWrite = !unwritten().isEmpty();
            if (toWrite) {
                order.lock();
            }
            try {
                for (Entry e : toWrite ? unwritten() : java.util.List.<Entry>of()) {
                    try {
                        e.socket = link.open(e.report, Limits.REPORT_CONNECT_TIMEOUT_MS);
                        if (Log.enabled(Log.DEBUG)) {
                            Log.debug("graceful-shutdown: report written type=" + e.report.type);
                        }
                    } catch (IOException | RuntimeException x) {
                        if (++e.failedOpens < OPEN_ATTEMPTS) {
                            // Tried again at once, before any later report: the order holds.
                            Log.debug("graceful-shutdown: report not written, trying again: type=" + e.report.type
                                    + " error=" + x);
                            break;
                        }
                        Log.debug("graceful-shutdown: report not delivered: type=" + e.report.type + " error=" + x);
                        if (again(e)) {
                            enqueue(e.report, e.attempt + 1);
                        }
                    }
                    markWritten(e);
                }
            } finally {
                if (toWrite) {
                    order.unlock();
                }
            }
            synchronized (mon) {
                if (!entry.written) {
                    continue; // its connect failed: tried again (OPEN_ATTEMPTS)
                }
                pending.pollFirst();
            }
            boolean taken = false;
            try {
                taken = link.answer(entry.report, entry.socket);
            } catch (RuntimeException x) {
                Log.debug("graceful-shutdown: reading an answer failed: " + x);
            }
            if (!taken && again(entry)) {
                Log.debug("graceful-shutdown: sending the hello again, attempt " + (entry.attempt + 1));
                enqueue(entry.report, entry.attempt + 1);
            }
            synchronized (mon) {
                answered = Math.max(answered, entry.seq);
                mon.notifyAll();
            }
        }
    }

    /** Reports over loopback TCP to the extension. */
    static final class Tcp implements Link {
        private static final InetAddress LOOPBACK = loopback();
        private final int port;
        /** Built once: at shutdown a report's request is a copy of it and the body. */
        private final Report.Head head;

        Tcp(int port, String secret) {
            this.port = port;
            this.head = new Report.Head(Limits.REPORT_PATH, port, secret);
        }

        /** The request that carries {@code report}, byte for byte {@link Report#encodeRequest}. */
        byte[] request(Report report) {
            return head.request(report.body(null));
        }

        private static InetAddress loopback() {
            try {
                return InetAddress.getByAddress("localhost", new byte[] {127, 0, 0, 1});
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public Socket open(Report report, int timeoutMs) throws IOException {
            // Encoded before connecting: the extension gives a connection 300 ms for its request.
            byte[] request = request(report);
            Socket s = new Socket();
            try {
                s.setTcpNoDelay(true);
                s.connect(new InetSocketAddress(LOOPBACK, port), Math.max(1, timeoutMs));
                s.setSoTimeout(Math.max(1, Limits.REPORT_IO_TIMEOUT_MS));
                s.getOutputStream().write(request);
                return s;
            } catch (IOException | RuntimeException e) {
                s.close();
                throw e;
            }
        }

        @Override
        public boolean answer(Report report, Socket socket) {
            if (socket == null) {
                return false;
            }
            try (Socket s = socket) {
                InputStream in = s.getInputStream();
                byte[] buf = new byte[64];
                int n = 0;
                while (n < buf.length) {
                    int r = in.read(buf, n, buf.length - n);
                    if (r < 0) {
                        break;
                    }
                    n += r;
                    if (indexOf(buf, n, (byte) '\n') >= 0) {
                        break;
                    }
                }
                String line = new String(buf, 0, n, StandardCharsets.ISO_8859_1);
                int eol = line.indexOf('\r');
                line = eol >= 0 ? line.substring(0, eol) : line;
                if (line.startsWith("HTTP/1.1 202") || line.startsWith("HTTP/1.0 202")) {
                    return true;
                }
                String what = "graceful-shutdown: the extension refused a report: type=" + report.type
                        + " answer=" + (line.isEmpty() ? "(none)" : line);
                if ("hello".equals(report.type)) {
                    Log.debug(what); // sent again (HELLO_ATTEMPTS)
                } else {
                    Log.warn(what);
                }
                return false;
            } catch (IOException e) {
                Log.debug("graceful-shutdown: no answer to a report: type=" + report.type + " error=" + e);
                return false;
            }
        }

        private static int indexOf(byte[] b, int n, byte x) {
            for (int i = 0; i < n; i++) {
                if (b[i] == x) {
                    return i;
                }
            }
            return -1;
        }
    }
}
