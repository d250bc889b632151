package gracefulshutdown

import (
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// captureLink keeps the reports in the order they were written.
type captureLink struct {
	mu      sync.Mutex
	written []string
}

func (c *captureLink) open(r report, _ time.Duration) (net.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.written = append(c.written, string(r.json()))
	return nil, nil
}
func (c *captureLink) answer(report, net.Conn) {}
func (c *captureLink) failed(report, error)    {}

func (c *captureLink) reports() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.written...)
}

func run(t *testing.T, handlers []handler, concurrent bool, budget time.Duration) (Summary, []string) {
	t.Helper()
	link := &captureLink{}
	rep := newReporter(link)
	summary := runHandlers(handlers, concurrent, budget, time.Now(), "trigger", rep)
	if !rep.flush(5*time.Second, true) {
		t.Fatal("reports not flushed")
	}
	return summary, link.reports()
}

func sleeping(d time.Duration, log *[]string, mu *sync.Mutex, name string) HandlerFunc {
	return func(ctx context.Context) error {
		mu.Lock()
		*log = append(*log, "start "+name)
		mu.Unlock()
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
		mu.Lock()
		*log = append(*log, "end "+name)
		mu.Unlock()
		return nil
	}
}

func TestInOrderWithErrorsAndPanicsIsolated(t *testing.T) {
	var log []string
	var mu sync.Mutex
	handlers := []handler{
		{"a", sleeping(5*time.Millisecond, &log, &mu, "a")},
		{"panics", func(context.Context) error { panic("boom") }},
		{"errs", func(context.Context) error { return errors.New("disk full") }},
		{"panics-error", func(context.Context) error { panic(errors.New("wrapped")) }},
		{"b", sleeping(0, &log, &mu, "b")},
	}
	summary, reports := run(t, handlers, false, 5*time.Second)
	if summary.Completed() != 2 || summary.Failed() != 3 || summary.TimedOut() != 0 || summary.Skipped() != 0 {
		t.Fatalf("%+v", summary)
	}
	if strings.Join(log, ",") != "start a,end a,start b,end b" {
		t.Fatalf("%v", log)
	}
	for name, want := range map[string]string{"panics": "panicked: boom", "errs": "disk full", "panics-error": "panicked: wrapped"} {
		if h, _ := summary.Handler(name); h.Status != Failed || h.Error != want {
			t.Errorf("%s: %+v", name, h)
		}
	}
	kinds := []string{}
	for _, r := range reports {
		kinds = append(kinds, r[9:strings.Index(r[9:], `"`)+9])
	}
	want := "shutdownStarted,started,finished,started,failed,started,failed,started,failed,started,finished,allDone"
	if strings.Join(kinds, ",") != want {
		t.Fatalf("%v\n%v", kinds, reports)
	}
	if !strings.Contains(reports[4], `"error":"panicked: boom"`) {
		t.Fatal(reports[4])
	}
	if reports[len(reports)-1] != `{"type":"allDone","completed":2,"failed":3,"timedOut":0,"totalMs":`+reports[len(reports)-1][len(`{"type":"allDone","completed":2,"failed":3,"timedOut":0,"totalMs":`):] {
		t.Fatal(reports[len(reports)-1])
	}
}

