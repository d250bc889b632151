package io.github.gracefulshutdown.lambda;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A Java function under AWS's Runtime Interface Emulator (the open-source
 * Lambda core) with the real shutdown layer and the real Java client, as
 * {@code python/tests/support/rie.py} runs a Python one: in a private mount
 * and PID namespace ({@code unshare}, root) with the layer bind-mounted at
 * {@code /opt/extensions} and the code at {@code /var/task}, whose
 * {@code bootstrap} starts the client's {@code AWSLambda} main with the
 * handler; SIGTERM to the RIE runs the shutdown phase. Every wait is for
 * something the RIE logs, with a deadline.
 */
final class Rie {
    private Rie() {}

    static final String[] NEXT_MARKERS = {"GET /2018-06-01/runtime/invocation/next", "Received Runtime /next"};

    /** The pinned RIE: {@code AWS_LAMBDA_RIE}, else where {@code scripts/rie-compare.sh} installs it. */
    static Path binary() throws IOException {
        String explicit = System.getenv("AWS_LAMBDA_RIE");
        if (explicit != null && !explicit.isEmpty()) {
            return Paths.get(explicit);
        }
        String script = Files.readString(E2e.REPO.resolve("scripts/rie-compare.sh"));
        Matcher m = Pattern.compile("(?m)^VERSION=(\\S+)$").matcher(script);
        assertTrue(m.find(), "scripts/rie-compare.sh has no VERSION= line");
        return E2e.require(E2e.TARGET.resolve("rie/" + m.group(1) + "/aws-lambda-rie"),
                "run `bash scripts/rie-compare.sh` (it installs the pinned RIE)");
    }

