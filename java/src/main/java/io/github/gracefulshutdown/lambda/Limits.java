package io.github.gracefulshutdown.lambda;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * The shared contract: names, defaults and limits from {@code spec/limits.json},
 * which the build copies into the jar beside this class (Maven resources, from
 * the repository's {@code spec/}): read here, never written down by hand.
 */
final class Limits {
    private Limits() {}

    static final Map<String, Object> ROOT = load();

    static final String EXTENSION_NAME = str(ROOT, "extensionName");
    static final String ENV_PORT = str(obj(ROOT, "env"), "port");
    static final String ENV_TIMEOUT_MS = str(obj(ROOT, "env"), "timeoutMs");
    static final String ENV_SECRET_FILE = str(obj(ROOT, "env"), "secretFile");
    static final int PORT_DEFAULT = num(obj(ROOT, "port"), "default");
    static final int PORT_MIN = num(obj(ROOT, "port"), "min");
    static final int PORT_MAX = num(obj(ROOT, "port"), "max");
    static final int TIMEOUT_DEFAULT = num(obj(ROOT, "timeoutMs"), "default");
    static final int TIMEOUT_MIN = num(obj(ROOT, "timeoutMs"), "min");
    static final int TIMEOUT_MAX = num(obj(ROOT, "timeoutMs"), "max");
    static final int RUNTIME_SHARE_MS = num(obj(ROOT, "shutdown"), "runtimeShareMs");
    static final int RUNTIME_EXIT_RESERVE_MS = num(obj(ROOT, "shutdown"), "runtimeExitReserveMs");
    static final String SECRET_FILE_DEFAULT = str(ROOT, "secretFileDefault");
    static final String REPORT_PATH = str(ROOT, "reportPath");
    static final String SECRET_HEADER = str(ROOT, "secretHeader");
    static final int MAX_REPORT_BYTES = num(ROOT, "maxReportBytes");
    static final int MAX_NAME_BYTES = num(ROOT, "maxNameBytes");
    static final int MAX_ERROR_BYTES = num(ROOT, "maxErrorBytes");
    static final int MAX_WORKER_BYTES = num(ROOT, "maxWorkerBytes");
    /** The exit is planned this long before Lambda's SIGKILL. */
    static final int KILL_MARGIN_MS = num(obj(ROOT, "library"), "killMarginMs");
    /** The least time the last reports may hold the exit. */
    static final int FLUSH_LIMIT_MS = num(obj(ROOT, "library"), "flushLimitMs");
    /** Past the budget, how long a handler that holds the process is waited for. */
    static final int WATCHDOG_GRACE_MS = num(obj(ROOT, "library"), "watchdogGraceMs");
    static final int REPORT_CONNECT_TIMEOUT_MS = num(obj(ROOT, "library"), "reportConnectTimeoutMs");
    static final int REPORT_IO_TIMEOUT_MS = num(obj(ROOT, "library"), "reportIoTimeoutMs");
    static final int REPORT_NOW_TIMEOUT_MS = num(obj(ROOT, "library"), "reportNowTimeoutMs");
    /** How long a handoff waits for the extension's answer. */
    static final int HANDOFF_TIMEOUT_MS = num(obj(ROOT, "library"), "handoffTimeoutMs");
    /** Where a handoff is posted. */
    static final String HANDOFF_PATH = str(obj(ROOT, "handoff"), "path");
    /** The largest handoff body, as JSON. */
    static final int HANDOFF_MAX_BODY_BYTES = num(obj(ROOT, "handoff"), "maxBodyBytes");

    /** Who uses {@code port} already, if it is one of the reserved ports, else null. */
    static String reservedBy(int port) {
        for (Object entry : (List<?>) obj(ROOT, "port").get("reserved")) {
            Map<?, ?> e = (Map<?, ?>) entry;
            if (((Number) e.get("port")).intValue() == port) {
                return (String) e.get("usedBy");
            }
        }
        return null;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> load() {
        try (InputStream in = Limits.class.getResourceAsStream("limits.json")) {
            if (in == null) {
                throw new IllegalStateException(
                        "lambda-graceful-shutdown: limits.json is missing from the jar (the build copies it from spec/)");
            }
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            in.transferTo(buf);
            return (Map<String, Object>) Json.parse(new String(buf.toByteArray(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("lambda-graceful-shutdown: cannot read limits.json: " + e, e);
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> obj(Map<String, Object> m, String key) {
        return (Map<String, Object>) m.get(key);
    }

    static String str(Map<String, Object> m, String key) {
        return (String) m.get(key);
    }

    static int num(Map<String, Object> m, String key) {
        return ((Number) m.get(key)).intValue();
    }
}
