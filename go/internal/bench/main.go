// Command bench measures the Go library beside aws-lambda-go's own
// lambda.WithEnableSIGTERM, in the repository's lifecycle emulator with the
// real shutdown layer and the Go probe (internal/probe): SIGTERM to the first
// handler (the probe's "probe: start <name>" line as the emulator reads it),
// SIGTERM to the process gone (reaped), and how many runs the SIGKILL at the
// end of the runtime's share ended. bench/run.sh runs it for the language rows
// of `pnpm run bench`, after the Node.js and Python libraries' benches.
//
//	go run ./internal/bench --runs 21 --json go.json   (from go/)
//
// The emulator and the layer are the debug builds of the Rust workspace
// (cargo build -p gracefulctl -p graceful-shutdown-extension).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type setup struct {
	name  string
	env   map[string]string
	first string // the handler whose start is timed
}

var setups = []setup{
	{"library", map[string]string{"PROBE_HANDLERS": "flush:ok"}, "flush"},
	{"WithEnableSIGTERM", map[string]string{"PROBE_NO_LIBRARY": "1", "PROBE_GO_SIGTERM": "1", "PROBE_HANDLERS": ""}, "sigterm-callback"},
	{"both", map[string]string{"PROBE_GO_SIGTERM": "1", "PROBE_HANDLERS": "flush:ok"}, "flush"},
}

