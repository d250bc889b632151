package gracefulshutdown

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Config says where the reports go and how long the handlers may take.
//
// Build it with [ConfigFromEnv] in a function (or let [FromEnv] do it), or
// directly in a test, starting from [DefaultConfig].
type Config struct {
	// Port is the loopback port of the extension's report listener (GRACEFUL_SHUTDOWN_PORT).
	Port int
	// Timeout is the budget for all handlers together, counted from the signal
	// (GRACEFUL_SHUTDOWN_TIMEOUT_MS).
	Timeout time.Duration
	// SecretFile holds the per-environment secret the extension writes
	// (GRACEFUL_SHUTDOWN_SECRET_FILE).
	SecretFile string
}

// DefaultConfig is the configuration with every setting at its default
// (spec/limits.json).
func DefaultConfig() Config {
	return Config{Port: DefaultPort, Timeout: DefaultTimeout, SecretFile: DefaultSecretFile}
}

// ConfigError is a refused value: `VAR: expected ..., got "value"`.
type ConfigError struct {
	Var      string
	Expected string
	Value    string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("%s: expected %s, got %s", e.Var, e.Expected, quote(e.Value))
}

// BadSetting is a variable whose value was refused; Default was used instead.
type BadSetting struct {
	Err     *ConfigError
	Default string
}

func (b BadSetting) String() string {
	return fmt.Sprintf("%s; using the default %s", b.Err.Error(), b.Default)
}

// Var is the variable the problem is about.
func (b BadSetting) Var() string { return b.Err.Var }

// ConfigFromEnv reads the settings from the process environment. Call it
// once, at cold start. Each bad value is logged (one line naming the variable
// and the value) and its default is used: a typo must never stop a function
// from starting. The extension refuses the same values at its init, loudly,
// so a bad value reaches the library alone only when the layer is missing.
func ConfigFromEnv() Config {
	config, problems := ConfigFromLookup(os.LookupEnv)
	for _, p := range problems {
		logWarn("graceful-shutdown: " + p.String())
	}
	return config
}

// ConfigFromLookup builds the settings from any variable lookup. It returns
// the settings and one BadSetting per refused value. Pure: ConfigFromEnv is
// this plus logging.
func ConfigFromLookup(lookup func(string) (string, bool)) (Config, []BadSetting) {
	config := DefaultConfig()
	var problems []BadSetting
	read := func(name, def string) (string, bool) {
		raw, ok := lookup(name)
		if !ok {
			return "", false
		}
		if !utf8.ValidString(raw) {
			problems = append(problems, BadSetting{
				Err:     &ConfigError{Var: name, Expected: "UTF-8 text", Value: strings.ToValidUTF8(raw, "\uFFFD")},
				Default: def,
			})
			return "", false
		}
		return raw, true
	}
	if raw, ok := read(EnvPort, strconv.Itoa(config.Port)); ok {
		if port, err := ParsePort(raw); err != nil {
			problems = append(problems, BadSetting{Err: err, Default: strconv.Itoa(config.Port)})
		} else {
			config.Port = port
		}
	}
	defaultMs := strconv.FormatInt(config.Timeout.Milliseconds(), 10)
	if raw, ok := read(EnvTimeoutMs, defaultMs); ok {
		if n, err := ParseTimeoutMs(raw); err != nil {
			problems = append(problems, BadSetting{Err: err, Default: defaultMs})
		} else {
			config.Timeout = ms(n)
		}
	}
	if raw, ok := read(EnvSecretFile, DefaultSecretFile); ok {
		if strings.TrimSpace(raw) == "" || strings.ContainsRune(raw, 0) {
			problems = append(problems, BadSetting{
				Err:     &ConfigError{Var: EnvSecretFile, Expected: "a file path", Value: raw},
				Default: DefaultSecretFile,
			})
		} else {
			config.SecretFile = raw
		}
	}
	return config, problems
}

// wholeNumber parses an optional '+' and decimal digits, around which
// whitespace is allowed, as the Rust and Python libraries do.
func wholeNumber(raw string) (uint64, bool) {
	text := strings.TrimSpace(raw)
	text = strings.TrimPrefix(text, "+")
	if text == "" {
		return 0, false
	}
	for _, c := range text {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(text, 10, 64)
	return n, err == nil
}

// ParsePort parses GRACEFUL_SHUTDOWN_PORT: a port in the allowed range
// that no common Lambda component already uses.
func ParsePort(raw string) (int, *ConfigError) {
	expected := fmt.Sprintf("a port number from %d to %d", spec.Port.Min, spec.Port.Max)
	n, ok := wholeNumber(raw)
	if !ok || n > uint64(^uint32(0)) || n < uint64(spec.Port.Min) || n > uint64(spec.Port.Max) {
		return 0, &ConfigError{Var: EnvPort, Expected: expected, Value: raw}
	}
	port := int(n)
	if user, reserved := reservedBy(port); reserved {
		return 0, &ConfigError{
			Var:      EnvPort,
			Expected: fmt.Sprintf("a port not used by %s (default %d)", user, spec.Port.Default),
			Value:    raw,
		}
	}
	return port, nil
}

// ParseTimeoutMs parses GRACEFUL_SHUTDOWN_TIMEOUT_MS: whole milliseconds
// that fit inside the runtime's share of the shutdown phase.
func ParseTimeoutMs(raw string) (int, *ConfigError) {
	n, ok := wholeNumber(raw)
	if !ok {
		return 0, &ConfigError{Var: EnvTimeoutMs, Expected: "milliseconds", Value: raw}
	}
	if n < uint64(spec.TimeoutMs.Min) || n > uint64(spec.TimeoutMs.Max) {
		return 0, &ConfigError{
			Var: EnvTimeoutMs,
			Expected: fmt.Sprintf("milliseconds from %d to %d (the runtime's %d ms share of the shutdown "+
				"phase, less %d ms for the last reports and the exit)",
				spec.TimeoutMs.Min, spec.TimeoutMs.Max, spec.Shutdown.RuntimeShareMs, spec.Shutdown.RuntimeExitReserveMs),
			Value: raw,
		}
	}
	return int(n), nil
}
