package io.github.gracefulshutdown.lambda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The handoff against {@code spec/vectors/handoff.json} (the bodies and
 * requests the Rust encoder writes, the AWS helper's requests and its errors),
 * and against a real loopback listener that answers as the extension does.
 */
class HandoffTest {
    @TempDir
    Path dir;

    private final List<Listener> listeners = new ArrayList<>();

    @AfterEach
    void closeListeners() throws IOException {
        for (Listener l : listeners) {
            l.close();
        }
    }

    @SuppressWarnings("unchecked")
    static HandoffRequest request(Map<String, Object> r) {
        HandoffRequest h = HandoffRequest.of((String) r.get("method"), (String) r.get("url"));
        if (r.get("id") != null) {
            h = h.withId((String) r.get("id"));
        }
        if (r.get("headers") != null) {
            // Json.parse keeps an object's order.
            for (Map.Entry<String, Object> e : ((Map<String, Object>) r.get("headers")).entrySet()) {
                h = h.withHeader(e.getKey(), (String) e.getValue());
            }
        }
        if (r.get("body") != null) {
            h = h.withBody((String) r.get("body"));
        }
        if (r.get("bodyBase64") != null) {
            h = h.withBody(Base64.getDecoder().decode((String) r.get("bodyBase64")));
        }
        if (r.get("sign") != null) {
            Map<String, Object> sign = (Map<String, Object>) r.get("sign");
            h = h.withSigning((String) sign.get("service"), (String) sign.get("region"));
        }
        return h;
    }

    @SuppressWarnings("unchecked")
    static List<HandoffRequest> requests(Map<String, Object> value) {
        List<HandoffRequest> list = new ArrayList<>();
        for (Object o : (List<Object>) value.get("requests")) {
            list.add(request((Map<String, Object>) o));
        }
        return list;
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> cases(Map<String, Object> v, String key) {
        return (List<Map<String, Object>>) (List<?>) v.get(key);
    }

    @Test
    @SuppressWarnings("unchecked")
    void theSpecEncodeVectorsHold() throws Exception {
        Map<String, Object> v = ReportVectorsTest.vectors("handoff.json");
        assertEquals(Limits.HANDOFF_PATH, v.get("path"));
        int port = E2e.num(v.get("port"));
        String secret = (String) v.get("secret");
        List<Map<String, Object>> cases = cases(v, "encode");
        assertTrue(cases.size() >= 4);
        for (Map<String, Object> c : cases) {
            Map<String, Object> value = (Map<String, Object>) c.get("value");
            String body = Handoff.body(requests(value), (String) value.get("worker"));
            assertEquals(c.get("json"), body, (String) c.get("name"));
            assertEquals(c.get("request"), new String(Report.encodePost(Limits.HANDOFF_PATH, port, secret,
                    body.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8), (String) c.get("name"));
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void theSpecAwsVectorsHold() throws Exception {
        List<Map<String, Object>> cases = cases(ReportVectorsTest.vectors("handoff.json"), "aws");
        assertTrue(cases.size() >= 5);
        for (Map<String, Object> c : cases) {
            Map<String, Object> env = (Map<String, Object>) c.get("env");
            String name = (String) c.get("name");
            if (c.get("error") != null) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HandoffRequest.awsJson(
                        (String) c.get("service"), (String) c.get("target"), (String) c.get("body"),
                        (String) c.get("region"), k -> (String) env.get(k)), name);
                assertEquals(c.get("error"), e.getMessage(), name);
                continue;
            }
            HandoffRequest r = HandoffRequest.awsJson((String) c.get("service"), (String) c.get("target"),
                    (String) c.get("body"), (String) c.get("region"), k -> (String) env.get(k));
            assertEquals(c.get("json"), r.toJson(), name);
        }
    }

    @Test
    void theAwsHelperRefusesWhatNoSdkWouldSend() {
        String[][] cases = {
            {"DynamoDB", "T.X", "eu-west-1", "", "service: expected an AWS signing name such as \"dynamodb\", got \"DynamoDB\""},
            {"sqs", "", "eu-west-1", "", "target: expected an X-Amz-Target such as \"DynamoDB_20120810.BatchWriteItem\", got \"\""},
            {"sqs", "A B", "eu-west-1", "", "target: expected an X-Amz-Target"},
            {"sqs", "T.X", "EU WEST", "", "region: expected an AWS region such as \"us-east-1\", got \"EU WEST\""},
            {"sqs", "T.X", "eu-west-1", "localhost:4566",
                "AWS_ENDPOINT_URL_SQS: expected an http:// or https:// URL, got \"localhost:4566/\""},
        };
        for (String[] c : cases) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> HandoffRequest.awsJson(c[0], c[1], "{}", c[2], k -> k.equals("AWS_ENDPOINT_URL") && !c[3].isEmpty() ? c[3] : null));
            assertTrue(e.getMessage().startsWith(c[4]), e.getMessage());
        }
        HandoffRequest r = HandoffRequest.awsJson("kinesis-video", "T.X", "{}", "eu-west-1",
                k -> k.equals("AWS_ENDPOINT_URL_KINESIS_VIDEO") ? "http://127.0.0.1:7/kv" : null);
        assertEquals("http://127.0.0.1:7/kv", r.url());
    }

    /** A loopback listener that hands each request to the test and answers it (or holds it open, with a null answer). */
    final class Listener implements AutoCloseable {
        final ServerSocket server;
        final LinkedBlockingQueue<byte[]> requests = new LinkedBlockingQueue<>();
        final CountDownLatch closed = new CountDownLatch(1);

        Listener(String answer) throws IOException {
            server = new ServerSocket(0, 16, InetAddress.getByAddress(new byte[] {127, 0, 0, 1}));
            listeners.add(this);
            Thread t = new Thread(() -> {
                while (true) {
                    Socket c;
                    try {
                        c = server.accept();
                    } catch (IOException e) {
                        return;
                    }
                    Thread one = new Thread(() -> serve(c, answer));
                    one.setDaemon(true);
                    one.start();
                }
            }, "handoff-listener");
            t.setDaemon(true);
            t.start();
        }

        private void serve(Socket c, String answer) {
            try (Socket s = c) {
                s.setSoTimeout(30_000);
                InputStream in = new BufferedInputStream(s.getInputStream(), 1 << 16);
                ByteArrayOutputStream got = new ByteArrayOutputStream();
                int length = -1;
                while (length < 0) {
                    int b = in.read();
                    if (b < 0) {
                        return;
                    }
                    got.write(b);
                    String text = got.toString(StandardCharsets.ISO_8859_1);
                    if (text.endsWith("\r\n\r\n")) {
                        int at = text.indexOf("\r\nContent-Length: ");
                        length = Integer.parseInt(text.substring(at + 18, text.indexOf("\r\n", at + 2)));
                    }
                }
                byte[] body = in.readNBytes(length);
                if (body.length < length) {
                    return;
                }
                got.write(body);
                requests.add(got.toByteArray());
                if (answer == null) {
                    closed.await();
                    return;
                }
                s.getOutputStream().write(answer.getBytes(StandardCharsets.UTF_8));
            } catch (IOException | InterruptedException e) {
                // the test has ended
            }
        }

        int port() {
            return server.getLocalPort();
        }

        String next() throws InterruptedException {
            byte[] r = requests.poll(10, TimeUnit.SECONDS);
            if (r == null) {
                throw new AssertionError("no request within 10 s");
            }
            return new String(r, StandardCharsets.UTF_8);
        }

        @Override
        public void close() throws IOException {
            closed.countDown();
            server.close();
        }
    }

    /** An answer as the extension writes it: a one-line body. */
    static String answer(int status, String phrase, String contentType, String body) {
        String b = body + "\n";
        return "HTTP/1.1 " + status + " " + phrase + "\r\nContent-Type: " + contentType + "\r\nContent-Length: "
                + b.getBytes(StandardCharsets.UTF_8).length + "\r\nConnection: close\r\n\r\n" + b;
    }

    Config attached(int port, String secret) throws IOException {
        Path file = Files.createTempFile(dir, "secret", "");
        Files.writeString(file, secret + "\n");
        return new Config(port, 250, file.toString());
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyEncodeVectorArrivesExactlyAndTheCountsComeBack() throws Exception {
        Map<String, Object> v = ReportVectorsTest.vectors("handoff.json");
        Listener l = new Listener(answer(202, "Accepted", "application/json", "{\"accepted\":2,\"held\":5}"));
        Config config = attached(l.port(), (String) v.get("secret"));
        for (Map<String, Object> c : cases(v, "encode")) {
            Map<String, Object> value = (Map<String, Object>) c.get("value");
            if (value.get("worker") != null) {
                continue; // the Java library sends no worker
            }
            HandoffResult r = GracefulShutdown.handoff(config, requests(value).toArray(new HandoffRequest[0]));
            assertTrue(r.taken(), r.toString());
            assertEquals(202, r.status());
            assertEquals(2, r.accepted());
            assertEquals(5, r.held());
            assertNull(r.message());
            String want = ((String) c.get("request")).replace("Host: 127.0.0.1:" + E2e.num(v.get("port")) + "\r\n",
                    "Host: 127.0.0.1:" + l.port() + "\r\n");
            assertEquals(want, l.next(), (String) c.get("name"));
        }
    }

    @Test
    void theExtensionsRefusalIsReturned() throws Exception {
        Object[][] cases = {
            {400, "Bad Request", "requests[0].url: expected an http:// or https:// URL, got \"file:///etc/passwd\""},
            {413, "Payload Too Large", "handoff.maxTotalBytes: 4194304 bytes of bodies held for the environment"},
            {501, "Not Implemented", "handoff: this layer is built without handoff; attach the handoff flavour"},
        };
        for (Object[] c : cases) {
            Listener l = new Listener(answer((int) c[0], (String) c[1], "text/plain; charset=utf-8", (String) c[2]));
            HandoffResult r = GracefulShutdown.handoff(attached(l.port(), "s3cr3t"),
                    HandoffRequest.of("POST", "file:///etc/passwd"));
            assertFalse(r.taken());
            assertTrue(r.sent());
            assertEquals((int) c[0], r.status());
            assertEquals(c[2], r.message());
            assertEquals("handoff refused by the extension: " + c[0] + ": " + c[2], r.toString());
            l.next();
        }
        // No Content-Length, closed after the body; no body: the reason phrase.
        String[][] bare = {
            {"HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\nhandoff.maxRequests is 64\n", "handoff.maxRequests is 64"},
            {"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\n\r\n", "Not Implemented"},
        };
        for (String[] c : bare) {
            Listener l = new Listener(c[0]);
            HandoffResult r = GracefulShutdown.handoff(attached(l.port(), "s3cr3t"), HandoffRequest.of("POST", "http://a/"));
            assertEquals(c[1], r.message());
        }
    }

    @Test
    void theAnswerIsAwaitedAtMostHandoffTimeoutMs() throws Exception {
        assertEquals(E2e.num(((Map<?, ?>) Limits.ROOT.get("library")).get("handoffTimeoutMs")), Limits.HANDOFF_TIMEOUT_MS);
        assertTrue(Limits.HANDOFF_TIMEOUT_MS > 0);
        Listener l = new Listener(null);
        Config config = attached(l.port(), "s3cr3t");
        long begin = System.nanoTime();
        HandoffResult r = GracefulShutdown.handoff(config, HandoffRequest.of("POST", "http://a/"));
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - begin);
        assertFalse(r.taken());
        assertTrue(r.sent());
        assertEquals(0, r.status());
        assertTrue(r.message().contains("within " + Limits.HANDOFF_TIMEOUT_MS + " ms (library.handoffTimeoutMs)"), r.message());
        assertTrue(tookMs >= Limits.HANDOFF_TIMEOUT_MS - 1 && tookMs < Limits.HANDOFF_TIMEOUT_MS + 5000, tookMs + " ms");
        l.next();
    }

    @Test
    void theLibraryRefusesBeforeSending() throws Exception {
        Listener l = new Listener(answer(202, "Accepted", "application/json", "{\"accepted\":1,\"held\":1}"));
        Config config = attached(l.port(), "s3cr3t");

        // Over handoff.maxBodyBytes, as JSON.
        HandoffRequest big = HandoffRequest.of("POST", "http://a/").withBody("x".repeat(Limits.HANDOFF_MAX_BODY_BYTES));
        int size = Handoff.body(List.of(big), null).length();
        HandoffResult r = GracefulShutdown.handoff(config, big);
        assertFalse(r.sent());
        assertEquals(0, r.status());
        assertEquals("handoff: body of " + size + " bytes; handoff.maxBodyBytes is "
                + E2e.num(((Map<?, ?>) Limits.ROOT.get("handoff")).get("maxBodyBytes")), r.message());
        assertTrue(r.toString().startsWith("handoff not sent: "), r.toString());
        // At the limit exactly it goes.
        HandoffRequest bare = HandoffRequest.of("POST", "http://a/");
        HandoffRequest fits = bare.withBody("x".repeat(Limits.HANDOFF_MAX_BODY_BYTES
                - Handoff.body(List.of(bare), null).length() - ",\"body\":\"\"".length()));
        assertEquals(Limits.HANDOFF_MAX_BODY_BYTES, Handoff.body(List.of(fits), null).length());
        // (Taken, unless a loaded machine makes the listener slower than handoffTimeoutMs.)
        r = GracefulShutdown.handoff(config, fits);
        assertTrue(r.taken() || !r.message().contains("handoff.maxBodyBytes"), r.toString());
        if (r.sent()) {
            l.next();
        }

        // No requests.
        r = GracefulShutdown.handoff(config);
        assertFalse(r.sent());
        assertEquals("requests: empty; hand off at least one request", r.message());

        // The layer not attached: no secret file.
        Config missing = new Config(l.port(), 250, dir.resolve("missing").toString());
        r = GracefulShutdown.handoff(missing, HandoffRequest.of("POST", "http://a/"));
        assertFalse(r.sent());
        assertTrue(r.message().startsWith("the graceful-shutdown extension is not attached (GRACEFUL_SHUTDOWN_SECRET_FILE: "),
                r.message());
        assertTrue(r.message().endsWith("missing does not exist)"), r.message());
        assertNull(l.requests.poll());
    }

    @Test
    void aRefusalIsLoggedOnceNamingStatusAndMessage() throws Exception {
        String message = "handoff: this layer is built without handoff; attach graceful-shutdown-handoff";
        Listener l = new Listener(answer(501, "Not Implemented", "text/plain; charset=utf-8", message));
        Config config = attached(l.port(), "s3cr3t");
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream saved = System.err;
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            GracefulShutdown.handoff(config, HandoffRequest.of("POST", "http://127.0.0.1:9/flush"));
            GracefulShutdown.handoff(new Config(l.port(), 250, dir.resolve("missing").toString()),
                    HandoffRequest.of("POST", "http://127.0.0.1:9/flush"));
        } finally {
            System.setErr(saved);
        }
        List<String> lines = new ArrayList<>();
        for (String line : captured.toString(StandardCharsets.UTF_8).split("\n")) {
            if (line.contains("handoff")) {
                lines.add(line);
            }
        }
        assertEquals(2, lines.size(), lines.toString());
        assertEquals("WARN graceful-shutdown: handoff refused by the extension: 501: " + message, lines.get(0));
        assertTrue(lines.get(1).startsWith("WARN graceful-shutdown: handoff not sent: the graceful-shutdown extension is not attached ("),
                lines.get(1));
    }

    @Test
    void aTextBodyAndABodyOfBytesAreWrittenAsTheProtocolSays() {
        HandoffRequest r = HandoffRequest.of("POST", "http://a/").withBody(new byte[] {0, (byte) 0x9f, (byte) 0x92, (byte) 0x96, (byte) 0xff});
        assertEquals("{\"method\":\"POST\",\"url\":\"http://a/\",\"bodyBase64\":\"AJ+Slv8=\"}", r.toJson());
        assertEquals("{\"method\":\"POST\",\"url\":\"http://a/\",\"body\":\"<a&b>\"}", r.withBody("<a&b>").toJson());
    }
}