// Stats is one series, in milliseconds.
type Stats struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	P10    float64 `json:"p10"`
	P90    float64 `json:"p90"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// Row is one setup's figures.
type Row struct {
	Setup         string `json:"setup"`
	FirstHandler  Stats  `json:"sigtermToFirstHandler"`
	ProcessGone   Stats  `json:"sigtermToProcessGone"`
	Killed        int    `json:"sigkilled"`
	Runs          int    `json:"runs"`
	CallbackEnded int    `json:"callbackFinished"`
}

func stats(v []float64) Stats {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	q := func(p float64) float64 {
		if len(s) == 1 {
			return s[0]
		}
		x := p * float64(len(s)-1)
		i := int(math.Floor(x))
		if i+1 >= len(s) {
			return s[len(s)-1]
		}
		return s[i] + (x-float64(i))*(s[i+1]-s[i])
	}
	return Stats{N: len(s), Median: q(0.5), P10: q(0.1), P90: q(0.9), Min: s[0], Max: s[len(s)-1]}
}

func main() {
	runs := flag.Int("runs", 21, "emulator runs per setup")
	out := flag.String("json", "", "write the rows as JSON to this file")
	flag.Parse()
	if err := bench(*runs, *out); err != nil {
		fmt.Fprintln(os.Stderr, "go bench: "+err.Error())
		os.Exit(1)
	}
}

func bench(runs int, out string) error {
	repo, err := filepath.Abs("..")
	if err != nil {
		return err
	}
	target := os.Getenv("CARGO_TARGET_DIR")
	if target == "" {
		target = filepath.Join(repo, "target")
	}
	emulator := filepath.Join(target, "debug", "lambda-emulator")
	layerBin := filepath.Join(target, "debug", "graceful-shutdown")
	for _, p := range []string{emulator, layerBin} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s is missing: run cargo build -p gracefulctl -p graceful-shutdown-extension", p)
		}
	}
	work, err := os.MkdirTemp("", "gs-go-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	fn := filepath.Join(work, "function")
	build := exec.Command("go", "build", "-o", filepath.Join(fn, "bootstrap"), "./internal/probe")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if o, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./internal/probe: %v\n%s", err, o)
	}
	layer := filepath.Join(work, "layer")
	if err := os.MkdirAll(filepath.Join(layer, "extensions"), 0o755); err != nil {
		return err
	}
	data, err := os.ReadFile(layerBin)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(layer, "extensions", "graceful-shutdown"), data, 0o755); err != nil {
		return err
	}
	var rows []Row
	for _, s := range setups {
		row := Row{Setup: s.name, Runs: runs}
		var first, gone []float64
		for i := 0; i < runs; i++ {
			m, err := measure(emulator, fn, layer, work, s, i)
			if err != nil {
				return fmt.Errorf("%s, run %d: %w", s.name, i+1, err)
			}
			first = append(first, m.first)
			gone = append(gone, m.gone)
			if m.killed {
				row.Killed++
			}
			if m.callbackEnded {
				row.CallbackEnded++
			}
		}
		row.FirstHandler, row.ProcessGone = stats(first), stats(gone)
		rows = append(rows, row)
	}
	cell := func(s Stats) string {
		return fmt.Sprintf("%.2f ms (%.2f-%.2f, n=%d)", s.Median, s.P10, s.P90, s.N)
	}
	fmt.Printf("| setup | SIGTERM -> first handler | SIGTERM -> process gone | SIGKILLed |\n|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Printf("| %s | %s | %s | %d of %d |\n", r.Setup, cell(r.FirstHandler), cell(r.ProcessGone), r.Killed, r.Runs)
	}
	if out == "" {
		return nil
	}
	doc := map[string]any{"go": runtime.Version(), "client": "aws-lambda-go v1.55.1", "rows": rows}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(out, append(b, '\n'), 0o644)
}

type measured struct {
	first, gone   float64
	killed        bool
	callbackEnded bool
}

type timeline struct {
	Events []map[string]any `json:"events"`
	Logs   []struct {
		AtMs   float64 `json:"at_ms"`
		Source string  `json:"source"`
		Line   string  `json:"line"`
	} `json:"logs"`
}

func measure(emulator, fn, layer, work string, s setup, i int) (measured, error) {
	var m measured
	dir := filepath.Join(work, fmt.Sprintf("%s-%d", strings.ReplaceAll(s.name, " ", "-"), i))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return m, err
	}
	output := filepath.Join(dir, "probe-output.txt")
	port, release, err := leasePort()
	if err != nil {
		return m, err
	}
	defer release()
	args := []string{"--function-dir", fn, "--layer-dir", layer, "--json", "--invocations", "1",
		"--env", "PROBE_OUTPUT=" + output, "--env", "GRACEFUL_SHUTDOWN_PORT=" + strconv.Itoa(port),
		"--env", "GRACEFUL_SHUTDOWN_SECRET_FILE=" + filepath.Join(dir, "secret")}
	for k, v := range s.env {
		args = append(args, "--env", k+"="+v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, emulator, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		return m, fmt.Errorf("emulator: %v\n%s", err, stderr.String())
	}
	var t timeline
	if err := json.Unmarshal(stdout, &t); err != nil {
		return m, fmt.Errorf("no JSON timeline: %v", err)
	}
	term, gone := -1.0, -1.0
	for _, e := range t.Events {
		if e["source"] != "runtime" {
			continue
		}
		at, _ := e["at_ms"].(float64)
		switch {
		case e["kind"] == "signal" && e["signal"] == "SIGTERM" && term < 0:
			term = at
		case e["kind"] == "signal" && e["signal"] == "SIGKILL":
			m.killed = true
		case e["kind"] == "exited" && gone < 0:
			gone = at
		}
	}
	started := -1.0
	for _, l := range t.Logs {
		if l.Source == "runtime" && strings.Contains(l.Line, "probe: start "+s.first) {
			started = l.AtMs
			break
		}
	}
	if term < 0 || gone < 0 || started < 0 {
		return m, fmt.Errorf("SIGTERM, the first handler or the exit missing from the timeline:\n%s", stdout)
	}
	m.first, m.gone = started-term, gone-term
	data, _ := os.ReadFile(output)
	m.callbackEnded = slices.Contains(strings.Split(string(data), "\n"), "sigterm-callback")
	return m, nil
}

// leasePort takes a loopback port in 20000-31999 with an exclusive flock on
// <temp dir>/graceful-shutdown-test-ports/<port>.lock, as every test of the
// repository does, so that no other test or bench gets it meanwhile.
func leasePort() (int, func(), error) {
	dir := filepath.Join(os.TempDir(), "graceful-shutdown-test-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return 0, nil, err
	}
	const first, end = 20000, 32000
	start := (os.Getpid() * 7919) % (end - first)
	for i := 0; i < end-first; i++ {
		port := first + (start+i)%(end-first)
		f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)+".lock"), os.O_RDWR|os.O_CREATE, 0o666)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			_ = f.Close()
			continue
		}
		ln, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			_ = f.Close()
			continue
		}
		_ = ln.Close()
		return port, func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); _ = f.Close() }, nil
	}
	return 0, nil, fmt.Errorf("no free loopback port in %d-%d", first, end-1)
}
