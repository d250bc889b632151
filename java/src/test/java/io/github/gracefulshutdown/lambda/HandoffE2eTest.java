package io.github.gracefulshutdown.lambda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The handoff end to end: the Java probe's shutdown handler, on the real Java
 * client, hands a request to the real extension built with its handoff
 * feature, in the emulator; the extension sends it after the runtime has
 * gone, to a loopback HTTP server of this test, and its verdict counts it
 * delivered.
 */
class HandoffE2eTest {
    /** The handoff flavour's target directory, beside the default build (which stays the default flavour). */
    static final Path HANDOFF_TARGET = E2e.TARGET.resolve("handoff");

    /**
     * The shutdown layer's handoff flavour: {@code cargo build -p graceful-shutdown-extension
     * --features handoff} into {@link #HANDOFF_TARGET}; a no-op once built.
     */
    static synchronized Path handoffLayerBinary(Path log) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("cargo", "build", "-p", "graceful-shutdown-extension",
                "--features", "handoff", "--target-dir", HANDOFF_TARGET.toString());
        pb.directory(E2e.REPO.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            return E2e.require(HANDOFF_TARGET.resolve("debug/graceful-shutdown"), "cargo cannot run (" + e.getMessage()
                    + "): run `cargo build -p graceful-shutdown-extension --features handoff --target-dir " + HANDOFF_TARGET + "`");
        }
        if (!p.waitFor(15, TimeUnit.MINUTES)) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            fail("building the handoff layer took over 15 minutes:\n" + Files.readString(log));
        }
        if (p.exitValue() != 0) {
            fail("building the handoff layer (cargo build -p graceful-shutdown-extension --features handoff) failed:\n"
                    + Files.readString(log));
        }
        return E2e.require(HANDOFF_TARGET.resolve("debug/graceful-shutdown"), "the cargo build above did not write it");
    }

    static Stream<String> runtimes() {
        return E2e.RUNTIMES_UNDER_TEST.stream();
    }

    @ParameterizedTest(name = "a handed-off request is sent by the extension after the runtime, on {0}")
    @MethodSource("runtimes")
    void aHandedOffRequestIsSentByTheExtensionAfterTheRuntime(String runtime, @TempDir Path tmp) throws Exception {
        Path bin = handoffLayerBinary(tmp.resolve("cargo.log"));
        Path fn = E2e.stageFunction(tmp);
        Path layer = tmp.resolve("layer");
        Files.createDirectories(layer.resolve("extensions"));
        Files.copy(bin, layer.resolve("extensions/graceful-shutdown"), StandardCopyOption.COPY_ATTRIBUTES);

        // The endpoint the handed-off request goes to.
        LinkedBlockingQueue<String> received = new LinkedBlockingQueue<>();
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}), 0), 16);
        server.createContext("/", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            received.add(exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath() + " "
                    + exchange.getRequestHeaders().getFirst("Content-Type") + " " + body);
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        server.start();
        Path output = tmp.resolve("probe-output.txt");
        E2e.Run run;
        try (E2e.Port port = E2e.Port.lease()) {
            Map<String, String> env = new LinkedHashMap<>();
            env.put("PROBE_HANDLERS", "flush:handoff");
            env.put("PROBE_HANDOFF_URL", "http://127.0.0.1:" + server.getAddress().getPort() + "/flush");
            env.put("PROBE_OUTPUT", output.toString());
            env.put("GRACEFUL_SHUTDOWN_PORT", Integer.toString(port.port));
            env.put("GRACEFUL_SHUTDOWN_SECRET_FILE", tmp.resolve("secret").toString());
            run = E2e.runEmulator(fn, layer, runtime, env, List.of("{}"), 1, 3000, 300, 2000, List.of());
        } finally {
            server.stop(0);
        }
        String ctx = run.describe();
        // The emulator has ended, and the extension with it: what was delivered has arrived.
        assertEquals(List.of("POST /flush application/json {\"handler\":\"flush\",\"pad\":\"\"}"), List.copyOf(received), ctx);
        List<String> lines = E2e.readLines(output);
        assertTrue(lines.contains("handoff flush taken"), lines + "\n" + ctx);
        String verdict = run.verdictLine();
        assertEquals("completed", Conformance.readVerdict(E2e.allLines(run)).get("outcome"), ctx);
        assertTrue(verdict != null && verdict.contains(" handoff=1/1 dead_lettered=0")
                && !verdict.contains("handoff_refused"), verdict + "\n" + ctx);
        System.out.println("verdict on " + runtime + ": " + verdict);
    }
}
