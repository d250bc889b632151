package io.github.gracefulshutdown.lambda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The library's report bytes against the Rust encoder's: live, from a small
 * program built on {@code graceful-shutdown-protocol} ({@code src/test/rust-vectors},
 * as {@code python/tests/rust-vectors} does it), and against the vectors the
 * Rust crate writes to {@code spec/vectors/}.
 */
class ReportVectorsTest {
    static final Path MANIFEST = E2e.REPO.resolve("java/src/test/rust-vectors/Cargo.toml");
    static Path binary;

    @BeforeAll
    static void build() throws Exception {
        E2e.require(E2e.REPO.resolve("rust/protocol/Cargo.toml"), "the Rust protocol crate of this repository");
        ProcessBuilder pb = new ProcessBuilder("cargo", "build", "--quiet", "--manifest-path", MANIFEST.toString())
                .inheritIO();
        pb.environment().put("CARGO_TARGET_DIR", E2e.TARGET.toString());
        Process p = pb.start();
        assertTrue(p.waitFor(600, TimeUnit.SECONDS), "cargo build of the vectors program took over 600 s");
        assertEquals(0, p.exitValue(), "cargo build of " + MANIFEST);
        binary = E2e.TARGET.resolve("debug/graceful-shutdown-java-vectors");
    }

