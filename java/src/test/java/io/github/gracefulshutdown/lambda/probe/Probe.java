package io.github.gracefulshutdown.lambda.probe;

import io.github.gracefulshutdown.lambda.GracefulShutdown;
import io.github.gracefulshutdown.lambda.HandoffRequest;
import io.github.gracefulshutdown.lambda.HandoffResult;
import io.github.gracefulshutdown.lambda.ShutdownHandler;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import sun.misc.Signal;

/**
 * The Java probe of the shared end-to-end cases ({@code tests/cases/shutdown.json},
 * the contract at its top; the Rust one is
 * {@code rust/lambda-graceful-shutdown/examples/probe.rs}): a Lambda function on
 * the Java runtime client, handler {@code io.github.gracefulshutdown.lambda.probe.Probe::handleRequest},
 * configured by environment variables.
 *
 * <ul>
 * <li>{@code PROBE_HANDLERS}: comma-separated {@code name:behaviour}, registered in this
 * order (default {@code flush:ok}): {@code ok}, {@code sleep=<ms>}, {@code error}
 * (an exception, {@code injected error in <name>}), {@code panic} (an {@link Error},
 * {@code injected panic in <name>}), {@code handoff} (hands off one {@code POST} to
 * {@code PROBE_HANDOFF_URL} with the body {@code {"handler":"<name>","pad":"x..."}}, padded to
 * {@code PROBE_HANDOFF_BYTES} (default: no pad), id {@code <name>-1}, with
 * {@link GracefulShutdown#handoff}; appends {@code handoff <name> taken} or
 * {@code handoff <name> refused <status> <message>}, status {@code -} when there was none),
 * {@code forged} (a handoff with a wrong secret to the extension's port, as a request
 * forgery would send; appends {@code forged <name> <status>}), as the Rust probe does.
 * A malformed list: one line on stderr naming {@code PROBE_HANDLERS}, exit status 2.
 * <li>{@code PROBE_OUTPUT}: file the probe appends lines to: {@code invoke <n>},
 * {@code start <name>}, {@code <name>}.
 * <li>{@code PROBE_CONCURRENT=1}: run the handlers concurrently.
 * <li>{@code PROBE_IGNORE_SIGTERM=1}: no library; SIGTERM caught and ignored.
 * <li>{@code PROBE_HOOK=exit} or {@code halt} (Java only): no library; a hand-written JVM
 * shutdown hook that sleeps 50 ms and appends {@code hook}, then returns ({@code exit}: the
 * JVM exits by itself) or calls {@code Runtime.halt(0)}. How the JVM ends without the library.
 * </ul>
 *
 * Events: {@code {"action":"sleep","ms":N}}, {@code {"action":"crash"}} (SIGABRT),
 * {@code {"action":"exit","code":N}} ({@code System.exit}); anything else is echoed.
 */
public class Probe {
    private static final Path OUTPUT = output();
    private static final AtomicInteger INVOCATIONS = new AtomicInteger();
    private static final Pattern ACTION = Pattern.compile("\"action\"\\s*:\\s*\"(\\w+)\"");
    private static final Pattern MS = Pattern.compile("\"ms\"\\s*:\\s*(\\d+)");
    private static final Pattern CODE = Pattern.compile("\"code\"\\s*:\\s*(-?\\d+)");

    static {
        setUp();
    }

    private static Path output() {
        String p = System.getenv("PROBE_OUTPUT");
        return p == null || p.isEmpty() ? null : Paths.get(p);
    }

    private static boolean flag(String name) {
        String v = System.getenv(name);
        return "1".equals(v) || "true".equals(v);
    }

