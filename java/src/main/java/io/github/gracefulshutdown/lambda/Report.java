package io.github.gracefulshutdown.lambda;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * One report of the protocol ({@code docs/protocol.md}), written exactly as the
 * Rust side ({@code graceful-shutdown-protocol}, serde_json) writes it: fields
 * in the order the Rust enum declares them, no spaces, text as UTF-8 with
 * serde_json's escapes. The HTTP request is written by hand: one tiny fixed
 * request to loopback, and the library has no dependencies.
 */
final class Report {
    /** The cut mark that ends a shortened text. */
    static final String CUT_MARK = "\u2026";

    final String type;
    private final List<String> keys = new ArrayList<>(6);
    private final List<Object> values = new ArrayList<>(6);

    private Report(String type) {
        this.type = type;
    }

    private Report with(String key, Object value) {
        keys.add(key);
        values.add(value);
        return this;
    }

    // The reports, with their fields in the order the Rust enum declares them.

    static Report hello(long pid, List<String> handlers, long timeoutMs, boolean concurrent, long firstIndex) {
        Report r = new Report("hello").with("pid", pid).with("handlers", List.copyOf(handlers))
                .with("timeoutMs", timeoutMs).with("concurrent", concurrent);
        return firstIndex != 0 ? r.with("firstIndex", firstIndex) : r;
    }

    static Report shutdownStarted(String signal) {
        return new Report("shutdownStarted").with("signal", signal);
    }

    static Report started(String handler, long index) {
        return new Report("started").with("handler", handler).with("index", index);
    }

    static Report finished(String handler, long index, long durationMs) {
        return new Report("finished").with("handler", handler).with("index", index).with("durationMs", durationMs);
    }

    static Report failed(String handler, long index, long durationMs, String error) {
        return new Report("failed").with("handler", handler).with("index", index).with("durationMs", durationMs)
                .with("error", fit(error, Limits.MAX_ERROR_BYTES));
    }

    static Report timedOut(String handler, long index, long durationMs) {
        return new Report("timedOut").with("handler", handler).with("index", index).with("durationMs", durationMs);
    }

    static Report allDone(long completed, long failed, long timedOut, long totalMs) {
        return new Report("allDone").with("completed", completed).with("failed", failed)
                .with("timedOut", timedOut).with("totalMs", totalMs);
    }

    /** The handler names of a {@code hello}, for tests. */
    @SuppressWarnings("unchecked")
    List<String> helloNames() {
        int i = keys.indexOf("handlers");
        return i < 0 ? Collections.emptyList() : (List<String>) values.get(i);
    }

    /** The JSON body, as serde_json writes it; from {@code worker} (null: none), as the last field. */
    String toJson(String worker) {
        StringBuilder out = new StringBuilder(96);
        out.append("{\"type\":");
        out.append('"').append(type).append('"');
        for (int i = 0; i < keys.size(); i++) {
            out.append(",\"").append(keys.get(i)).append("\":");
            write(out, values.get(i));
        }
        if (worker != null && !worker.isEmpty()) {
            out.append(",\"worker\":");
            out.append(Json.quote(fit(worker, Limits.MAX_WORKER_BYTES)));
        }
        return out.append('}').toString();
    }

    String toJson() {
        return toJson(null);
    }

