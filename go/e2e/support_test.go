// Package e2e runs the Go probe function (internal/probe, on aws-lambda-go
// and this library) through Lambda's lifecycle with the real shutdown layer.
// The shared cases of tests/cases/shutdown.json are run and checked by the
// one driver of every language, shutdown-conformance (conformance_test.go),
// in the repository's lifecycle emulator and under AWS's Runtime Interface
// Emulator; the measurements beside aws-lambda-go's WithEnableSIGTERM run
// the emulator (lambda-emulator) and the RIE themselves. The driver, the
// emulator and the layer are the debug builds of the Rust workspace (cargo
// build -p gracefulctl -p graceful-shutdown-extension -p
// graceful-shutdown-conformance, which scripts/test.d/80-go.sh runs first).
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var (
	repo   string
	target string
	// probeDir holds the probe built as `bootstrap`, as a provided.al2023 function ships it.
	probeDir string
	probeBin string
)

func TestMain(m *testing.M) {
	os.Exit(setupAndRun(m))
}

func setupAndRun(m *testing.M) int {
	var err error
	if repo, err = filepath.Abs(filepath.Join("..", "..")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	target = os.Getenv("CARGO_TARGET_DIR")
	if target == "" {
		target = filepath.Join(repo, "target")
	}
	dir, err := os.MkdirTemp("", "gs-go-probe-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// Readable by the unprivileged users the RIE may run it as.
	_ = os.Chmod(dir, 0o755)
	probeDir = filepath.Join(dir, "function")
	probeBin = filepath.Join(probeDir, "bootstrap")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", probeBin, "./internal/probe")
	build.Dir = filepath.Join(repo, "go")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the probe (go build ./internal/probe): %v\n%s", err, out)
		return 1
	}
	_ = os.Chmod(probeDir, 0o755)
	return m.Run()
}

func require(t *testing.T, path, how string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing: %s", path, how)
	}
	return path
}

func emulatorBin(t *testing.T) string {
	return require(t, filepath.Join(target, "debug", "lambda-emulator"),
		"run `cargo build -p gracefulctl -p graceful-shutdown-extension` (scripts/test.d/80-go.sh does)")
}

// layerBinary is the shutdown layer's binary: the release build for Lambda, else the debug build.
func layerBinary(t *testing.T) string {
	for _, p := range []string{filepath.Join(target, "lambda", "x86_64", "extensions", "graceful-shutdown"),
		filepath.Join(target, "debug", "graceful-shutdown")} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("the shutdown layer is not built: run `cargo build -p graceful-shutdown-extension`")
	return ""
}

// stageLayer lays out a layer directory with extensions/graceful-shutdown.
func stageLayer(t *testing.T, into string) string {
	t.Helper()
	layer := filepath.Join(into, "layer")
	if err := os.MkdirAll(filepath.Join(layer, "extensions"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(layerBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(layer, "extensions", "graceful-shutdown"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	return layer
}

// --- loopback ports, leased as rust/testkit and the Python and Node.js tests lease them

const (
	portFirst = 20000
	portEnd   = 32000
)

var portNext = os.Getpid() * 7919

type lease struct {
	Port int
	file *os.File
}

func (l *lease) release() {
	_ = syscall.Flock(int(l.file.Fd()), syscall.LOCK_UN)
	_ = l.file.Close()
}

// leasePort takes a port in 20000-31999 (below the ephemeral range) with an
// exclusive flock on <temp dir>/graceful-shutdown-test-ports/<port>.lock,
// held until release: no cooperating test, in any language, gets it
// meanwhile. A port some other program listens on is skipped.
func leasePort(t *testing.T) *lease {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "graceful-shutdown-test-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < portEnd-portFirst; i++ {
		port := portFirst + (portNext%(portEnd-portFirst)+(portEnd-portFirst))%(portEnd-portFirst)
		portNext++
		f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)+".lock"), os.O_RDWR|os.O_CREATE, 0o666)
		if err != nil {
			continue
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			_ = f.Close()
			continue
		}
		ln, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			_ = f.Close()
			continue
		}
		_ = ln.Close()
		l := &lease{Port: port, file: f}
		t.Cleanup(l.release)
		return l
	}
	t.Fatalf("no free loopback port in %d-%d: every one is locked or in use", portFirst, portEnd-1)
	return nil
}

// --- the emulator's timeline

type event map[string]any

type logLine struct {
	AtMs   float64 `json:"at_ms"`
	Source string  `json:"source"`
	Line   string  `json:"line"`
}

type run struct {
	ExitCode int
	Events   []event
	Logs     []logLine
	Stderr   string
}

