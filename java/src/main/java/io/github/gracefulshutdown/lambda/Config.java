package io.github.gracefulshutdown.lambda;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * Where the reports go and how long the handlers may take, read once from the
 * environment.
 *
 * <p>The extension refuses bad values at init ({@code Extension.ConfigInvalid}),
 * so a bad value only reaches the library when the layer is missing. Then the
 * library logs one line naming the variable and the value, and uses the
 * default: a typo must never stop a function from starting.
 */
public final class Config {
    private final int port;
    private final int timeoutMs;
    private final String secretFile;

    /** The defaults of {@code spec/limits.json}. */
    public Config() {
        this(Limits.PORT_DEFAULT, Limits.TIMEOUT_DEFAULT, Limits.SECRET_FILE_DEFAULT);
    }

    /** Settings given directly (tests); the values are taken as they are. */
    public Config(int port, int timeoutMs, String secretFile) {
        this.port = port;
        this.timeoutMs = timeoutMs;
        this.secretFile = Objects.requireNonNull(secretFile, "secretFile");
    }

    /** Loopback port of the extension's report listener ({@code GRACEFUL_SHUTDOWN_PORT}). */
    public int port() {
        return port;
    }

    /** Budget for all handlers together, from the signal ({@code GRACEFUL_SHUTDOWN_TIMEOUT_MS}). */
    public int timeoutMs() {
        return timeoutMs;
    }

    /** File holding the per-environment secret ({@code GRACEFUL_SHUTDOWN_SECRET_FILE}). */
    public String secretFile() {
        return secretFile;
    }

    /** Reads the settings from the process environment; logs each bad value and uses its default. */
    public static Config fromEnv() {
        Map<String, String> env = System.getenv();
        Parsed parsed = fromLookup(env::get);
        for (BadSetting problem : parsed.problems) {
            Log.warn("graceful-shutdown: " + problem);
        }
        return parsed.config;
    }

    /** The settings from any lookup, and one message per bad value. Pure. */
    public static Parsed fromLookup(Function<String, String> lookup) {
        List<BadSetting> problems = new ArrayList<>();
        int port = Limits.PORT_DEFAULT;
        int timeoutMs = Limits.TIMEOUT_DEFAULT;
        String secretFile = Limits.SECRET_FILE_DEFAULT;
        String raw = lookup.apply(Limits.ENV_PORT);
        if (raw != null) {
            try {
                port = parsePort(raw);
            } catch (ConfigException e) {
                problems.add(new BadSetting(e, Integer.toString(Limits.PORT_DEFAULT)));
            }
        }
        raw = lookup.apply(Limits.ENV_TIMEOUT_MS);
        if (raw != null) {
            try {
                timeoutMs = parseTimeoutMs(raw);
            } catch (ConfigException e) {
                problems.add(new BadSetting(e, Integer.toString(Limits.TIMEOUT_DEFAULT)));
            }
        }
        raw = lookup.apply(Limits.ENV_SECRET_FILE);
        if (raw != null) {
            if (raw.strip().isEmpty() || raw.indexOf('\0') >= 0) {
                problems.add(new BadSetting(
                        new ConfigException(Limits.ENV_SECRET_FILE, "a file path", raw), Limits.SECRET_FILE_DEFAULT));
            } else {
                secretFile = raw;
            }
        }
        return new Parsed(new Config(port, timeoutMs, secretFile), problems);
    }

    /** {@code GRACEFUL_SHUTDOWN_PORT}: a port in the allowed range that no common Lambda part uses. */
    public static int parsePort(String raw) throws ConfigException {
        String expected = "a port number from " + Limits.PORT_MIN + " to " + Limits.PORT_MAX;
        long port = wholeNumber(raw);
        if (port < Limits.PORT_MIN || port > Limits.PORT_MAX) {
            throw new ConfigException(Limits.ENV_PORT, expected, raw);
        }
        String user = Limits.reservedBy((int) port);
        if (user != null) {
            throw new ConfigException(Limits.ENV_PORT,
                    "a port not used by " + user + " (default " + Limits.PORT_DEFAULT + ")", raw);
        }
        return (int) port;
    }

    /** {@code GRACEFUL_SHUTDOWN_TIMEOUT_MS}: whole milliseconds inside the runtime's share. */
    public static int parseTimeoutMs(String raw) throws ConfigException {
        long ms = wholeNumber(raw);
        if (ms == NOT_A_NUMBER) {
            throw new ConfigException(Limits.ENV_TIMEOUT_MS, "milliseconds", raw);
        }
        if (ms < Limits.TIMEOUT_MIN || ms > Limits.TIMEOUT_MAX) {
            throw new ConfigException(Limits.ENV_TIMEOUT_MS,
                    "milliseconds from " + Limits.TIMEOUT_MIN + " to " + Limits.TIMEOUT_MAX + " (the runtime's "
                            + Limits.RUNTIME_SHARE_MS + " ms share of the shutdown phase, less "
                            + Limits.RUNTIME_EXIT_RESERVE_MS + " ms for the last reports and the exit)",
                    raw);
        }
        return (int) ms;
    }

    private static final long NOT_A_NUMBER = -1;
    private static final long TOO_LARGE = Long.MAX_VALUE;

    /** {@code raw} without surrounding blanks as digits (an optional leading {@code +}), or {@link #NOT_A_NUMBER}. */
    private static long wholeNumber(String raw) {
        String text = raw.strip();
        int start = text.startsWith("+") ? 1 : 0;
        if (text.length() == start) {
            return NOT_A_NUMBER;
        }
        long n = 0;
        for (int i = start; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return NOT_A_NUMBER;
            }
            n = n * 10 + (c - '0');
            if (n > Integer.MAX_VALUE) {
                return TOO_LARGE;
            }
        }
        return n;
    }

    @Override
    public String toString() {
        return "Config[port=" + port + ", timeoutMs=" + timeoutMs + ", secretFile=" + secretFile + "]";
    }

    /** The settings and the values that were refused. */
    public static final class Parsed {
        public final Config config;
        public final List<BadSetting> problems;

        Parsed(Config config, List<BadSetting> problems) {
            this.config = config;
            this.problems = List.copyOf(problems);
        }
    }

    /** A refused value: {@code VAR: expected ..., got "value"}. */
    public static final class ConfigException extends Exception {
        private static final long serialVersionUID = 1L;
        public final String var;

        ConfigException(String var, String expected, String value) {
            super(var + ": expected " + expected + ", got " + Json.quote(value));
            this.var = var;
        }
    }

    /** A variable whose value was refused; {@code defaultValue} was used instead. */
    public static final class BadSetting {
        public final ConfigException error;
        public final String defaultValue;

        BadSetting(ConfigException error, String defaultValue) {
            this.error = error;
            this.defaultValue = defaultValue;
        }

        public String var() {
            return error.var;
        }

        @Override
        public String toString() {
            return error.getMessage() + "; using the default " + defaultValue;
        }
    }
}
