package io.github.gracefulshutdown.lambda;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The handoff ({@code docs/protocol.md}, Handoff): one {@code POST} of
 * {@code {"type":"handoff","requests":[...]}} to {@code handoff.path}, with
 * the head of a report, its body written by hand byte for byte as the Rust
 * encoder ({@code wire::encode_handoff}) writes it, and the extension's
 * answer awaited at most {@code library.handoffTimeoutMs}.
 */
final class Handoff {
    private Handoff() {}

    /** What is read of the extension's answer, at most. */
    private static final int MAX_ANSWER_BYTES = 64 << 10;

    /** A handoff's body; {@code worker}, when not null or empty, last (the Java library sends none). */
    static String body(List<HandoffRequest> requests, String worker) {
        StringBuilder out = new StringBuilder(256);
        out.append("{\"type\":\"handoff\",\"requests\":[");
        for (int i = 0; i < requests.size(); i++) {
            if (i > 0) {
                out.append(',');
            }
            requests.get(i).appendJson(out);
        }
        out.append(']');
        if (worker != null && !worker.isEmpty()) {
            out.append(",\"worker\":");
            out.append(Json.quote(Report.clean(worker)));
        }
        return out.append('}').toString();
    }

    /** Sends one handoff with these settings; refuses by itself, without sending, what cannot be taken. */
    static HandoffResult send(Config config, List<HandoffRequest> requests) {
        if (requests.isEmpty()) {
            return HandoffResult.notSent("requests: empty; hand off at least one request");
        }
        byte[] body = body(requests, null).getBytes(StandardCharsets.UTF_8);
        if (body.length > Limits.HANDOFF_MAX_BODY_BYTES) {
            return HandoffResult.notSent("handoff: body of " + body.length + " bytes; handoff.maxBodyBytes is "
                    + Limits.HANDOFF_MAX_BODY_BYTES);
        }
        String[] why = new String[1];
        String secret = Attach.readSecret(config.secretFile(), why);
        if (secret == null) {
            return HandoffResult.notSent("the " + Limits.EXTENSION_NAME + " extension is not attached ("
                    + Limits.ENV_SECRET_FILE + ": " + why[0] + ")");
        }
        byte[] request = Report.encodePost(Limits.HANDOFF_PATH, config.port(), secret, body);
        return exchange(config.port(), request, requests.size(), Limits.HANDOFF_TIMEOUT_MS);
    }

