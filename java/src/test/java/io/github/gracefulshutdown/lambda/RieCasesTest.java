package io.github.gracefulshutdown.lambda;

import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The shared cases that need no emulator-only knob, under AWS's Runtime
 * Interface Emulator with the real shutdown layer and the real Java client, on
 * Java 17 and 25: the same verdicts as in the emulator. (The RIE names the
 * reason of its shutdown SandboxTerminated; the reason is the one thing not
 * compared, and the RIE's log has no timeline of signals and exits.) With
 * CI=true a machine that cannot run the RIE fails the test instead of skipping it.
 */
class RieCasesTest {
    static final Set<String> COMPARED = Set.of("outcome", "handlers", "statuses", "verdictEndsWith", "verdictContains",
            "jsonVerdict", "output", "outputContains", "outputLacks", "outputCount", "runtimeLogContains");

    static boolean applicable(Map<String, Object> c) {
        return Boolean.TRUE.equals(c.get("layer")) && E2e.num(c.get("extraSigterms")) == 0
                && E2e.num(c.get("runtimeShareMs")) == 300 && E2e.num(c.get("shutdownMs")) == 2000
                && E2e.num(c.get("timeoutMs")) == 3000
                && ((List<?>) c.get("events")).stream().allMatch("{}"::equals);
    }

    static Stream<Arguments> cases() throws Exception {
        List<Arguments> out = new ArrayList<>();
        for (String runtime : E2e.RUNTIMES_UNDER_TEST) {
            for (Map<String, Object> c : E2e.cases()) {
                if (applicable(c)) {
                    out.add(Arguments.of(c.get("name"), runtime, c));
                }
            }
        }
        assertFalse(out.isEmpty(), "the filter left no case to run under the RIE");
        return out.stream();
    }

    @ParameterizedTest(name = "{0} under the RIE on {1}")
    @MethodSource("cases")
    @SuppressWarnings("unchecked")
    void caseUnderTheRie(String name, String runtime, Map<String, Object> c) throws Exception {
        String why = Rie.cannotRun();
        if (why != null && "true".equals(System.getenv("CI"))) {
            throw new AssertionError("the RIE cases cannot run: " + why + " (CI=true)");
        }
        Assumptions.assumeTrue(why == null, () -> "the RIE cases cannot run: " + why);
        // A scratch directory every user can traverse: the RIE's processes need to reach it.
        Path tmp = Files.createTempDirectory("graceful-shutdown-rie-java-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        try {
            Map<String, Path> staged = Rie.stage(tmp.resolve("run"), runtime);
            Path output = staged.get("out").resolve("probe-output.txt");
            Rie.Result result;
            try (E2e.Port port = E2e.Port.lease()) {
                Map<String, String> env = new LinkedHashMap<>();
                env.put("PROBE_HANDLERS", (String) c.get("handlers"));
                env.put("PROBE_OUTPUT", output.toString());
                env.put("GRACEFUL_SHUTDOWN_PORT", Integer.toString(port.port));
                env.put("GRACEFUL_SHUTDOWN_SECRET_FILE", staged.get("out").resolve("secret").toString());
                env.put("AWS_EXECUTION_ENV", "AWS_Lambda_" + runtime);
                env.putAll((Map<String, String>) (Map<String, ?>) c.get("env"));
                List<String> events = new ArrayList<>();
                for (int i = 0; i < E2e.num(c.get("invocations")); i++) {
                    events.add("{}");
                }
                result = Rie.run(staged, env, events);
            }
            Map<String, Object> expect = new LinkedHashMap<>();
            ((Map<String, Object>) c.get("expect")).forEach((k, v) -> {
                if (COMPARED.contains(k)) {
                    expect.put(k, v);
                }
            });
            Map<String, Object> compared = new LinkedHashMap<>(c);
            compared.put("expect", expect);
            E2e.check(compared, result.asRun(), E2e.readLines(output), 0);
        } finally {
            E2e.deleteTree(tmp);
        }
    }
}