    private static void write(StringBuilder out, Object value) {
        if (value instanceof String) {
            out.append('"');
            Json.escapeInto(out, clean((String) value));
            out.append('"');
        } else if (value instanceof List) {
            out.append('[');
            boolean first = true;
            for (Object o : (List<?>) value) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                write(out, o);
            }
            out.append(']');
        } else {
            out.append(value); // Integer, Long, Boolean
        }
    }

    /** The complete HTTP/1.1 request that carries this report (from {@code worker}) to the extension. */
    byte[] encodeRequest(int port, String secret, String worker) {
        return new Head(Limits.REPORT_PATH, port, secret).request(body(worker));
    }

    /** The JSON body as UTF-8, from {@code worker} (null: none). */
    byte[] body(String worker) {
        return toJson(worker).getBytes(StandardCharsets.UTF_8);
    }

    /** The complete HTTP/1.1 request that posts {@code body} to the extension's {@code path}: the one head of reports and handoffs. */
    static byte[] encodePost(String path, int port, String secret, byte[] body) {
        return new Head(path, port, secret).request(body);
    }

    /**
     * The head of a request to the extension, built once (the reporter builds
     * it when it is created, at cold start): at shutdown a report's request is
     * this head's bytes, the body's length, and the body, copied.
     */
    static final class Head {
        private static final byte[] END = "\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        /** Everything up to the value of {@code Content-Length}. */
        private final byte[] start;

        Head(String path, int port, String secret) {
            String head = "POST " + path + " HTTP/1.1\r\n"
                    + "Host: 127.0.0.1:" + port + "\r\n"
                    + "Content-Type: application/json\r\n"
                    + Limits.SECRET_HEADER + ": " + secret + "\r\n"
                    + "Content-Length: ";
            this.start = head.getBytes(StandardCharsets.US_ASCII);
        }

        /** The request that carries {@code body}. */
        byte[] request(byte[] body) {
            int n = body.length;
            int digits = 1;
            for (int x = n; x >= 10; x /= 10) {
                digits++;
            }
            byte[] all = new byte[start.length + digits + END.length + n];
            System.arraycopy(start, 0, all, 0, start.length);
            int at = start.length + digits;
            for (int x = n, i = at - 1; i >= start.length; i--, x /= 10) {
                all[i] = (byte) ('0' + x % 10);
            }
            System.arraycopy(END, 0, all, at, END.length);
            System.arraycopy(body, 0, all, at + END.length, n);
            return all;
        }
    }

    // Text cuts (rust/protocol/src/text.rs).

    /** {@code text} as valid Unicode: a lone surrogate becomes {@code ?}, as a UTF-8 encoder writes it. */
    static String clean(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isSurrogate(c)) {
                return cleanSlow(text);
            }
        }
        return text;
    }

    private static String cleanSlow(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                out.append(c).append(text.charAt(++i));
            } else if (Character.isSurrogate(c)) {
                out.append('?');
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /** Bytes the code point {@code cp} takes in a JSON string. */
    static int jsonLen(int cp) {
        switch (cp) {
            case '"': case '\\': case '\b': case '\f': case '\n': case '\r': case '\t':
                return 2;
            default:
                if (cp < 0x20) {
                    return 6;
                }
                if (cp < 0x80) {
                    return 1;
                }
                if (cp < 0x800) {
                    return 2;
                }
                return cp < 0x10000 ? 3 : 4;
        }
    }

    /** Bytes {@code text} takes as a JSON string, without the quotes. */
    static int jsonStringLen(String text) {
        int n = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            n += jsonLen(cp);
            i += Character.charCount(cp);
        }
        return n;
    }

    /**
     * {@code text}, or its start cut on a character boundary and ending with
     * {@code …}, taking at most {@code maxBytes} once escaped as a JSON string.
     */
    static String fit(String text, int maxBytes) {
        text = clean(text);
        if (jsonStringLen(text) <= maxBytes) {
            return text;
        }
        int mark = jsonLen(CUT_MARK.codePointAt(0));
        int room = maxBytes >= mark ? maxBytes - mark : maxBytes;
        int used = 0;
        int end = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            int n = jsonLen(cp);
            if (used + n > room) {
                break;
            }
            used += n;
            i += Character.charCount(cp);
            end = i;
        }
        return text.substring(0, end) + (maxBytes >= mark ? CUT_MARK : "");
    }

    /**
     * The {@code hello} reports announcing {@code handlers}: one, unless the names
     * do not fit in one body ({@code worker} included); then as many as needed,
     * each within the limit, the later ones with {@code firstIndex}. Names are
     * cut to {@code maxNameBytes} first.
     */
    static List<Report> helloReports(long pid, List<String> handlers, long timeoutMs, boolean concurrent, String worker) {
        List<Report> reports = new ArrayList<>();
        int first = 0;
        List<String> names = new ArrayList<>();
        int size = utf8Len(hello(pid, List.of(), timeoutMs, concurrent, first).toJson(worker));
        for (int index = 0; index < handlers.size(); index++) {
            String name = fit(handlers.get(index), Limits.MAX_NAME_BYTES);
            int cost = jsonStringLen(name) + 2 + (names.isEmpty() ? 0 : 1);
            if (!names.isEmpty() && size + cost > Limits.MAX_REPORT_BYTES) {
                reports.add(hello(pid, names, timeoutMs, concurrent, first));
                names = new ArrayList<>();
                first = index;
                size = utf8Len(hello(pid, List.of(), timeoutMs, concurrent, first).toJson(worker));
                cost = jsonStringLen(name) + 2;
            }
            size += cost;
            names.add(name);
        }
        reports.add(hello(pid, names, timeoutMs, concurrent, first));
        return reports;
    }

    private static int utf8Len(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    @Override
    public String toString() {
        return toJson();
    }
}
