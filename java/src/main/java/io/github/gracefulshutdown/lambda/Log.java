package io.github.gracefulshutdown.lambda;

import java.io.PrintStream;
import java.util.Locale;

/**
 * The library's log lines: one line each on standard error (which the Lambda
 * Java runtime sends to CloudWatch Logs), written and flushed at once, so that
 * a line is out before the process ends. The level is Lambda's
 * {@code AWS_LAMBDA_LOG_LEVEL} (default INFO); with
 * {@code AWS_LAMBDA_LOG_FORMAT=JSON} each line is one JSON object.
 */
final class Log {
    private Log() {}

    static final int DEBUG = 10;
    static final int INFO = 20;
    static final int WARN = 30;
    static final int ERROR = 40;

    private static final int LEVEL = level(System.getenv("AWS_LAMBDA_LOG_LEVEL"));
    private static final boolean JSON = "JSON".equalsIgnoreCase(String.valueOf(System.getenv("AWS_LAMBDA_LOG_FORMAT")).strip());

    static int level(String raw) {
        if (raw == null) {
            return INFO;
        }
        switch (raw.strip().toUpperCase(Locale.ROOT)) {
            case "TRACE": case "DEBUG": return DEBUG;
            case "WARN": case "WARNING": return WARN;
            case "ERROR": case "FATAL": return ERROR;
            default: return INFO;
        }
    }

    /** A thread whose lines are dropped: the one rehearsing the shutdown at cold start. */
    private static volatile Thread muted;

    static void mute(Thread thread) {
        muted = thread;
    }

    static boolean enabled(int level) {
        return level >= LEVEL && muted != Thread.currentThread();
    }

    static void debug(String message) {
        emit(DEBUG, "DEBUG", message);
    }

    static void info(String message) {
        emit(INFO, "INFO", message);
    }

    static void warn(String message) {
        emit(WARN, "WARN", message);
    }

    static void error(String message) {
        emit(ERROR, "ERROR", message);
    }

    private static void emit(int level, String name, String message) {
        if (!enabled(level)) {
            return;
        }
        String line = JSON
                ? "{\"level\":\"" + name + "\",\"logger\":\"lambda-graceful-shutdown\",\"message\":" + Json.quote(message) + "}"
                : name + " " + message;
        PrintStream err = System.err;
        synchronized (err) {
            err.println(line);
            err.flush();
        }
    }

    /**
     * Loads what writing a line takes (the character encoder of a print
     * stream), without writing one: at cold start, so that the first line at
     * SIGTERM does not wait for class loading.
     */
    static void warmUp() {
        String enc = System.getProperty("stderr.encoding", System.getProperty("sun.stderr.encoding"));
        java.nio.charset.Charset cs = java.nio.charset.Charset.defaultCharset();
        try {
            if (enc != null && java.nio.charset.Charset.isSupported(enc)) {
                cs = java.nio.charset.Charset.forName(enc);
            }
        } catch (IllegalArgumentException ignored) {
            // the default charset, then
        }
        PrintStream sink = new PrintStream(java.io.OutputStream.nullOutputStream(), false, cs);
        String line = JSON ? "{\"level\":\"INFO\",\"message\":" + Json.quote("x") + "}" : "INFO x";
        synchronized (sink) {
            sink.println(line);
            sink.flush();
        }
    }

    /** Flushes the standard streams, before the process ends. */
    static void flushAll() {
        System.out.flush();
        System.err.flush();
    }
}
