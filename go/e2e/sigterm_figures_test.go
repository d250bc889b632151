package e2e

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The library beside aws-lambda-go's own lambda.WithEnableSIGTERM, in the
// emulator with the real layer: what each does at SIGTERM, measured on the
// emulator's timeline (the signal as sent, the probe's "probe: start <name>"
// line as read from its stderr, the exit as reaped), and what happens when a
// function uses both.
//
// WithEnableSIGTERM registers an internal extension with no events (which
// alone makes Lambda send SIGTERM) and, on SIGTERM, calls its callbacks one
// after another; it never ends the process, so the runtime waits for the
// SIGKILL at the end of its share. Both listen with signal.Notify, so Go
// delivers the one SIGTERM to both: the callbacks and the library's handlers
// run side by side, and the library's exit (os.Exit after its last report)
// ends the process, cutting off a callback still running, or one that has
// not even been scheduled yet: the figures count how many callbacks started
// and finished.

type sample struct {
	firstMs  float64 // SIGTERM to the first "probe: start" line of want
	goneMs   float64 // SIGTERM to the runtime's end
	killed   bool    // ended by the SIGKILL at the end of its share
	exit     string
	output   []string
	verdict  string
	timeline string
}

func measure(t *testing.T, layer bool, env map[string]string, first string) sample {
	t.Helper()
	dir := t.TempDir()
	output := filepath.Join(dir, "probe-output.txt")
	port := leasePort(t)
	full := map[string]string{
		"PROBE_OUTPUT":                  output,
		"GRACEFUL_SHUTDOWN_PORT":        strconv.Itoa(port.Port),
		"GRACEFUL_SHUTDOWN_SECRET_FILE": filepath.Join(dir, "secret"),
	}
	for k, v := range env {
		full[k] = v
	}
	l := ""
	if layer {
		l = stageLayer(t, dir)
	}
	r := emulate(t, dir, emulation{layer: l, env: full, events: []string{"{}"}, invocations: 1,
		timeoutMs: 3000, shareMs: 300, shutdownMs: 2000})
	port.release()
	s := sample{exit: r.exitOf("runtime"), output: readLines(output), verdict: r.verdictLine(), timeline: r.describe()}
	term, ok := r.sigtermAt()
	if !ok {
		t.Fatalf("no SIGTERM reached the runtime:\n%s", s.timeline)
	}
	if at, ok := r.firstLogAt("runtime", "probe: start "+first); ok {
		s.firstMs = at - term
	} else {
		t.Fatalf("%q never started:\n%s", first, s.timeline)
	}
	gone, ok := r.firstAt("runtime", "exited")
	if !ok {
		t.Fatalf("the runtime never ended:\n%s", s.timeline)
	}
	s.goneMs = gone - term
	s.killed = slices.Contains(r.signals("runtime"), "SIGKILL")
	return s
}

func spread(values []float64) string {
	v := append([]float64(nil), values...)
	sort.Float64s(v)
	return fmt.Sprintf("median %.1f ms (%.1f-%.1f)", v[len(v)/2], v[0], v[len(v)-1])
}

const figureRuns = 5

type config struct {
	name  string
	layer bool
	env   map[string]string
	first string
	check func(t *testing.T, s sample)
}

func TestFiguresBesideWithEnableSIGTERM(t *testing.T) {
	library := map[string]string{"PROBE_HANDLERS": "flush:ok"}
	configs := []config{
		{"library", true, library, "flush", func(t *testing.T, s sample) {
			if s.killed || s.exit != "code:0" || !strings.Contains(s.verdict, "outcome=completed") {
				t.Fatalf("the library alone must end the process with status 0:\n%s", s.timeline)
			}
		}},
		{"WithEnableSIGTERM", true, map[string]string{"PROBE_NO_LIBRARY": "1", "PROBE_GO_SIGTERM": "1", "PROBE_HANDLERS": ""},
			"sigterm-callback", func(t *testing.T, s sample) {
				if !s.killed || s.exit != "signal:SIGKILL" || !slices.Contains(s.output, "sigterm-callback") {
					t.Fatalf("WithEnableSIGTERM alone runs its callback and waits for the SIGKILL:\n%s", s.timeline)
				}
			}},
		{"both", true, map[string]string{"PROBE_GO_SIGTERM": "1", "PROBE_HANDLERS": "flush:ok"}, "flush",
			func(t *testing.T, s sample) {
				if s.killed || s.exit != "code:0" || !strings.Contains(s.verdict, "outcome=completed") ||
					!slices.Contains(s.output, "flush") {
					t.Fatalf("with both, the library's handlers run and it ends the process:\n%s", s.timeline)
				}
			}},
		{"both, a 200 ms callback", true, map[string]string{"PROBE_GO_SIGTERM": "1", "PROBE_GO_SIGTERM_SLEEP_MS": "200",
			"PROBE_HANDLERS": "flush:ok"}, "flush", func(t *testing.T, s sample) {
			if s.killed || s.exit != "code:0" || slices.Contains(s.output, "sigterm-callback") {
				t.Fatalf("the library's exit cuts off a WithEnableSIGTERM callback still running:\n%s", s.timeline)
			}
		}},
	}
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			var first, gone []float64
			killed, started, finished := 0, 0, 0
			for i := 0; i < figureRuns; i++ {
				s := measure(t, c.layer, c.env, c.first)
				c.check(t, s)
				first = append(first, s.firstMs)
				gone = append(gone, s.goneMs)
				if s.killed {
					killed++
				}
				if slices.Contains(s.output, "start sigterm-callback") {
					started++
				}
				if slices.Contains(s.output, "sigterm-callback") {
					finished++
				}
			}
			t.Logf("figure: %s: SIGTERM -> %s started %s; SIGTERM -> process gone %s; SIGKILLed %d of %d; "+
				"WithEnableSIGTERM callback started in %d, finished in %d",
				c.name, c.first, spread(first), spread(gone), killed, figureRuns, started, finished)
		})
	}
}
