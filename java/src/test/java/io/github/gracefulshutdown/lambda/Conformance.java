package io.github.gracefulshutdown.lambda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The shared end-to-end cases ({@code tests/cases/shutdown.json}) run by the one
 * driver of every language, {@code shutdown-conformance} ({@code rust/conformance}):
 * the Java probe ({@code probe/Probe.java}) on the real Java runtime interface
 * client, with the real shutdown layer, in the emulator or under AWS's Runtime
 * Interface Emulator. The driver runs the case, reads the verdict and checks
 * every expectation; a test here names the case and asserts the driver's answer.
 *
 * <p>One documented difference: where a case expects the runtime to end by
 * itself with {@code code:0}, the library ends the JVM by the signal it got
 * sent again ({@link Signals#endBy}: every JVM exit waits 300 ms for the
 * client's native thread), so the driver is told {@code --clean-exit
 * signal:SIGTERM}, as for Node.js. Every other expectation is the case's own.
 */
final class Conformance {
    private Conformance() {}

    static final Path DRIVER = E2e.TARGET.resolve("debug/shutdown-conformance");

    static Path driver() {
        return E2e.require(DRIVER, "run `cargo build -p graceful-shutdown-conformance` (scripts/test.d/05-build.sh does)");
    }

    /** The cases the driver runs on {@code backend} (the RIE: those that need no emulator-only setting). */
    static List<String> caseNames(String backend) throws IOException, InterruptedException {
        if (!Files.isExecutable(DRIVER)) {
            // Listed by the tests themselves, which then say what is missing.
            return List.of("(the driver is missing)");
        }
        Process p = new ProcessBuilder(DRIVER.toString(), "--list", "--backend", backend)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "shutdown-conformance --list took over 60 s");
        assertEquals(0, p.exitValue(), "shutdown-conformance --list failed");
        List<String> names = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (!line.isBlank()) {
                names.add(line.strip());
            }
        }
        assertTrue(!names.isEmpty(), "the driver lists no case for " + backend);
        return names;
    }

    /** The driver's answer for one case: its JSON object, and the whole output for messages. */
    static final class Answer {
        final Map<String, Object> result;
        final String text;

        Answer(Map<String, Object> result, String text) {
            this.result = result;
            this.text = text;
        }

        @SuppressWarnings("unchecked")
        List<Map<String, Object>> events() {
            return (List<Map<String, Object>>) result.get("events");
        }

        @SuppressWarnings("unchecked")
        List<Map<String, Object>> logs() {
            return (List<Map<String, Object>>) result.get("logs");
        }

        /** {@code SIGTERM -> handlers start ..., SIGTERM -> process gone ...}, or null without a SIGTERM. */
        String figures() {
            Double term = null;
            Double gone = null;
            String exit = null;
            for (Map<String, Object> e : events()) {
                if (!"runtime".equals(e.get("source"))) {
                    continue;
                }
                double at = ((Number) e.get("at_ms")).doubleValue();
                if (term == null && "signal".equals(e.get("kind")) && "SIGTERM".equals(e.get("signal"))) {
                    term = at;
                }
                if (gone == null && "exited".equals(e.get("kind"))) {
                    gone = at;
                    exit = e.get("code") != null ? "code:" + e.get("code") : "signal:" + e.get("signal");
                }
            }
            if (term == null || gone == null) {
                return null;
            }
            Double start = null;
            for (Map<String, Object> l : logs()) {
                if ("runtime".equals(l.get("source")) && ((String) l.get("line")).contains("running shutdown handlers")) {
                    start = ((Number) l.get("at_ms")).doubleValue();
                    break;
                }
            }
            return String.format("SIGTERM -> handlers start %s ms, SIGTERM -> process gone %.1f ms (%s)",
                    start != null ? String.format("%.1f", start - term) : "-", gone - term, exit);
        }
    }

    /**
     * Runs case {@code name} on {@code backend} with the Java probe on
     * {@code runtime} ({@code java17}, {@code java25}) and asserts that the driver
     * checked every expectation and all held.
     */
    @SuppressWarnings("unchecked")
    static Answer runCase(String name, String backend, String runtime, Path tmp, List<String> extra)
            throws IOException, InterruptedException {
        Path driver = driver();
        E2e.require(E2e.RUNTIMES.resolve("java/lib"), "run `bash scripts/setup.d/60-java.sh` (it installs the Java client)");
        Path code = E2e.stageFunction(tmp);
        Path layer = E2e.stageLayer(tmp);
        Path work = Files.createDirectories(tmp.resolve("work"));
        List<String> argv = new ArrayList<>(List.of(driver.toString(), "--case", name, "--backend", backend,
                "--runtime", runtime, "--handler", E2e.HANDLER, "--code", code.toString(),
                "--layer", layer.toString(), "--clean-exit", E2e.JAVA_CLEAN_EXIT, "--work-dir", work.toString(),
                "--json"));
        argv.addAll(extra);
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().keySet().removeIf(k -> k.startsWith("GRACEFUL_SHUTDOWN_"));
        pb.environment().put("LAMBDA_EMULATOR_RUNTIMES", E2e.RUNTIMES.toString());
        Path out = tmp.resolve("driver.out");
        Path err = tmp.resolve("driver.err");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        // A case takes a second or two; a wedged run is ended, and fails the test.
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            fail("shutdown-conformance did not end within 180 s:\n" + Files.readString(err));
        }
        String stdout = Files.readString(out);
        String text = "shutdown-conformance exit " + p.exitValue() + "\n" + stdout + "\n" + Files.readString(err);
        Map<String, Object> result = null;
        Map<String, Object> counts = null;
        for (String line : stdout.split("\n")) {
            if (!line.startsWith("{")) {
                continue;
            }
            Map<String, Object> o = (Map<String, Object>) Json.parse(line);
            if (o.containsKey("case")) {
                result = o;
            } else if (o.containsKey("passed")) {
                counts = o;
            }
        }
        assertEquals(0, p.exitValue(), text);
        assertTrue(result != null && counts != null, "the driver printed no result: " + text);
        Map<String, Object> r = result;
        assertEquals(name, r.get("case"), text);
        assertEquals(Boolean.TRUE, r.get("ok"), () -> "failures " + r.get("failures") + "\n" + text);
        assertEquals(List.of(), r.get("failures"), text);
        assertEquals(1L, ((Number) counts.get("passed")).longValue(), text);
        assertEquals(0L, ((Number) counts.get("failed")).longValue(), text);
        return new Answer(result, text);
    }

    /** The first verdict line among {@code lines}, parsed by the driver ({@code --read-verdict}); null when none. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> readVerdict(List<String> lines) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(driver().toString(), "--read-verdict")
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (var in = p.getOutputStream()) {
            in.write(String.join("\n", lines).concat("\n").getBytes(StandardCharsets.UTF_8));
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), "a verdict line that does not parse: " + lines);
        Object parsed = Json.parse(out);
        return parsed == null ? null : (Map<String, Object>) ((Map<String, Object>) parsed).get("verdict");
    }

    /** The pinned RIE: {@code AWS_LAMBDA_RIE}, else where {@code scripts/rie-compare.sh} installs it. */
    static Path rie() throws IOException {
        String explicit = System.getenv("AWS_LAMBDA_RIE");
        if (explicit != null && !explicit.isEmpty()) {
            return Path.of(explicit);
        }
        String script = Files.readString(E2e.REPO.resolve("scripts/rie-compare.sh"));
        Matcher m = Pattern.compile("(?m)^VERSION=(\\S+)$").matcher(script);
        assertTrue(m.find(), "scripts/rie-compare.sh has no VERSION= line");
        return E2e.require(E2e.TARGET.resolve("rie/" + m.group(1) + "/aws-lambda-rie"),
                "run `bash scripts/rie-compare.sh` (it installs the pinned RIE)");
    }
}
