package io.github.gracefulshutdown.lambda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The signal's path is ready before the signal: in a child JVM that logs every
 * class it loads ({@code -Xlog:class+load}), installed with two handlers and
 * reporting to a loopback listener of this test, no class is loaded between
 * the end of the cold start and the first handler's first line after SIGTERM
 * (a lambda or method reference linked there would show as a class, too). On
 * a small CPU share each class loaded there costs milliseconds. Then the
 * handlers ran once, in order, with the protocol's reports, and the process
 * ended by the signal.
 */
class SignalPathTest {
    /** Accepts reports on loopback and answers each with 202; keeps the bodies. */
    static final class Listener implements AutoCloseable {
        final ServerSocket server;
        final List<String> bodies = Collections.synchronizedList(new ArrayList<>());
        final Thread thread;

        Listener() throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
            thread = new Thread(this::serve, "signal-path-listener");
            thread.setDaemon(true);
            thread.start();
        }

        int port() {
            return server.getLocalPort();
        }

        private void serve() {
            while (!server.isClosed()) {
                try (Socket s = server.accept()) {
                    s.setSoTimeout(10_000);
                    bodies.add(readBody(s.getInputStream()));
                    s.getOutputStream().write("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
                } catch (IOException e) {
                    // closed, or a connection cut short: the next one
                }
            }
        }

        private static String readBody(InputStream in) throws IOException {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            int headEnd = -1;
            int length = 0;
            byte[] chunk = new byte[4096];
            while (true) {
                String text = buf.toString(StandardCharsets.UTF_8);
                if (headEnd < 0 && (headEnd = text.indexOf("\r\n\r\n")) >= 0) {
                    for (String line : text.substring(0, headEnd).split("\r\n")) {
                        if (line.toLowerCase().startsWith("content-length:")) {
                            length = Integer.parseInt(line.substring(15).trim());
                        }
                    }
                }
                byte[] all = buf.toByteArray();
                if (headEnd >= 0 && all.length >= headEnd + 4 + length) {
                    return new String(all, headEnd + 4, length, StandardCharsets.UTF_8);
                }
                int n = in.read(chunk);
                if (n < 0) {
                    throw new IOException("cut short");
                }
                buf.write(chunk, 0, n);
            }
        }

        List<String> types() {
            List<String> out = new ArrayList<>();
            synchronized (bodies) {
                for (String b : bodies) {
                    int at = b.indexOf("\"type\":\"") + 8;
                    String type = b.substring(at, b.indexOf('"', at));
                    int h = b.indexOf("\"handler\":\"");
                    out.add(h < 0 ? type : type + " " + b.substring(h + 11, b.indexOf('"', h + 11)));
                }
            }
            return out;
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    static Path codeSource(Class<?> c) throws Exception {
        return Paths.get(c.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"in-order", "concurrent"})
    void noClassIsLoadedBetweenSigtermAndTheFirstHandler(String mode, @TempDir Path tmp) throws Exception {
        Path secret = tmp.resolve("secret");
        Files.writeString(secret, "signal-path-secret\n");
        Path out = tmp.resolve("child.out");
        try (Listener listener = new Listener()) {
            String javaBin = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
            String cp = codeSource(GracefulShutdown.class) + File.pathSeparator
                    + codeSource(SignalPathFixture.class);
            ProcessBuilder pb = new ProcessBuilder(javaBin, "-Xlog:class+load=info:stdout:uptime,tags", "-cp", cp,
                    SignalPathFixture.class.getName(), mode)
                    .redirectErrorStream(true)
                    .redirectOutput(out.toFile());
            pb.environment().put(Limits.ENV_PORT, Integer.toString(listener.port()));
            pb.environment().put(Limits.ENV_SECRET_FILE, secret.toString());
            pb.environment().remove("AWS_LAMBDA_LOG_LEVEL");
            Process child = pb.start();
            try {
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (!Files.readAllLines(out).contains("READY")) {
                    if (!child.isAlive() || System.nanoTime() - until > 0) {
                        fail("the child never got ready:\n" + Files.readString(out));
                    }
                    Thread.sleep(20);
                }
                child.destroy(); // SIGTERM
                assertTrue(child.waitFor(30, TimeUnit.SECONDS), "the child did not end:\n" + Files.readString(out));
            } finally {
                child.destroyForcibly();
            }
            List<String> lines = Files.readAllLines(out);
            String all = String.join("\n", lines);
            int ready = lines.indexOf("READY");
            int first = lines.indexOf("HANDLER first");
            assertTrue(first > ready, "the first handler never ran after READY:\n" + all);
            // The log works: the library's classes were loaded, before READY.
            String runnerLoaded = "[class,load] " + Runner.class.getName() + " source: ";
            assertTrue(lines.subList(0, ready).stream().anyMatch(l -> l.contains(runnerLoaded)),
                    "no class loading log:\n" + all);
            List<String> loaded = new ArrayList<>();
            for (String l : lines.subList(ready + 1, first)) {
                if (l.contains("[class,load]")) {
                    loaded.add(l);
                }
            }
            assertEquals(List.of(), loaded, "classes loaded between READY (then SIGTERM) and the first handler's line");
            assertEquals(143, child.exitValue(), "ended by SIGTERM sent again:\n" + all);
            assertTrue(lines.contains("HANDLER second"), all);
            List<String> expected = mode.equals("concurrent")
                    ? List.of("hello", "shutdownStarted", "started first", "started second", "finished first",
                            "finished second", "allDone")
                    : List.of("hello", "shutdownStarted", "started first", "finished first", "started second",
                            "finished second", "allDone");
            assertEquals(expected, listener.types(), all);
        }
    }
}