func TestAHandlerOverTheBudgetIsAbandonedItsContextCancelledAndTheRestSkipped(t *testing.T) {
	cancelled := make(chan time.Time, 1)
	var ran atomic.Bool
	budget := 100 * time.Millisecond
	begin := time.Now()
	handlers := []handler{
		{"slow", func(ctx context.Context) error {
			deadline, ok := ctx.Deadline()
			if !ok || deadline.Sub(begin) < budget || deadline.Sub(begin) > budget+50*time.Millisecond {
				t.Errorf("deadline %v after the start", deadline.Sub(begin))
			}
			<-ctx.Done()
			cancelled <- time.Now()
			time.Sleep(time.Hour) // ignores its context: abandoned
			return nil
		}},
		{"after", func(context.Context) error { ran.Store(true); return nil }},
	}
	summary, reports := run(t, handlers, false, budget)
	if h, _ := summary.Handler("slow"); h.Status != TimedOut {
		t.Fatalf("%+v", summary)
	}
	if h, _ := summary.Handler("after"); h.Status != Skipped || ran.Load() {
		t.Fatalf("%+v", summary)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the context was never cancelled")
	}
	if summary.Total < budget || summary.Total > budget+2*time.Second {
		t.Fatalf("total %v", summary.Total)
	}
	joined := strings.Join(reports, "\n")
	if !strings.Contains(joined, `{"type":"timedOut","handler":"slow","index":0,`) || strings.Contains(joined, `"after"`) {
		t.Fatal(joined)
	}
}

func TestConcurrentlyAllStartAtOnceAndOverrunnersTimeOut(t *testing.T) {
	var started sync.WaitGroup
	started.Add(3)
	all := make(chan struct{})
	go func() { started.Wait(); close(all) }()
	wait := func(d time.Duration) HandlerFunc {
		return func(ctx context.Context) error {
			started.Done()
			// Each waits for the others to have started: in order, this would never end in time.
			select {
			case <-all:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case <-time.After(d):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	handlers := []handler{{"a", wait(0)}, {"b", wait(0)}, {"slow", wait(time.Hour)}}
	summary, reports := run(t, handlers, true, 300*time.Millisecond)
	for name, want := range map[string]HandlerStatus{"a": Completed, "b": Completed, "slow": TimedOut} {
		if h, _ := summary.Handler(name); h.Status != want {
			t.Errorf("%s: %+v", name, h)
		}
	}
	// All announced before any outcome.
	if !strings.Contains(reports[3], `"started","handler":"slow"`) {
		t.Fatalf("%v", reports)
	}
}

func TestGoexitInAHandlerIsAFailure(t *testing.T) {
	summary, _ := run(t, []handler{{"exits", func(context.Context) error { runtime.Goexit(); return nil }}}, false, time.Second)
	if h, _ := summary.Handler("exits"); h.Status != Failed || !strings.Contains(h.Error, "runtime.Goexit") {
		t.Fatalf("%+v", h)
	}
}

func TestTriggerRunsTheHandlersOnceEvenWhenCalledConcurrently(t *testing.T) {
	var runs atomic.Int32
	config := Config{Port: DefaultPort, Timeout: 100 * time.Millisecond, SecretFile: t.TempDir() + "/absent"}
	h := New(config).OnShutdown("count", func(context.Context) error {
		runs.Add(1)
		time.Sleep(10 * time.Millisecond)
		return nil
	}).Build()
	if _, done := h.Summary(); done || h.ExtensionAttached() || h.HandlerNames()[0] != "count" {
		t.Fatal("state before the trigger")
	}
	var wg sync.WaitGroup
	summaries := make([]Summary, 4)
	for i := range summaries {
		wg.Add(1)
		go func() { defer wg.Done(); summaries[i] = h.Trigger() }()
	}
	wg.Wait()
	if runs.Load() != 1 {
		t.Fatalf("%d runs", runs.Load())
	}
	for _, s := range summaries {
		if s.Signal != "trigger" || !s.AllCompleted() || len(s.Handlers) != 1 {
			t.Fatalf("%+v", s)
		}
	}
}

func TestLongNamesAreCutAtRegistration(t *testing.T) {
	h := New(Config{SecretFile: t.TempDir() + "/absent", Timeout: time.Second}).
		OnShutdown(strings.Repeat("n", 300), func(context.Context) error { return nil }).Build()
	name := h.HandlerNames()[0]
	if jsonStringLen(name) > maxNameBytes || !strings.HasSuffix(name, "…") {
		t.Fatal(name)
	}
	if s := h.Trigger(); s.Handlers[0].Name != name {
		t.Fatal(s)
	}
}
