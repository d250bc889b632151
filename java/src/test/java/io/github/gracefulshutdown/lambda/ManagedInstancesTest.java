package io.github.gracefulshutdown.lambda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Lambda Managed Instances ({@code --max-concurrency 2}:
 * {@code AWS_LAMBDA_MAX_CONCURRENCY=2}): the Java client runs two runtime loops
 * on threads of one JVM, which loads the handler class once. One JVM is one
 * process: the handlers run once, and the extension gets one report stream
 * without {@code worker}, so its verdict is the single-process one.
 */
class ManagedInstancesTest {
    static List<String> runtimes() {
        return E2e.RUNTIMES_UNDER_TEST;
    }

    @ParameterizedTest(name = "two runtime loops on {0}")
    @MethodSource("runtimes")
    void twoRuntimeLoopsInOneJvmRunTheHandlersOnceAndReportAsOneProcess(String runtime, @TempDir Path tmp)
            throws Exception {
        Path fn = E2e.stageFunction(tmp);
        Path layer = E2e.stageLayer(tmp);
        Path output = tmp.resolve("probe-output.txt");
        E2e.Run run;
        try (E2e.Port port = E2e.Port.lease()) {
            Map<String, String> env = new LinkedHashMap<>();
            env.put("PROBE_HANDLERS", "flush:ok,close-pool:sleep=20");
            env.put("PROBE_OUTPUT", output.toString());
            env.put("GRACEFUL_SHUTDOWN_PORT", Integer.toString(port.port));
            env.put("GRACEFUL_SHUTDOWN_SECRET_FILE", tmp.resolve("secret").toString());
            run = E2e.runEmulator(fn, layer, runtime, env, List.of("{}"), 2, 3000, 300, 2000,
                    List.of("--max-concurrency", "2"));
        }
        String ctx = run.describe();
        assertEquals(0, run.returnCode, ctx);
        assertTrue(run.lines("runtime").stream().anyMatch(l -> l.contains("Starting 2 concurrent function handler threads")),
                "the client did not run two loops: " + ctx);
        List<String> out = E2e.readLines(output);
        assertEquals(1, out.stream().filter("start flush"::equals).count(), out + "\n" + ctx);
        assertEquals(1, out.stream().filter("close-pool"::equals).count(), out + "\n" + ctx);
        Map<String, Object> verdict = Conformance.readVerdict(E2e.allLines(run));
        assertNotNull(verdict, ctx);
        assertEquals("completed", verdict.get("outcome"), ctx);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> handlers = (List<Map<String, Object>>) verdict.get("handlers");
        assertEquals(List.of("flush", "close-pool"),
                handlers.stream().map(h -> h.get("name")).collect(java.util.stream.Collectors.toList()), ctx);
        assertTrue(handlers.stream().allMatch(h -> "ok".equals(h.get("status"))), ctx);
        // One process, one report stream: the single-process verdict, no workers.
        assertFalse(verdict.containsKey("workers"), ctx);
        assertFalse(run.verdictLine().contains("workers="), ctx);
        assertEquals(E2e.JAVA_CLEAN_EXIT, run.exitOf("runtime"), ctx);
        assertEquals(List.of("SIGTERM"), run.signals("runtime"), ctx);
    }
}
