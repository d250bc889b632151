package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The shared end-to-end cases (tests/cases/shutdown.json) are run and checked
// by the one driver of every language, shutdown-conformance
// (rust/conformance): it runs the Go probe with the real shutdown layer in the
// lifecycle emulator or under AWS's Runtime Interface Emulator, leases the
// ports, sends the case's extra signals, reads the verdict and checks every
// expectation of the case. A test here names the case, says how the run is
// set up, and asserts the driver's answer.

// driverBin is the driver, built by `cargo build -p graceful-shutdown-conformance`
// into the Rust workspace's target directory, as the Python and Node.js suites find it.
func driverBin(t *testing.T) string {
	t.Helper()
	return require(t, filepath.Join(target, "debug", "shutdown-conformance"),
		"run `cargo build -p graceful-shutdown-conformance` (scripts/test.d/80-go.sh does)")
}

// caseNames are the cases the driver runs on backend ("emulator", or "rie":
// those that need no emulator-only setting).
func caseNames(t *testing.T, backend string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, driverBin(t), "--list", "--backend", backend)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("shutdown-conformance --list --backend %s: %v\n%s", backend, err, stderr.String())
	}
	names := strings.Fields(string(out))
	if len(names) == 0 {
		t.Fatalf("the driver runs no shared case on the %s backend", backend)
	}
	return names
}

// driverRun is the driver's answer for one case.
type driverRun struct {
	name    string
	backend string
	args    []string
	code    int
	stdout  string
	stderr  string
}

func (d *driverRun) describe() string {
	return fmt.Sprintf("shutdown-conformance %s\nexit %d\n%s\n%s", strings.Join(d.args, " "), d.code, d.stdout, d.stderr)
}

func (d *driverRun) lines() []string {
	var lines []string
	for _, l := range strings.Split(d.stdout, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// conformance runs case name on the driver with the Go probe (built as
// `bootstrap`) and the shutdown layer, on backend, with extra arguments.
func conformance(t *testing.T, name, backend string, extra ...string) *driverRun {
	t.Helper()
	driver := driverBin(t)
	// Every user can traverse it: under the RIE the layer and the scratch
	// directories are bind-mounted into a namespace of their own.
	dir, err := os.MkdirTemp(scratchBase(), "gs-go-conformance-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	_ = os.Chmod(dir, 0o755)
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"--case", name, "--backend", backend, "--function", probeBin,
		"--layer", stageLayer(t, dir), "--work-dir", work}
	if backend == "rie" {
		args = append(args, "--rie", rieBinary(t))
	}
	args = append(args, extra...)
	// A case takes a second or two; a wedged run is ended, and fails the test.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, driver, args...)
	// Its own process group, so that a run ended at the deadline takes the
	// processes it started with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GRACEFUL_SHUTDOWN_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	d := &driverRun{name: name, backend: backend, args: args, stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && ctx.Err() == nil:
		d.code = exitErr.ExitCode()
	default:
		t.Fatalf("the driver did not run to its end: %v\n%s", err, d.describe())
	}
	return d
}

// rieChecked are the expectations the RIE backend reads (the verdict, the
// probe's output, the log); it has no timeline, and its shutdown reason is
// SandboxTerminated. A case's line may name only others as not checked.
var rieChecked = []string{"outcome", "handlers", "statuses", "verdictEndsWith", "verdictContains",
	"jsonVerdict", "output", "outputContains", "outputLacks", "outputCount", "runtimeLogContains"}

// assertPassed asserts that the driver ran case d.name alone and that every
// expectation of it held: in the emulator all of them (its line is exactly
// `ok <case>`), under the RIE every one it reads.
func assertPassed(t *testing.T, d *driverRun) {
	t.Helper()
	lines := d.lines()
	if d.code != 0 || len(lines) != 2 || lines[1] != "1 passed, 0 failed" {
		t.Fatalf("case %s did not pass:\n%s", d.name, d.describe())
	}
	if lines[0] == "ok "+d.name {
		return
	}
	rest, found := strings.CutPrefix(lines[0], "ok "+d.name+" (not checked: ")
	if !found || d.backend != "rie" || !strings.HasSuffix(rest, ")") {
		t.Fatalf("case %s: not every expectation was checked:\n%s", d.name, d.describe())
	}
	for _, key := range strings.Split(strings.TrimSuffix(rest, ")"), ", ") {
		if slices.Contains(rieChecked, strings.Split(key, ".")[0]) {
			t.Fatalf("case %s: %s was not checked under the RIE:\n%s", d.name, key, d.describe())
		}
	}
}

// caseResult is a case's line of `--json`: what the driver found, the
// parsed verdict, the emulator's events.
type caseResult struct {
	Case        string   `json:"case"`
	OK          bool     `json:"ok"`
	Failures    []string `json:"failures"`
	NotChecked  []string `json:"notChecked"`
	VerdictLine *string  `json:"verdictLine"`
	Verdict     *struct {
		Verdict struct {
			Outcome  string `json:"outcome"`
			Handlers []struct {
				Name   string `json:"name"`
				Status string `json:"status"`
			} `json:"handlers"`
			Workers []json.RawMessage `json:"workers"`
		} `json:"verdict"`
	} `json:"verdict"`
	Events []event `json:"events"`
}

// result reads the output of a `--json` run of one case: its line, then the counts.
func (d *driverRun) result(t *testing.T) caseResult {
	t.Helper()
	lines := d.lines()
	if d.code != 0 || len(lines) != 2 {
		t.Fatalf("case %s did not pass:\n%s", d.name, d.describe())
	}
	var r caseResult
	var counts struct {
		Passed *int `json:"passed"`
		Failed *int `json:"failed"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil {
		t.Fatalf("the case's JSON line: %v\n%s", err, d.describe())
	}
	if err := json.Unmarshal([]byte(lines[1]), &counts); err != nil {
		t.Fatalf("the counts' JSON line: %v\n%s", err, d.describe())
	}
	if r.Case != d.name || !r.OK || len(r.Failures) != 0 || counts.Passed == nil || *counts.Passed != 1 ||
		counts.Failed == nil || *counts.Failed != 0 {
		t.Fatalf("case %s did not pass:\n%s", d.name, d.describe())
	}
	return r
}

// statuses is each handler's status in the parsed verdict.
func (r caseResult) statuses() map[string]string {
	s := map[string]string{}
	if r.Verdict != nil {
		for _, h := range r.Verdict.Verdict.Handlers {
			s[h.Name] = h.Status
		}
	}
	return s
}