func (r *run) of(source, kind string) []event {
	var found []event
	for _, e := range r.Events {
		if e["source"] == source && (kind == "" || e["kind"] == kind) {
			found = append(found, e)
		}
	}
	return found
}

func (r *run) signals(source string) []string {
	found := []string{}
	for _, e := range r.of(source, "signal") {
		found = append(found, fmt.Sprint(e["signal"]))
	}
	return found
}

func (r *run) firstAt(source, kind string) (float64, bool) {
	if found := r.of(source, kind); len(found) > 0 {
		at, _ := found[0]["at_ms"].(float64)
		return at, true
	}
	return 0, false
}

func (r *run) exitOf(source string) string {
	for _, e := range r.of(source, "exited") {
		if code, ok := e["code"].(float64); ok {
			return fmt.Sprintf("code:%d", int(code))
		}
		return fmt.Sprintf("signal:%v", e["signal"])
	}
	return ""
}

// sigtermAt is when the runtime got its (first) SIGTERM.
func (r *run) sigtermAt() (float64, bool) {
	for _, e := range r.of("runtime", "signal") {
		if e["signal"] == "SIGTERM" {
			at, _ := e["at_ms"].(float64)
			return at, true
		}
	}
	return 0, false
}

// firstLogAt is when the first line of source containing text was read.
func (r *run) firstLogAt(source, text string) (float64, bool) {
	for _, l := range r.Logs {
		if l.Source == source && strings.Contains(l.Line, text) {
			return l.AtMs, true
		}
	}
	return 0, false
}

func (r *run) verdictLine() string {
	for _, l := range r.Logs {
		if strings.Contains(l.Line, "graceful-shutdown verdict") {
			return l.Line
		}
	}
	return ""
}

// describe is the whole timeline, for failure messages.
func (r *run) describe() string {
	type row struct {
		at   float64
		text string
	}
	var rows []row
	for _, e := range r.Events {
		at, _ := e["at_ms"].(float64)
		rest := map[string]any{}
		for k, v := range e {
			if k != "at_ms" && k != "source" {
				rest[k] = v
			}
		}
		j, _ := json.Marshal(rest)
		rows = append(rows, row{at, fmt.Sprintf("%-18v %s", e["source"], j)})
	}
	for _, l := range r.Logs {
		rows = append(rows, row{l.AtMs, fmt.Sprintf("%-18s | %s", l.Source, l.Line)})
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].at < rows[j].at })
	var b strings.Builder
	fmt.Fprintf(&b, "emulator exit %d\n", r.ExitCode)
	for _, x := range rows {
		fmt.Fprintf(&b, "%9.1f ms  %s\n", x.at, x.text)
	}
	b.WriteString("stderr:\n" + r.Stderr)
	return b.String()
}

type emulation struct {
	layer       string // "" for none
	env         map[string]string
	events      []string
	invocations int
	timeoutMs   int
	shareMs     int
	shutdownMs  int
}

// emulate runs the probe once in the emulator, to the end, and parses its JSON timeline.
func emulate(t *testing.T, dir string, e emulation) *run {
	t.Helper()
	args := []string{"--function-dir", probeDir, "--json",
		"--invocations", strconv.Itoa(e.invocations), "--timeout-ms", strconv.Itoa(e.timeoutMs),
		"--runtime-share-ms", strconv.Itoa(e.shareMs), "--shutdown-ms", strconv.Itoa(e.shutdownMs)}
	if e.layer != "" {
		args = append(args, "--layer-dir", e.layer)
	}
	for i, ev := range e.events {
		path := filepath.Join(dir, fmt.Sprintf("event-%d.json", i))
		if err := os.WriteFile(path, []byte(ev), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--event", path)
	}
	keys := make([]string, 0, len(e.env))
	for k := range e.env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "--env", k+"="+e.env[k])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, emulatorBin(t), args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GRACEFUL_SHUTDOWN_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := &run{Stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && ctx.Err() == nil:
		r.ExitCode = exitErr.ExitCode()
	default:
		t.Fatalf("the emulator did not run to its end: %v\n%s", err, stderr.String())
	}
	var timeline struct {
		Events []event   `json:"events"`
		Logs   []logLine `json:"logs"`
	}
	if err := json.Unmarshal([]byte(stdout.String()), &timeline); err != nil {
		t.Fatalf("the emulator printed no JSON timeline (exit %d): %v\n%s\n%s", r.ExitCode, err, stdout.String(), stderr.String())
	}
	r.Events, r.Logs = timeline.Events, timeline.Logs
	return r
}

func readLines(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return []string{}
	}
	lines := []string{}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// wait polls check every few milliseconds until it holds, at most limit.
func wait(limit time.Duration, check func() bool) bool {
	deadline := time.Now().Add(limit)
	for {
		if check() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
}
