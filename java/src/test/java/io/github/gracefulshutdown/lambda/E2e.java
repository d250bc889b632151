package io.github.gracefulshutdown.lambda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * What the end-to-end tests share: the repository's paths, the probe function
 * staged as a Lambda code directory, the real shutdown layer, loopback ports
 * leased the way the other test kits do, and, for the tests that are not shared
 * cases (those run on the driver, {@link Conformance}), the emulator run to its
 * end and its JSON timeline.
 */
final class E2e {
    private E2e() {}

    static final Path REPO = Paths.get(System.getProperty("repo.root", "..")).toAbsolutePath().normalize();
    static final Path TARGET = Paths.get(Objects.requireNonNullElse(System.getenv("CARGO_TARGET_DIR"),
            REPO.resolve("target").toString())).toAbsolutePath();
    static final Path EMULATOR = TARGET.resolve("debug/lambda-emulator");
    static final Path LAYER_BINARY = TARGET.resolve("debug/graceful-shutdown");
    static final Path RUNTIMES = REPO.resolve(".runtimes");
    static final Path CLASSES = REPO.resolve("java/target/classes");
    static final Path TEST_CLASSES = REPO.resolve("java/target/test-classes");
    static final String HANDLER = "io.github.gracefulshutdown.lambda.probe.Probe::handleRequest";
    /**
     * The Java runtimes the cases run on: Lambda's oldest and newest here (java17
     * on the system JDK 17, java25 on Temurin 25); {@code -De2e.runtimes=java21}
     * for others.
     */
    static final List<String> RUNTIMES_UNDER_TEST = List.of(
            System.getProperty("e2e.runtimes", "java17,java25").split(","));
    /**
     * How the library ends the process: it sends itself the signal again with its
     * default action ({@link Signals#endBy}), so the runtime ends killed by
     * SIGTERM where a case says {@code code:0}, as the Node.js library's does.
     */
    static final String JAVA_CLEAN_EXIT = "signal:SIGTERM";

    /**
     * Whether a missing prerequisite fails the test ({@code -De2e.required=true}, as
     * {@code scripts/test.d/85-java.sh} runs the suite) or skips it, saying what is
     * missing: a plain {@code mvn package} outside the repository's suite still
     * makes the jar.
     */
    static final boolean REQUIRED = Boolean.getBoolean("e2e.required") || "true".equals(System.getenv("CI"));

    static Path require(Path p, String how) {
        if (!Files.exists(p)) {
            if (!REQUIRED) {
                org.junit.jupiter.api.Assumptions.abort(p + " is missing: " + how
                        + " (skipped; -De2e.required=true makes this a failure)");
            }
            fail(p + " is missing: " + how);
        }
        return p;
    }

    // -- staging

    /** A Lambda code directory: the library's classes (and limits.json) and the probe's, at the top. */
    static Path stageFunction(Path into) throws IOException {
        Path fn = into.resolve("fn");
        copyTree(require(CLASSES, "build the library first (mvn test-compile)"), fn);
        Path probe = Paths.get("io/github/gracefulshutdown/lambda/probe");
        copyTree(require(TEST_CLASSES.resolve(probe), "build the tests first"), fn.resolve(probe));
        return fn;
    }