    /** Appends one whole line ({@code O_APPEND}: concurrent handlers' lines stay intact). */
    static void line(String text) {
        if (OUTPUT == null) {
            return;
        }
        try {
            Files.write(OUTPUT, (text + "\n").getBytes(StandardCharsets.UTF_8),
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
        } catch (IOException e) {
            System.err.println("probe: cannot append to PROBE_OUTPUT " + OUTPUT + ": " + e);
        }
    }

    /** {@code name:behaviour} pairs of {@code PROBE_HANDLERS}; the error names the variable and the item. */
    static List<String[]> parseHandlers(String raw) {
        List<String[]> out = new ArrayList<>();
        for (String item : raw.split(",")) {
            item = item.strip();
            if (item.isEmpty()) {
                continue;
            }
            int colon = item.indexOf(':');
            String why = null;
            if (colon < 0) {
                why = "missing ':'";
            } else if (colon == 0) {
                why = "empty handler name";
            } else {
                String b = item.substring(colon + 1);
                if (!b.equals("ok") && !b.equals("error") && !b.equals("panic") && !b.equals("handoff")
                        && !b.equals("forged") && !b.matches("sleep=\\d+")) {
                    why = "unknown behaviour";
                }
            }
            if (why != null) {
                throw new IllegalArgumentException("PROBE_HANDLERS: " + why + " in \"" + item
                        + "\"; expected name:ok, name:sleep=<ms>, name:error, name:panic, name:handoff or name:forged");
            }
            out.add(new String[] {item.substring(0, colon), item.substring(colon + 1)});
        }
        return out;
    }

    static ShutdownHandler handler(String name, String behaviour) {
        return () -> {
            line("start " + name);
            if (behaviour.startsWith("sleep=")) {
                Thread.sleep(Long.parseLong(behaviour.substring(6)));
            } else if (behaviour.equals("error")) {
                throw new IllegalStateException("injected error in " + name);
            } else if (behaviour.equals("panic")) {
                throw new Error("injected panic in " + name);
            } else if (behaviour.equals("handoff")) {
                handoff(name);
            } else if (behaviour.equals("forged")) {
                line("forged " + name + " " + forged());
            }
            line(name);
        };
    }

    private static void handoff(String name) {
        String raw = System.getenv("PROBE_HANDOFF_BYTES");
        int pad = raw == null || raw.isEmpty() ? 0 : Integer.parseInt(raw.strip());
        String body = "{\"handler\":\"" + name.replace("\\", "\\\\").replace("\"", "\\\"") + "\",\"pad\":\""
                + "x".repeat(Math.max(0, pad)) + "\"}";
        String url = System.getenv("PROBE_HANDOFF_URL");
        HandoffResult r = GracefulShutdown.handoff(HandoffRequest.of("POST", url == null ? "" : url)
                .withId(name + "-1")
                .withHeader("content-type", "application/json")
                .withBody(body));
        if (r.taken()) {
            line("handoff " + name + " taken");
        } else {
            line("handoff " + name + " refused " + (r.status() == 0 ? "-" : Integer.toString(r.status())) + " "
                    + r.message());
        }
    }

    /** A handoff with a wrong secret to the extension's port: the status code of its answer. */
    private static String forged() {
        String port = System.getenv("GRACEFUL_SHUTDOWN_PORT");
        String body = "{\"type\":\"handoff\",\"requests\":[{\"method\":\"POST\",\"url\":\"http://127.0.0.1:9/forged\"}]}";
        String request = "POST /v1/handoff HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "x-graceful-shutdown-secret: " + "0".repeat(64) + "\r\nContent-Length: " + body.length()
                + "\r\nConnection: close\r\n\r\n" + body;
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port == null || port.isEmpty() ? 4471 : Integer.parseInt(port)), 200);
            s.setSoTimeout(200);
            s.getOutputStream().write(request.getBytes(StandardCharsets.UTF_8));
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            String[] parts = answer.split(" ", 3);
            return parts.length >= 2 ? parts[1] : "none";
        } catch (IOException | RuntimeException e) {
            return "error " + e;
        }
    }

    private static void setUp() {
        String raw = System.getenv("PROBE_HANDLERS");
        List<String[]> handlers;
        try {
            handlers = parseHandlers(raw == null ? "flush:ok" : raw);
        } catch (IllegalArgumentException e) {
            System.err.println("probe: " + e.getMessage());
            System.exit(2);
            return;
        }
        String hook = System.getenv("PROBE_HOOK");
        if (hook != null && !hook.isEmpty()) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                line("hook");
                if (hook.equals("halt")) {
                    Runtime.getRuntime().halt(0);
                }
            }));
            return;
        }
        if (flag("PROBE_IGNORE_SIGTERM")) {
            Signal.handle(new Signal("TERM"), s -> {
                System.err.println("probe: SIGTERM ignored (PROBE_IGNORE_SIGTERM=1)");
                System.err.flush();
            });
            return;
        }
        GracefulShutdown shutdown = GracefulShutdown.fromEnv().concurrent(flag("PROBE_CONCURRENT"));
        for (String[] h : handlers) {
            shutdown.onShutdown(h[0], handler(h[0], h[1]));
        }
        shutdown.install();
    }

    public void handleRequest(InputStream in, OutputStream out) throws IOException, InterruptedException {
        int n = INVOCATIONS.incrementAndGet();
        line("invoke " + n);
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        in.transferTo(buf);
        String event = buf.toString(StandardCharsets.UTF_8);
        Matcher action = ACTION.matcher(event);
        if (action.find()) {
            switch (action.group(1)) {
                case "crash":
                    // What abort() does: SIGABRT with its default action. The JVM has no
                    // handler for it, and sun.misc.Signal.raise only raises handled signals.
                    System.err.flush();
                    new ProcessBuilder("/bin/sh", "-c", "kill -s ABRT " + ProcessHandle.current().pid())
                            .inheritIO().start().waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
                    Runtime.getRuntime().halt(134); // only if SIGABRT did not end it
                    break;
                case "exit": {
                    Matcher code = CODE.matcher(event);
                    System.exit(code.find() ? Integer.parseInt(code.group(1)) : 1);
                    break;
                }
                case "sleep": {
                    Matcher ms = MS.matcher(event);
                    Thread.sleep(ms.find() ? Long.parseLong(ms.group(1)) : 0);
                    break;
                }
                default:
                    break;
            }
        }
        out.write(buf.toByteArray());
    }
}
