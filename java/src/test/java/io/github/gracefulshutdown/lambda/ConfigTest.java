package io.github.gracefulshutdown.lambda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Settings and limits: read from the shipped spec/limits.json, bad values named as the other libraries name them. */
class ConfigTest {
    @Test
    void theShippedLimitsAreTheSpecsByteForByte() throws Exception {
        try (InputStream in = Limits.class.getResourceAsStream("limits.json")) {
            assertArrayEquals(Files.readAllBytes(E2e.REPO.resolve("spec/limits.json")), in.readAllBytes());
        }
        assertEquals("GRACEFUL_SHUTDOWN_PORT", Limits.ENV_PORT);
        assertEquals(4471, new Config().port());
        assertEquals(250, new Config().timeoutMs());
        assertEquals("/tmp/.graceful-shutdown.secret", new Config().secretFile());
        assertEquals(10, Limits.KILL_MARGIN_MS);
        assertEquals(20, Limits.FLUSH_LIMIT_MS);
        assertEquals(30, Limits.WATCHDOG_GRACE_MS);
        assertEquals(5, Limits.REPORT_NOW_TIMEOUT_MS);
    }

    @Test
    void badValuesNameTheVariableAndTheValueAndFallBack() {
        Config.Parsed p = Config.fromLookup(Map.of("GRACEFUL_SHUTDOWN_PORT", "9001",
                "GRACEFUL_SHUTDOWN_TIMEOUT_MS", "5000", "GRACEFUL_SHUTDOWN_SECRET_FILE", " ")::get);
        assertEquals(List.of(
                "GRACEFUL_SHUTDOWN_PORT: expected a port not used by the Lambda Runtime API (default 4471), "
                        + "got \"9001\"; using the default 4471",
                "GRACEFUL_SHUTDOWN_TIMEOUT_MS: expected milliseconds from 1 to 280 (the runtime's 300 ms share "
                        + "of the shutdown phase, less 20 ms for the last reports and the exit), got \"5000\"; "
                        + "using the default 250",
                "GRACEFUL_SHUTDOWN_SECRET_FILE: expected a file path, got \" \"; using the default "
                        + "/tmp/.graceful-shutdown.secret"),
                p.problems.stream().map(Object::toString).collect(java.util.stream.Collectors.toList()));
        assertEquals(4471, p.config.port());
        assertEquals("GRACEFUL_SHUTDOWN_TIMEOUT_MS",
                Config.fromLookup(Map.of("GRACEFUL_SHUTDOWN_TIMEOUT_MS", "abc")::get).problems.get(0).var());
    }

    @Test
    @SuppressWarnings("unchecked")
    void settingsAreReadAsTheSpecVectorsSay() throws Exception {
        Map<String, Object> v = ReportVectorsTest.vectors("settings.json");
        List<Object> library = (List<Object>) v.get("library");
        assertFalse(library.isEmpty());
        for (Object o : library) {
            Map<String, Object> c = (Map<String, Object>) o;
            Map<String, String> env = (Map<String, String>) (Map<String, ?>) c.get("env");
            Config.Parsed p = Config.fromLookup(env::get);
            assertEquals(E2e.num(c.get("port")), p.config.port(), env.toString());
            assertEquals(E2e.num(c.get("timeoutMs")), p.config.timeoutMs(), env.toString());
            assertEquals(c.get("secretFile"), p.config.secretFile(), env.toString());
            List<String> problems = new ArrayList<>();
            p.problems.forEach(x -> problems.add(x.toString()));
            assertEquals(c.get("problems"), problems, env.toString());
        }
        for (Object o : (List<Object>) v.get("values")) {
            Map<String, Object> c = (Map<String, Object>) o;
            String raw = (String) c.get("value");
            boolean port = "GRACEFUL_SHUTDOWN_PORT".equals(c.get("variable"));
            if (c.containsKey("accepted")) {
                int got = port ? Config.parsePort(raw) : Config.parseTimeoutMs(raw);
                assertEquals(E2e.num(c.get("accepted")), got, c.toString());
            } else {
                Config.ConfigException e = assertThrows(Config.ConfigException.class,
                        () -> {
                            if (port) {
                                Config.parsePort(raw);
                            } else {
                                Config.parseTimeoutMs(raw);
                            }
                        });
                assertEquals(c.get("error"), e.getMessage());
            }
        }
    }

    @Test
    void theMissingExtensionWarningNamesTheHandlersAndTheFix() {
        String w = Attach.missingWarning("/x does not exist", List.of("flush", "close-pool"));
        assertTrue(w.startsWith("graceful-shutdown: the graceful-shutdown extension is not attached "
                + "(GRACEFUL_SHUTDOWN_SECRET_FILE: /x does not exist). Without a registered extension Lambda "
                + "sends no SIGTERM"), w);
        assertTrue(w.contains("will NOT run when the environment is retired: flush, close-pool."), w);
    }
}