    /** A layer directory with the shutdown extension at {@code extensions/graceful-shutdown}. */
    static Path stageLayer(Path into) throws IOException {
        Path layer = into.resolve("layer");
        Files.createDirectories(layer.resolve("extensions"));
        Path ext = layer.resolve("extensions/graceful-shutdown");
        Files.copy(require(LAYER_BINARY, "run `cargo build -p graceful-shutdown-extension`"), ext,
                StandardCopyOption.COPY_ATTRIBUTES);
        return layer;
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : walk.collect(Collectors.toList())) {
                Path dest = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(dest);
                } else {
                    Files.copy(p, dest, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    // -- ports

    /**
     * A loopback port from 20000-31999 (below the kernel's ephemeral range),
     * held with an exclusive {@code flock} on
     * {@code <temp dir>/graceful-shutdown-test-ports/<port>.lock} for as long as
     * the lease is open, as the Rust, Python and Node.js test kits hold theirs.
     * Java has no {@code flock}, so a {@code flock} child (util-linux) holds it
     * and says so on stdout once it does.
     */
    static final class Port implements AutoCloseable {
        static final int FIRST = 20_000;
        static final int END = 32_000;
        private static final Random RANDOM = new Random();
        final int port;
        private final Process holder;

        private Port(int port, Process holder) {
            this.port = port;
            this.holder = holder;
        }

        static Port lease() throws IOException, InterruptedException {
            Path dir = Paths.get(System.getProperty("java.io.tmpdir"), "graceful-shutdown-test-ports");
            Files.createDirectories(dir);
            int start = RANDOM.nextInt(END - FIRST);
            for (int i = 0; i < END - FIRST; i++) {
                int port = FIRST + (start + i) % (END - FIRST);
                Process holder = new ProcessBuilder("flock", "--nonblock", "--exclusive",
                        dir.resolve(port + ".lock").toString(), "sh", "-c", "echo held; exec cat")
                        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
                InputStream out = holder.getInputStream();
                int first = out.read(); // 'h' once held; -1 if flock refused
                if (first < 0) {
                    holder.waitFor(5, TimeUnit.SECONDS);
                    continue;
                }
                Port lease = new Port(port, holder);
                if (bindable(port)) {
                    return lease;
                }
                lease.close(); // locked by no cooperating test, but some other program uses it
            }
            throw new IOException("no free loopback port in " + FIRST + "-" + (END - 1));
        }

        private static boolean bindable(int port) {
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new InetSocketAddress(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}), port));
                return true;
            } catch (IOException e) {
                return false;
            }
        }

        @Override
        public void close() {
            try {
                holder.getOutputStream().close();
                if (!holder.waitFor(10, TimeUnit.SECONDS)) {
                    holder.destroyForcibly();
                }
            } catch (IOException | InterruptedException e) {
                holder.destroyForcibly();
            }
        }
    }

    // -- the emulator

    /** One emulator run: its exit status, the timeline's events and log lines. */
    static final class Run {
        final int returnCode;
        final List<Map<String, Object>> events;
        final List<Map<String, Object>> logs;
        final String stderr;

        Run(int returnCode, List<Map<String, Object>> events, List<Map<String, Object>> logs, String stderr) {
            this.returnCode = returnCode;
            this.events = events;
            this.logs = logs;
            this.stderr = stderr;
        }

        List<Map<String, Object>> of(String source, String kind) {
            List<Map<String, Object>> out = new ArrayList<>();
            for (Map<String, Object> e : events) {
                if (source.equals(e.get("source")) && (kind == null || kind.equals(e.get("kind")))) {
                    out.add(e);
                }
            }
            return out;
        }

        List<String> signals(String source) {
            return of(source, "signal").stream().map(e -> (String) e.get("signal")).collect(Collectors.toList());
        }

        Double firstAt(String source, String kind) {
            List<Map<String, Object>> found = of(source, kind);
            return found.isEmpty() ? null : ((Number) found.get(0).get("at_ms")).doubleValue();
        }

        String exitOf(String source) {
            for (Map<String, Object> e : of(source, "exited")) {
                if (e.get("code") != null) {
                    return "code:" + e.get("code");
                }
                return "signal:" + e.get("signal");
            }
            return null;
        }

        List<String> lines(String source) {
            return logs.stream().filter(l -> source.equals(l.get("source"))).map(l -> (String) l.get("line"))
                    .collect(Collectors.toList());
        }

        /** When the first runtime line containing {@code text} was logged, or null. */
        Double lineAt(String source, String text) {
            for (Map<String, Object> l : logs) {
                if (source.equals(l.get("source")) && ((String) l.get("line")).contains(text)) {
                    return ((Number) l.get("at_ms")).doubleValue();
                }
            }
            return null;
        }

        String verdictLine() {
            for (Map<String, Object> l : logs) {
                String line = (String) l.get("line");
                if (line.contains("graceful-shutdown verdict")) {
                    return line;
                }
            }
            return null;
        }

        Double sigtermAt() {
            for (Map<String, Object> e : of("runtime", "signal")) {
                if ("SIGTERM".equals(e.get("signal"))) {
                    return ((Number) e.get("at_ms")).doubleValue();
                }
            }
            return null;
        }

        /** The whole timeline, for failure messages. */
        String describe() {
            List<String[]> rows = new ArrayList<>();
            for (Map<String, Object> e : events) {
                Map<String, Object> rest = new LinkedHashMap<>(e);
                rest.remove("at_ms");
                rest.remove("source");
                rows.add(new String[] {String.format("%09.1f", ((Number) e.get("at_ms")).doubleValue()),
                        (String) e.get("source"), rest.toString()});
            }
            for (Map<String, Object> l : logs) {
                rows.add(new String[] {String.format("%09.1f", ((Number) l.get("at_ms")).doubleValue()),
                        (String) l.get("source"), "| " + l.get("line")});
            }
            rows.sort((a, b) -> a[0].compareTo(b[0]));
            StringBuilder out = new StringBuilder("emulator exit " + returnCode + "\n");
            for (String[] r : rows) {
                out.append(String.format("%9s ms  %-18s %s%n", r[0].replaceFirst("^0+(?=\\d)", ""), r[1], r[2]));
            }
            return out.append("stderr:\n").append(stderr).toString();
        }
    }

    /** Runs the emulator once, to the end, and parses its JSON timeline. */
    @SuppressWarnings("unchecked")
    static Run runEmulator(Path fn, Path layer, String runtime, Map<String, String> env, List<String> events,
                           int invocations, int timeoutMs, int runtimeShareMs, int shutdownMs, List<String> extra)
            throws IOException, InterruptedException {
        require(EMULATOR, "run `cargo build -p gracefulctl -p graceful-shutdown-extension`");
        require(RUNTIMES.resolve("java/lib"), "run `bash scripts/setup.d/60-java.sh` (it installs the Java client)");
        List<String> args = new ArrayList<>(List.of(EMULATOR.toString(), "--function-dir", fn.toString(), "--json",
                "--runtime", runtime, "--handler", HANDLER,
                "--invocations", Integer.toString(invocations), "--timeout-ms", Integer.toString(timeoutMs),
                "--runtime-share-ms", Integer.toString(runtimeShareMs), "--shutdown-ms", Integer.toString(shutdownMs)));
        if (layer != null) {
            args.add("--layer-dir");
            args.add(layer.toString());
        }
        for (int i = 0; i < events.size(); i++) {
            Path p = fn.getParent().resolve("event-" + i + ".json");
            Files.writeString(p, events.get(i));
            args.add("--event");
            args.add(p.toString());
        }
        for (Map.Entry<String, String> e : env.entrySet()) {
            args.add("--env");
            args.add(e.getKey() + "=" + e.getValue());
        }
        args.addAll(extra);
        ProcessBuilder pb = new ProcessBuilder(args);
        pb.environment().keySet().removeIf(k -> k.startsWith("GRACEFUL_SHUTDOWN_"));
        pb.environment().put("LAMBDA_EMULATOR_RUNTIMES", RUNTIMES.toString());
        Path out = fn.getParent().resolve("emulator.out");
        Path err = fn.getParent().resolve("emulator.err");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            fail("the emulator did not end within 120 s:\n" + Files.readString(err));
        }
        String stdout = Files.readString(out);
        String stderr = Files.readString(err);
        Map<String, Object> timeline;
        try {
            timeline = (Map<String, Object>) Json.parse(stdout);
        } catch (IllegalArgumentException e) {
            throw new AssertionError("the emulator printed no JSON timeline (exit " + p.exitValue() + "):\n"
                    + stdout + "\n" + stderr);
        }
        return new Run(p.exitValue(), (List<Map<String, Object>>) (List<?>) timeline.get("events"),
                (List<Map<String, Object>>) (List<?>) timeline.get("logs"), stderr);
    }

    static List<String> readLines(Path p) throws IOException {
        return Files.exists(p) ? Files.readAllLines(p, StandardCharsets.UTF_8) : List.of();
    }

    static int num(Object o) {
        return ((Number) o).intValue();
    }

    /** Every log line of the run, for the driver's verdict reader. */
    static List<String> allLines(Run run) {
        return run.logs.stream().map(l -> (String) l.get("line")).collect(Collectors.toList());
    }

    static void deleteTree(Path root) {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).collect(Collectors.toList())) {
                Files.deleteIfExists(p);
            }
        } catch (IOException ignored) {
            // a scratch directory
        }
    }
}