    /** Whether this machine can run the RIE the way the tests do (root, unshare). */
    static String cannotRun() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "needs root (a private mount namespace for /opt/extensions)";
        }
        if (Stream.of("/usr/bin/unshare", "/bin/unshare").noneMatch(p -> Files.isExecutable(Paths.get(p)))) {
            return "unshare (util-linux) is not installed";
        }
        return null;
    }

    /** The result: the RIE's whole log (the runtime and the extension write to it too). */
    static final class Result {
        final List<String> log;

        Result(List<String> log) {
            this.log = log;
        }

        E2e.Run asRun() {
            List<Map<String, Object>> logs = new ArrayList<>();
            for (String line : log) {
                logs.add(Map.of("at_ms", 0.0, "source", "runtime", "line", line));
            }
            return new E2e.Run(0, List.of(), logs, "");
        }

        String describe() {
            return String.join("\n", log);
        }
    }

    /** Lays out the code (with its bootstrap), the layer and a directory everyone may write. */
    static Map<String, Path> stage(Path into, String runtime) throws IOException {
        Path task = E2e.stageFunction(into); // into/fn
        Path layer = into.resolve("extensions");
        Files.createDirectories(layer);
        Files.copy(E2e.LAYER_BINARY, layer.resolve("graceful-shutdown"));
        Path out = into.resolve("out");
        Files.createDirectories(out);
        // What the emulator runs for this runtime (its JDK, flags and class path), with
        // the code at /var/task: the emulator's own command, so both run the same JVM.
        List<String> command = javaCommand(runtime);
        StringBuilder sh = new StringBuilder("#!/bin/sh\nexec");
        for (String a : command) {
            sh.append(" '").append(a.replace("'", "'\\''")).append('\'');
        }
        sh.append(" \"$_HANDLER\"\n");
        Path bootstrap = task.resolve("bootstrap");
        Files.writeString(bootstrap, sh.toString());
        try (Stream<Path> walk = Files.walk(into)) {
            for (Path p : walk.collect(Collectors.toList())) {
                if (Files.isDirectory(p)) {
                    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
                } else if (!Files.isSymbolicLink(p)) {
                    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(
                            p.equals(bootstrap) || p.getFileName().toString().equals("graceful-shutdown")
                                    ? "rwxr-xr-x" : "rw-r--r--"));
                }
            }
        }
        Files.setPosixFilePermissions(out, PosixFilePermissions.fromString("rwxrwxrwx"));
        return Map.of("task", task, "layer", layer, "out", out);
    }

    /**
     * The emulator's command for {@code runtime} with /var/task as the code
     * directory, without the handler: asked of the emulator itself (its
     * {@code --print-runtime-command} is not a thing, so the class path is built
     * here the same way: /var/task, its jars, the client's jars).
     */
    static List<String> javaCommand(String runtime) throws IOException {
        int version = Integer.parseInt(runtime.substring("java".length()));
        Path java = jdkFor(version).resolve("bin/java");
        String cp = String.join(":", "/var/task", "/var/task/*", "/var/task/lib/*",
                E2e.RUNTIMES.resolve("java/lib").toAbsolutePath() + "/*");
        return List.of(java.toString(), "-XX:+TieredCompilation", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-cp", cp, "com.amazonaws.services.lambda.runtime.api.client.AWSLambda");
    }

    /** The JDK of {@code version}, else the oldest newer one, as the emulator chooses. */
    static Path jdkFor(int version) throws IOException {
        Path best = null;
        int bestVersion = Integer.MAX_VALUE;
        try (Stream<Path> dirs = Files.list(Paths.get("/usr/lib/jvm"))) {
            for (Path d : dirs.sorted().collect(Collectors.toList())) {
                Path release = d.resolve("release");
                if (!Files.isRegularFile(release) || !Files.isExecutable(d.resolve("bin/java"))) {
                    continue;
                }
                Matcher m = Pattern.compile("JAVA_VERSION=\"(?:1\\.)?(\\d+)").matcher(Files.readString(release));
                if (!m.find()) {
                    continue;
                }
                int v = Integer.parseInt(m.group(1));
                if (v >= version && v < bestVersion) {
                    best = d.toRealPath();
                    bestVersion = v;
                }
            }
        }
        if (best == null) {
            fail("no JDK " + version + " or later in /usr/lib/jvm");
        }
        return best;
    }

    private static List<Long> children(long pid) {
        List<Long> found = new ArrayList<>();
        try (Stream<Path> tasks = Files.list(Paths.get("/proc/" + pid + "/task"))) {
            for (Path t : tasks.collect(Collectors.toList())) {
                for (String s : Files.readString(t.resolve("children")).trim().split("\\s+")) {
                    if (!s.isEmpty()) {
                        found.add(Long.parseLong(s));
                    }
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // gone
        }
        return found;
    }

    private static List<String> waitLog(Path log, Predicate<List<String>> done, long deadline, String what)
            throws IOException, InterruptedException {
        while (true) {
            List<String> lines = Files.exists(log)
                    ? List.of(new String(Files.readAllBytes(log), StandardCharsets.UTF_8).split("\n")) : List.of();
            if (done.test(lines)) {
                return lines;
            }
            if (System.nanoTime() > deadline) {
                fail("the RIE never logged " + what + ":\n" + String.join("\n", lines));
            }
            Thread.sleep(5);
        }
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static String invoke(int port, String payload) throws IOException {
        byte[] body = payload.getBytes(StandardCharsets.UTF_8);
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            s.setSoTimeout(60_000);
            OutputStream out = s.getOutputStream();
            out.write(("POST /2015-03-31/functions/function/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Content-Type: application/json\r\nConnection: close\r\nContent-Length: " + body.length
                    + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static int countNext(List<String> lines) {
        int n = 0;
        for (String line : lines) {
            for (String m : NEXT_MARKERS) {
                if (line.contains(m)) {
                    n++;
                    break;
                }
            }
        }
        return n;
    }

    /** Invokes once per event, waits until the runtime is idle in next(), SIGTERMs the RIE. */
    static Result run(Map<String, Path> staged, Map<String, String> env, List<String> events)
            throws IOException, InterruptedException {
        Path rie = binary();
        Path work = staged.get("task").getParent();
        // The runtime writes to the RIE's stdout itself: on a disk busy with a
        // build's writeback one write can block past the runtime's share, so the
        // log lives on tmpfs where there is one.
        Path shm = Paths.get("/dev/shm");
        Path live = Files.isDirectory(shm) ? Files.createTempDirectory(shm, "graceful-shutdown-rie-") : null;
        Path log = (live != null ? live : work).resolve("rie.log");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        try (E2e.Port port = E2e.Port.lease(); E2e.Port apiPort = E2e.Port.lease()) {
            Path script = work.resolve("rie.sh");
            Files.writeString(script, "set -e\nmount -t tmpfs tmpfs /opt\nmkdir -p /opt/extensions /var/task\n"
                    + "mount --bind '" + staged.get("layer") + "' /opt/extensions\n"
                    + "mount --bind '" + staged.get("task") + "' /var/task\n"
                    + "cd /var/task\nexec '" + rie + "' --log-level debug --runtime-interface-emulator-address 127.0.0.1:"
                    + port.port + " --runtime-api-address 127.0.0.1:" + apiPort.port + " /var/task/bootstrap\n");
            ProcessBuilder pb = new ProcessBuilder("unshare", "--mount", "--propagation", "private", "--pid", "--fork",
                    "--kill-child=SIGTERM", "--mount-proc", "sh", script.toString());
            Map<String, String> full = pb.environment();
            full.clear();
            full.put("PATH", "/usr/bin:/bin");
            full.put("AWS_LAMBDA_FUNCTION_TIMEOUT", "10");
            full.put("_HANDLER", E2e.HANDLER);
            full.put("LAMBDA_TASK_ROOT", "/var/task");
            full.putAll(env);
            pb.redirectErrorStream(true).redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(
                    new java.io.File("/dev/null")));
            Process unshare = pb.start();
            try {
                // Both of its servers, or an extension may start before the Runtime API listens.
                while (!(listening(port.port) && listening(apiPort.port))) {
                    if (!unshare.isAlive()) {
                        fail("the RIE ended before listening:\n" + Files.readString(log));
                    }
                    if (System.nanoTime() > deadline) {
                        fail("the RIE did not listen on " + port.port + ":\n" + Files.readString(log));
                    }
                    Thread.sleep(10);
                }
                List<Long> kids = children(unshare.pid());
                if (kids.isEmpty()) {
                    fail("the RIE process was not found");
                }
                long riePid = kids.get(0);
                for (String payload : events) {
                    String answer = invoke(port.port, payload);
                    assertTrue(answer.startsWith("HTTP/1.1 200"), "RIE answered: " + answer + "\n" + Files.readString(log));
                }
                // Idle: the runtime called /next again after its last response.
                waitLog(log, lines -> countNext(lines) >= events.size() + 1, deadline, "the runtime idle in /next");
                ProcessHandle.of(riePid).ifPresent(ProcessHandle::destroy);
                waitLog(log, lines -> lines.stream().anyMatch(l -> l.contains("Waiting for runtime domain processes termination")),
                        deadline, "the end of the shutdown phase");
                ProcessHandle.of(riePid).ifPresent(ProcessHandle::destroy); // makes it exit
                if (!unshare.waitFor(10, TimeUnit.SECONDS)) {
                    unshare.descendants().forEach(ProcessHandle::destroyForcibly);
                    unshare.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } finally {
                if (unshare.isAlive()) {
                    unshare.descendants().forEach(ProcessHandle::destroyForcibly);
                    unshare.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
        String text = new String(Files.readAllBytes(log), StandardCharsets.UTF_8);
        if (live != null) {
            Files.writeString(work.resolve("rie.log"), text);
            Files.deleteIfExists(log);
            Files.deleteIfExists(live);
        }
        return new Result(List.of(text.split("\n")));
    }
}
