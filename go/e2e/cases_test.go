package e2e

import (
	"slices"
	"strings"
	"testing"
)

// The shared end-to-end cases of tests/cases/shutdown.json, with the real
// shutdown layer and the Go probe on aws-lambda-go in the lifecycle
// emulator, run and checked by shutdown-conformance (conformance_test.go),
// as the Rust, Python, Node.js and Java libraries run them; then the Go
// probe on 7 % of a core and on Lambda Managed Instances, through the same
// driver.

func TestSharedCasesInTheEmulator(t *testing.T) {
	for _, name := range caseNames(t, "emulator") {
		t.Run(name, func(t *testing.T) { assertPassed(t, conformance(t, name, "emulator")) })
	}
}

const (
	namesEach      = "the_verdict_names_each_handler_with_its_status"
	killedHalfway  = "the_verdict_stays_true_when_the_runtime_is_killed_halfway"
	allHandlersRun = "all_handlers_complete"
)

// starvedArgs give the whole run the CPU share Lambda gives 128 MB (a cgroup
// CPU quota of about 7 % of a core); the init limit is raised from Lambda's
// 10 s, since these tests are about the shutdown.
var starvedArgs = []string{"--memory-mb", "128", "--init-timeout-ms", "60000"}

// starvedLeftOut is what a case can truly end with on 7 % of a core, left to
// the test: once a period's share is spent, every thread of the runtime
// waits for the next period, so close-pool's 20 ms sleep can end after the
// 150 ms budget. Then timed_out is the true verdict for it, and slow, whose
// turn never comes, is not_started; the test checks those two together (and
// the count they make), and the driver every other expectation, instead of a
// race against the quota (as the Python library's tests do).
var starvedLeftOut = map[string][]string{
	namesEach: {"handlers", "verdictEndsWith", "output", "statuses.close-pool", "statuses.slow"},
}

// On the CPU Lambda gives 128 MB the verdict stays true: started is written
// before each handler runs, so a handler cut off by the SIGKILL still shows
// as running.
func TestSharedCasesOn7PercentOfACore(t *testing.T) {
	for _, name := range []string{namesEach, killedHalfway} {
		t.Run(name, func(t *testing.T) {
			args := append(slices.Clone(starvedArgs), "--json")
			for _, key := range starvedLeftOut[name] {
				args = append(args, "--leave-out", key)
			}
			d := conformance(t, name, "emulator", args...)
			r := d.result(t)
			left := slices.Sorted(slices.Values(r.NotChecked))
			if want := slices.Sorted(slices.Values(starvedLeftOut[name])); !slices.Equal(left, want) {
				t.Fatalf("not checked: %q, want %q:\n%s", left, want, d.describe())
			}
			noted := false
			for _, e := range r.Events {
				if e["source"] == "lambda" && e["kind"] == "note" &&
					strings.Contains(stringOf(e["message"]), "CPU share 7.2 % of a vCPU") {
					noted = true
				}
			}
			if !noted {
				t.Fatalf("the run did not have 7.2 %% of a vCPU:\n%s", d.describe())
			}
			if name == namesEach {
				statuses := r.statuses()
				closePool, slow := statuses["close-pool"], statuses["slow"]
				// In order, within one budget: slow (5 s) runs past the budget
				// unless close-pool already took the rest of it; then slow never starts.
				if !(closePool == "ok" && slow == "timed_out") && !(closePool == "timed_out" && slow == "not_started") {
					t.Fatalf("close-pool=%s slow=%s:\n%s", closePool, slow, d.describe())
				}
				ok, wantOK := 0, 1
				for _, s := range statuses {
					if s == "ok" {
						ok++
					}
				}
				if closePool == "ok" {
					wantOK = 2
				}
				if ok != wantOK || len(statuses) != 4 {
					t.Fatalf("handlers=%d/%d, want %d/4:\n%s", ok, len(statuses), wantOK, d.describe())
				}
			}
		})
	}
}

// The moment the handler's first line is written, the runtime is SIGKILLed
// (by the driver, standing for the platform's SIGKILL), on 7 % of a core.
// Its started report was written to the extension before it ran (not queued
// for a goroutine that may not get the CPU in time), so the verdict says
// running, not not_started: every expectation of the case holds.
func TestAKillJustAsAHandlerStartsOn7PercentOfACoreStillShowsItRunning(t *testing.T) {
	args := append(slices.Clone(starvedArgs), "--kill-runtime-after", "start slow")
	assertPassed(t, conformance(t, killedHalfway, "emulator", args...))
}

// Lambda Managed Instances (AWS_LAMBDA_MAX_CONCURRENCY=2 and
// AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances, as the emulator's
// --max-concurrency 2 sets them): aws-lambda-go runs that many invoke loops
// as goroutines of one process, so the handlers run once, in that process,
// and the verdict is the single-process one (no workers). Every expectation
// of all_handlers_complete holds, its output line for line (each handler once).
func TestManagedInstancesOneProcessRunsItsHandlersOnce(t *testing.T) {
	d := conformance(t, allHandlersRun, "emulator", "--json",
		"--env", "AWS_LAMBDA_MAX_CONCURRENCY=2", "--env", "AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances")
	r := d.result(t)
	if len(r.NotChecked) != 0 || r.Verdict == nil || r.VerdictLine == nil {
		t.Fatalf("not every expectation was checked, or no verdict:\n%s", d.describe())
	}
	if len(r.Verdict.Verdict.Workers) != 0 || strings.Contains(*r.VerdictLine, "workers=") {
		t.Fatalf("the verdict names workers:\n%s", d.describe())
	}
}

func stringOf(v any) string {
	s, _ := v.(string)
	return s
}
