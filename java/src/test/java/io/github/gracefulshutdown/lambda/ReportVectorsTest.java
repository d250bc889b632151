package io.github.gracefulshutdown.lambda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The library's report bytes, text cuts and hello splits against the vectors
 * the Rust code that defines them writes to {@code spec/vectors/}.
 */
class ReportVectorsTest {
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
