package gracefulshutdown

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The embedded copy is the spec, byte for byte: change spec/limits.json, then
// copy it here (cp spec/limits.json go/limits.json).
func TestLimitsFileIsTheSpec(t *testing.T) {
	specFile := filepath.Join("..", "spec", "limits.json")
	want, err := os.ReadFile(specFile)
	if err != nil {
		t.Fatalf("read %s: %v", specFile, err)
	}
	if !bytes.Equal(limitsJSON, want) {
		t.Fatalf("go/limits.json differs from spec/limits.json: run `cp spec/limits.json go/limits.json`")
	}
}

func TestNamesAndTimingsComeFromTheSpec(t *testing.T) {
	checks := []struct {
		name      string
		got, want any
	}{
		{"extension", ExtensionName, "graceful-shutdown"},
		{"port var", EnvPort, "GRACEFUL_SHUTDOWN_PORT"},
		{"timeout var", EnvTimeoutMs, "GRACEFUL_SHUTDOWN_TIMEOUT_MS"},
		{"secret var", EnvSecretFile, "GRACEFUL_SHUTDOWN_SECRET_FILE"},
		{"port", DefaultPort, 4471},
		{"timeout", DefaultTimeout, 250 * time.Millisecond},
		{"secret file", DefaultSecretFile, "/tmp/.graceful-shutdown.secret"},
		{"max name", maxNameBytes, 128},
		{"max error", maxErrorBytes, 1024},
		{"max report", maxReportBytes, 4096},
		{"share", runtimeShare, 300 * time.Millisecond},
		{"kill margin", killMargin, 10 * time.Millisecond},
		{"flush", flushLimit, 20 * time.Millisecond},
		{"watchdog", watchdogGrace, 30 * time.Millisecond},
		{"connect", connectTimeout, 20 * time.Millisecond},
		{"io", ioTimeout, 20 * time.Millisecond},
		{"now", nowTimeout, 5 * time.Millisecond},
		{"handoff timeout", handoffTimeout, 100 * time.Millisecond},
		{"handoff path", handoffPath, "/v1/handoff"},
		{"handoff body", maxHandoffBody, 1 << 20},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestTheExitIsPlannedBeforeTheKill(t *testing.T) {
	for _, c := range []struct{ since, want time.Duration }{
		{100 * time.Millisecond, 190 * time.Millisecond},
		{250 * time.Millisecond, 40 * time.Millisecond},
		{280 * time.Millisecond, 20 * time.Millisecond},
		{5 * time.Second, 20 * time.Millisecond},
	} {
		if got := exitFlushLimit(c.since); got != c.want {
			t.Errorf("exitFlushLimit(%v) = %v, want %v", c.since, got, c.want)
		}
	}
	if got := watchdogAfter(100 * time.Millisecond); got != 290*time.Millisecond {
		t.Errorf("watchdogAfter(100ms) = %v", got)
	}
	if got := watchdogAfter(280 * time.Millisecond); got != 310*time.Millisecond {
		t.Errorf("watchdogAfter(280ms) = %v", got)
	}
}
