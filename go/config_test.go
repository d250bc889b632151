package gracefulshutdown

import (
	"strings"
	"testing"
	"time"
)

func lookup(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
}

func TestDefaultsComeFromTheLimitsFile(t *testing.T) {
	config, problems := ConfigFromLookup(lookup(nil))
	if len(problems) != 0 || config != DefaultConfig() {
		t.Fatalf("%+v %v", config, problems)
	}
	if config.Port != 4471 || config.Timeout != 250*time.Millisecond || config.SecretFile != "/tmp/.graceful-shutdown.secret" {
		t.Fatalf("%+v", config)
	}
}

func TestGoodValuesAreUsed(t *testing.T) {
	config, problems := ConfigFromLookup(lookup(map[string]string{
		EnvPort: " 20001 ", EnvTimeoutMs: "+120", EnvSecretFile: "/tmp/x.secret",
	}))
	if len(problems) != 0 {
		t.Fatal(problems)
	}
	if config.Port != 20001 || config.Timeout != 120*time.Millisecond || config.SecretFile != "/tmp/x.secret" {
		t.Fatalf("%+v", config)
	}
}

// The same words as the Rust, Python and Node.js libraries.
func TestMessagesNameVariableAndValue(t *testing.T) {
	exact := map[string]string{}
	_, err := ParseTimeoutMs("abc")
	exact[err.Error()] = `GRACEFUL_SHUTDOWN_TIMEOUT_MS: expected milliseconds, got "abc"`
	_, err = ParsePort("70000")
	exact[err.Error()] = `GRACEFUL_SHUTDOWN_PORT: expected a port number from 1024 to 65535, got "70000"`
	_, err = ParsePort("9001")
	exact[err.Error()] = `GRACEFUL_SHUTDOWN_PORT: expected a port not used by the Lambda Runtime API (default 4471), got "9001"`
	_, err = ParseTimeoutMs("281")
	exact[err.Error()] = `GRACEFUL_SHUTDOWN_TIMEOUT_MS: expected milliseconds from 1 to 280 (the runtime's 300 ms share of the shutdown phase, less 20 ms for the last reports and the exit), got "281"`
	for got, want := range exact {
		if got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

func TestEveryBadValueIsRefused(t *testing.T) {
	for _, bad := range []string{"", " ", "-1", "0", "80", "1023", "65536", "4471.0", "0x1177", "port", "99999999999999999999"} {
		if _, err := ParsePort(bad); err == nil {
			t.Errorf("port %q accepted", bad)
		}
	}
	for _, reserved := range []string{"9001", "8080", "2772", "2773", "4317", "4318", "8124", "8125", "8126"} {
		if _, err := ParsePort(reserved); err == nil {
			t.Errorf("reserved port %s accepted", reserved)
		}
	}
	for _, bad := range []string{"", "0", "-5", "1.5", "301", "99999999999999999999", "250ms"} {
		if _, err := ParseTimeoutMs(bad); err == nil {
			t.Errorf("timeout %q accepted", bad)
		}
	}
	for _, good := range []string{"1", "250", "280", " 7 "} {
		if _, err := ParseTimeoutMs(good); err != nil {
			t.Errorf("timeout %q refused: %v", good, err)
		}
	}
}

func TestBadValuesNameTheVariableAndFallBackToTheDefault(t *testing.T) {
	config, problems := ConfigFromLookup(lookup(map[string]string{
		EnvPort: "9001", EnvTimeoutMs: "abc", EnvSecretFile: " ",
	}))
	if config != DefaultConfig() {
		t.Fatalf("%+v", config)
	}
	if len(problems) != 3 {
		t.Fatalf("%v", problems)
	}
	if got := problems[1].String(); got != `GRACEFUL_SHUTDOWN_TIMEOUT_MS: expected milliseconds, got "abc"; using the default 250` {
		t.Errorf("%s", got)
	}
	if got := problems[0].String(); !strings.HasSuffix(got, `got "9001"; using the default 4471`) {
		t.Errorf("%s", got)
	}
	if problems[2].Var() != EnvSecretFile || !strings.HasSuffix(problems[2].String(), "; using the default /tmp/.graceful-shutdown.secret") {
		t.Errorf("%s", problems[2])
	}
	_, problems = ConfigFromLookup(lookup(map[string]string{EnvTimeoutMs: "1\xff0"}))
	if len(problems) != 1 || problems[0].String() != "GRACEFUL_SHUTDOWN_TIMEOUT_MS: expected UTF-8 text, got \"1\uFFFD0\"; using the default 250" {
		t.Errorf("%v", problems)
	}
}
