package io.github.gracefulshutdown.lambda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The shared shutdown cases (tests/cases/shutdown.json) with the real shutdown
 * layer and the real Java runtime interface client in the lifecycle emulator,
 * on Java 17 and 25. Each run also prints its figures (SIGTERM to the first
 * handler's start, SIGTERM to the process gone).
 */
class SharedCasesTest {
    static Stream<Arguments> cases() throws Exception {
        List<Arguments> out = new ArrayList<>();
        for (String runtime : E2e.RUNTIMES_UNDER_TEST) {
            for (Map<String, Object> c : E2e.cases()) {
                out.add(Arguments.of(c.get("name"), runtime, c));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void sharedCase(String name, String runtime, Map<String, Object> c, @TempDir Path tmp) throws Exception {
        runCase(c, runtime, tmp);
    }

    @SuppressWarnings("unchecked")
    static E2e.Run runCase(Map<String, Object> c, String runtime, Path tmp) throws Exception {
        Path fn = E2e.stageFunction(tmp);
        Path layer = Boolean.TRUE.equals(c.get("layer")) ? E2e.stageLayer(tmp) : null;
        Path output = tmp.resolve("probe-output.txt");
        E2e.ExtraSigterms extra = null;
        E2e.Run run;
        try (E2e.Port port = E2e.Port.lease()) {
            Map<String, String> env = new LinkedHashMap<>();
            env.put("PROBE_HANDLERS", (String) c.get("handlers"));
            env.put("PROBE_OUTPUT", output.toString());
            env.put("GRACEFUL_SHUTDOWN_PORT", Integer.toString(port.port));
            env.put("GRACEFUL_SHUTDOWN_SECRET_FILE", tmp.resolve("secret").toString());
            env.putAll((Map<String, String>) (Map<String, ?>) c.get("env"));
            int extraCount = E2e.num(c.get("extraSigterms"));
            if (extraCount > 0) {
                extra = new E2e.ExtraSigterms(output, extraCount);
                extra.start();
            }
            run = E2e.runEmulator(fn, layer, runtime, env, (List<String>) (List<?>) c.get("events"),
                    E2e.num(c.get("invocations")), E2e.num(c.get("timeoutMs")), E2e.num(c.get("runtimeShareMs")),
                    E2e.num(c.get("shutdownMs")), List.of());
        }
        int sent = 0;
        if (extra != null) {
            E2e.ExtraSigterms x = extra;
            E2e.Run r = run;
            x.join(10_000);
            assertNull(x.error, () -> x.error + "\n" + r.describe());
            assertEquals(x.count, x.sent, r::describe);
            sent = x.sent;
        }
        E2e.check(c, run, E2e.readLines(output), sent);
        Double term = run.sigtermAt();
        Double first = run.lineAt("runtime", "running shutdown handlers");
        Double gone = run.firstAt("runtime", "exited");
        if (term != null && gone != null) {
            System.out.printf("figures: %s on %s: SIGTERM -> handlers start %s ms, SIGTERM -> process gone %.1f ms (%s)%n",
                    c.get("name"), runtime, first != null ? String.format("%.1f", first - term) : "-", gone - term,
                    run.exitOf("runtime"));
        }
        return run;
    }
}