    /** Writes {@code request} on a connection of its own and reads the answer, all within {@code timeoutMs}. */
    static HandoffResult exchange(int port, byte[] request, int count, int timeoutMs) {
        String addr = "127.0.0.1:" + port;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        Socket s = new Socket();
        // A blocking write cannot time out: at the deadline the socket is closed,
        // which ends a connect, a write or a read at once.
        Closer closer = new Closer(s, deadline);
        Thread closing = new Thread(closer, "graceful-shutdown-handoff");
        closing.setDaemon(true);
        closing.start();
        boolean written = false;
        try (Socket socket = s) {
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}), port),
                    Math.max(1, left(deadline)));
            socket.getOutputStream().write(request);
            socket.getOutputStream().flush();
            written = true;
            byte[] answer = readAnswer(socket, deadline);
            return interpret(answer, addr, count);
        } catch (IOException | RuntimeException e) {
            boolean late = closer.fired.get() || e instanceof SocketTimeoutException;
            if (!written) {
                return HandoffResult.notSent((late ? "no connection to" : "cannot send to") + " the extension on " + addr
                        + (late ? " within " + timeoutMs + " ms (library.handoffTimeoutMs)" : ": " + e));
            }
            return HandoffResult.unanswered("no answer from the extension on " + addr
                    + (late ? " within " + timeoutMs + " ms (library.handoffTimeoutMs)" : ": " + e)
                    + "; it may have taken the handoff");
        } finally {
            closer.cancel();
            closing.interrupt();
        }
    }

    private static int left(long deadline) {
        return (int) Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
    }

    /** The answer: its head and, by its Content-Length or until the extension closes, its body. */
    private static byte[] readAnswer(Socket socket, long deadline) throws IOException {
        InputStream in = socket.getInputStream();
        ByteArrayOutputStream got = new ByteArrayOutputStream(256);
        byte[] buf = new byte[4096];
        while (got.size() < MAX_ANSWER_BYTES) {
            int wait = left(deadline);
            if (wait <= 0) {
                throw new SocketTimeoutException("handoff answer");
            }
            socket.setSoTimeout(wait);
            int n = in.read(buf);
            if (n < 0) {
                break;
            }
            got.write(buf, 0, n);
            int whole = length(got.toByteArray());
            if (whole >= 0 && got.size() >= whole) {
                return java.util.Arrays.copyOf(got.toByteArray(), whole);
            }
        }
        byte[] all = got.toByteArray();
        if (headEnd(all) < 0) {
            throw new IOException(all.length == 0 ? "closed without an answer" : "closed in the middle of the answer");
        }
        return all;
    }

    /** Where the head ends (the index after its blank line), or -1. */
    private static int headEnd(byte[] b) {
        for (int i = 0; i + 3 < b.length; i++) {
            if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n') {
                return i + 4;
            }
        }
        return -1;
    }

    /** The answer's whole length once its head is in and says Content-Length; else -1. */
    private static int length(byte[] b) {
        int end = headEnd(b);
        if (end < 0) {
            return -1;
        }
        String[] lines = new String(b, 0, end, StandardCharsets.ISO_8859_1).split("\r\n");
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0 && lines[i].substring(0, colon).strip().toLowerCase(Locale.ROOT).equals("content-length")) {
                try {
                    return end + Integer.parseInt(lines[i].substring(colon + 1).strip());
                } catch (NumberFormatException e) {
                    return -1;
                }
            }
        }
        return -1;
    }

    private static HandoffResult interpret(byte[] answer, String addr, int count) {
        int end = headEnd(answer);
        String head = new String(answer, 0, end, StandardCharsets.ISO_8859_1);
        String line = head.substring(0, Math.max(0, head.indexOf("\r\n")));
        String[] parts = line.split(" ", 3);
        int status;
        try {
            if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
                throw new NumberFormatException();
            }
            status = Integer.parseInt(parts[1]);
        } catch (NumberFormatException e) {
            return HandoffResult.unanswered("the extension on " + addr + " answered with something not HTTP");
        }
        String message = new String(answer, end, answer.length - end, StandardCharsets.UTF_8).strip();
        if (status != 202) {
            if (message.isEmpty() && parts.length == 3) {
                message = parts[2];
            }
            return HandoffResult.refused(status, message);
        }
        // Taken whole; the counts as the extension says them.
        int accepted = count;
        int held = 0;
        try {
            Object parsed = Json.parse(message);
            if (parsed instanceof Map) {
                Map<?, ?> m = (Map<?, ?>) parsed;
                if (m.get("accepted") instanceof Number) {
                    accepted = ((Number) m.get("accepted")).intValue();
                }
                if (m.get("held") instanceof Number) {
                    held = ((Number) m.get("held")).intValue();
                }
            }
        } catch (IllegalArgumentException e) {
            // not the counts: taken all the same
        }
        return HandoffResult.taken(status, accepted, held);
    }

    /** Closes the socket at the deadline, unless cancelled first. */
    private static final class Closer implements Runnable {
        private final Socket socket;
        private final long deadline;
        private final AtomicBoolean done = new AtomicBoolean();
        final AtomicBoolean fired = new AtomicBoolean();

        Closer(Socket socket, long deadline) {
            this.socket = socket;
            this.deadline = deadline;
        }

        void cancel() {
            done.set(true);
        }

        @Override
        public void run() {
            long wait;
            while ((wait = deadline - System.nanoTime()) > 0) {
                try {
                    TimeUnit.NANOSECONDS.sleep(wait);
                } catch (InterruptedException e) {
                    if (done.get()) {
                        return;
                    }
                }
            }
            if (!done.get()) {
                fired.set(true);
                try {
                    socket.close();
                } catch (IOException e) {
                    // closed already
                }
            }
        }
    }
}