    /** Asks the Rust program; one JSON answer per request. */
    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> ask(List<String> requests) throws Exception {
        Process p = new ProcessBuilder(binary.toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        Thread writer = new Thread(() -> {
            try (OutputStream in = p.getOutputStream()) {
                for (String r : requests) {
                    in.write((r + "\n").getBytes(StandardCharsets.UTF_8));
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        writer.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        writer.join(60_000);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        List<Map<String, Object>> answers = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (!line.isEmpty()) {
                answers.add((Map<String, Object>) Json.parse(line));
            }
        }
        assertEquals(requests.size(), answers.size());
        return answers;
    }

    static final List<Report> EVERY_KIND = List.of(
            Report.hello(4242, List.of("flush", "close pool", "日本", "q\"uote\\"), 250, false, 0),
            Report.hello(1, List.of("x"), 1, true, 3),
            Report.shutdownStarted("SIGTERM"),
            Report.shutdownStarted("trigger"),
            Report.started("flush", 0),
            Report.finished("é\u0001\n\t", 1L << 40, 1L << 53),
            Report.failed("boom", 1, 3, "panicked: Error: disk full\nline 2 \u00e9 \ud83d\ude31 \u007f \u2028"),
            Report.timedOut("slow", 9, 280),
            Report.allDone(2, 1, 1, 281));

    static final List<String> WORKERS = Arrays.asList(null, "4242", "88/2", "", "w\u00e9\"".repeat(40));

    @Test
    void everyReportIsByteForByteWhatTheRustEncoderWrites() throws Exception {
        List<String> requests = new ArrayList<>();
        List<Object[]> asked = new ArrayList<>();
        for (Report r : EVERY_KIND) {
            for (String w : WORKERS) {
                requests.add("{\"encode\":" + r.toJson() + ",\"port\":20471,\"secret\":\"" + "ab".repeat(32) + "\""
                        + (w != null ? ",\"worker\":" + Json.quote(w) : "") + "}");
                asked.add(new Object[] {r, w});
            }
        }
        List<Map<String, Object>> answers = ask(requests);
        for (int i = 0; i < answers.size(); i++) {
            Report r = (Report) asked.get(i)[0];
            String w = (String) asked.get(i)[1];
            Map<String, Object> a = answers.get(i);
            assertFalse(a.containsKey("error"), a::toString);
            assertEquals(a.get("body"), r.toJson(w), r.type + " worker " + w);
            assertEquals(a.get("request"),
                    new String(r.encodeRequest(20471, "ab".repeat(32), w), StandardCharsets.UTF_8));
        }
    }

    @Test
    void fitCutsExactlyAsTheRustSide() throws Exception {
        Random rng = new Random(15);
        String[] alphabet = {"a", "é", "日", "😱", "\u0001", "\"", "\\", "\n", "…", " "};
        List<String> texts = new ArrayList<>(List.of("flush", "é".repeat(64), "日本".repeat(1000),
                "\u0001".repeat(300), "é\u0001\"".repeat(5000), "abcdef", ""));
        for (int i = 0; i < 200; i++) {
            StringBuilder t = new StringBuilder();
            int n = rng.nextInt(200);
            for (int j = 0; j < n; j++) {
                t.append(alphabet[rng.nextInt(alphabet.length)]);
            }
            texts.add(t.toString());
        }
        int[] maxes = {0, 1, 2, 3, 4, 5, 6, 7, 63, 128, 1024};
        List<String> requests = new ArrayList<>();
        List<Object[]> asked = new ArrayList<>();
        for (String t : texts) {
            for (int m : maxes) {
                requests.add("{\"fit\":" + Json.quote(t) + ",\"max\":" + m + "}");
                asked.add(new Object[] {t, m});
            }
        }
        List<Map<String, Object>> answers = ask(requests);
        for (int i = 0; i < answers.size(); i++) {
            assertEquals(answers.get(i).get("fit"), Report.fit((String) asked.get(i)[0], (int) asked.get(i)[1]),
                    "fit of a text to " + asked.get(i)[1]);
        }
    }

    @Test
    void helloSplitsExactlyAsTheRustSide() throws Exception {
        List<List<String>> lists = List.of(List.of(), List.of("flush", "close-pool"),
                java.util.Collections.nCopies(200, "n".repeat(40)), java.util.Collections.nCopies(40, "日".repeat(100)),
                java.util.Collections.nCopies(3, "x".repeat(5000)));
        List<String> requests = new ArrayList<>();
        List<Object[]> asked = new ArrayList<>();
        for (List<String> names : lists) {
            for (String w : WORKERS) {
                StringBuilder arr = new StringBuilder("[");
                for (String n : names) {
                    arr.append(arr.length() > 1 ? "," : "").append(Json.quote(n));
                }
                requests.add("{\"hello\":" + arr + "],\"pid\":77,\"timeoutMs\":250,\"concurrent\":false"
                        + (w != null ? ",\"worker\":" + Json.quote(w) : "") + "}");
                asked.add(new Object[] {names, w});
            }
        }
        List<Map<String, Object>> answers = ask(requests);
        for (int i = 0; i < answers.size(); i++) {
            @SuppressWarnings("unchecked")
            List<String> names = (List<String>) asked.get(i)[0];
            String w = (String) asked.get(i)[1];
            List<String> ours = new ArrayList<>();
            for (Report h : Report.helloReports(77, names, 250, false, w)) {
                ours.add(h.toJson(w));
                assertTrue(h.toJson(w).getBytes(StandardCharsets.UTF_8).length <= Limits.MAX_REPORT_BYTES);
            }
            assertEquals(answers.get(i).get("hellos"), ours, names.size() + " names, worker " + w);
        }
    }

    // -- the vectors the Rust crate writes to spec/vectors/

    @SuppressWarnings("unchecked")
    static Map<String, Object> vectors(String name) throws IOException {
        return (Map<String, Object>) Json.parse(Files.readString(E2e.REPO.resolve("spec/vectors/" + name)));
    }

    @SuppressWarnings("unchecked")
    static Report build(Map<String, Object> r) {
        String type = (String) r.get("type");
        switch (type) {
            case "hello":
                return Report.hello(lng(r.get("pid")), (List<String>) r.get("handlers"), lng(r.get("timeoutMs")),
                        (Boolean) r.get("concurrent"), r.containsKey("firstIndex") ? lng(r.get("firstIndex")) : 0);
            case "shutdownStarted":
                return Report.shutdownStarted((String) r.get("signal"));
            case "started":
                return Report.started((String) r.get("handler"), lng(r.get("index")));
            case "finished":
                return Report.finished((String) r.get("handler"), lng(r.get("index")),
                        ((Number) r.get("durationMs")).longValue());
            case "failed":
                return Report.failed((String) r.get("handler"), lng(r.get("index")),
                        ((Number) r.get("durationMs")).longValue(), (String) r.get("error"));
            case "timedOut":
                return Report.timedOut((String) r.get("handler"), lng(r.get("index")),
                        ((Number) r.get("durationMs")).longValue());
            case "allDone":
                return Report.allDone(lng(r.get("completed")), lng(r.get("failed")),
                        lng(r.get("timedOut")), ((Number) r.get("totalMs")).longValue());
            default:
                throw new AssertionError("unknown report type " + type);
        }
    }

    static long lng(Object o) {
        return ((Number) o).longValue();
    }

    @Test
    @SuppressWarnings("unchecked")
    void theSpecReportVectorsHold() throws Exception {
        Map<String, Object> v = vectors("reports.json");
        int port = E2e.num(v.get("port"));
        String secret = (String) v.get("secret");
        List<Object> cases = (List<Object>) v.get("cases");
        assertFalse(cases.isEmpty());
        for (Object o : cases) {
            Map<String, Object> c = (Map<String, Object>) o;
            Report r = build((Map<String, Object>) c.get("report"));
            String w = (String) c.get("worker");
            assertEquals(c.get("body"), r.toJson(w));
            assertEquals(c.get("request"), new String(r.encodeRequest(port, secret, w), StandardCharsets.UTF_8));
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void theSpecFitAndHelloVectorsHold() throws Exception {
        for (Object o : (List<Object>) vectors("fit.json").get("cases")) {
            Map<String, Object> c = (Map<String, Object>) o;
            for (Object cut : (List<Object>) c.get("cuts")) {
                List<Object> pair = (List<Object>) cut;
                assertEquals(pair.get(1), Report.fit((String) c.get("text"), E2e.num(pair.get(0))));
            }
        }
        for (Object o : (List<Object>) vectors("hello.json").get("cases")) {
            Map<String, Object> c = (Map<String, Object>) o;
            String w = (String) c.get("worker");
            List<String> ours = new ArrayList<>();
            for (Report h : Report.helloReports(lng(c.get("pid")), (List<String>) c.get("names"),
                    lng(c.get("timeoutMs")), (Boolean) c.get("concurrent"), w)) {
                ours.add(h.toJson(w));
            }
            assertEquals(c.get("hellos"), ours);
        }
    }

    @Test
    void theProtocolsLiteralRequest() {
        // The literal of rust/protocol's `request_is_exact` and docs/protocol.md.
        assertEquals("POST /v1/report HTTP/1.1\r\nHost: 127.0.0.1:4471\r\nContent-Type: application/json\r\n"
                + "x-graceful-shutdown-secret: s3cr3t\r\nContent-Length: 45\r\nConnection: close\r\n\r\n"
                + "{\"type\":\"shutdownStarted\",\"signal\":\"SIGTERM\"}",
                new String(Report.shutdownStarted("SIGTERM").encodeRequest(4471, "s3cr3t", null), StandardCharsets.UTF_8));
        assertEquals("{\"type\":\"finished\",\"handler\":\"flush\",\"index\":0,\"durationMs\":12}",
                Report.finished("flush", 0, 12).toJson());
    }
}
