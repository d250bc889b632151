package gracefulshutdown

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Running the handlers once: each in a goroutine of its own, in order or all
// at once, inside one budget counted from the signal.
//
//   - In order (the default), each handler gets what is left of the budget.
//     One still running when the budget is gone is abandoned (its context is
//     cancelled) and reported timedOut. Handlers that have not started by then
//     are skipped: they never run, are not reported one by one (the
//     extension's verdict lists them as not_started, from the names in
//     hello) and count as skipped in the Summary.
//   - Concurrently, every handler starts at once, and every one still running
//     when the budget is gone is abandoned and reported timedOut.
//
// A goroutine cannot be killed: an abandoned handler keeps running until the
// process exits, which it does right after the last reports.

// HandlerFunc is a shutdown handler. ctx is cancelled when the handlers'
// budget ends (its deadline is that moment).
type HandlerFunc func(ctx context.Context) error

// HandlerStatus is how one handler ended.
type HandlerStatus string

const (
	// Completed: returned nil within the budget.
	Completed HandlerStatus = "completed"
	// Failed: returned an error, or panicked (the error then starts with "panicked: ").
	Failed HandlerStatus = "failed"
	// TimedOut: still running when the budget ran out; abandoned.
	TimedOut HandlerStatus = "timed_out"
	// Skipped: never started, the budget was gone before its turn (in order only).
	Skipped HandlerStatus = "skipped"
)

// HandlerOutcome is what happened to one handler.
type HandlerOutcome struct {
	// Name is the name it was registered with (cut as reports carry it).
	Name string
	// Index is its position in registration order, from 0.
	Index  int
	Status HandlerStatus
	// Duration is from its start to its end (or to the budget's end); zero if skipped.
	Duration time.Duration
	// Error is the error text of a failed handler.
	Error string
}

// Summary is what happened to all the handlers, in registration order.
type Summary struct {
	// Signal is "SIGTERM", "SIGINT" or "trigger".
	Signal   string
	Handlers []HandlerOutcome
	// Total is from the signal to the last handler's end.
	Total time.Duration
}

func (s Summary) count(status HandlerStatus) int {
	n := 0
	for _, h := range s.Handlers {
		if h.Status == status {
			n++
		}
	}
	return n
}

// Completed counts the handlers that returned nil.
func (s Summary) Completed() int { return s.count(Completed) }

// Failed counts the handlers that returned an error or panicked.
func (s Summary) Failed() int { return s.count(Failed) }

// TimedOut counts the handlers abandoned at the end of the budget.
func (s Summary) TimedOut() int { return s.count(TimedOut) }

// Skipped counts the handlers that never started because the budget was gone.
func (s Summary) Skipped() int { return s.count(Skipped) }

// AllCompleted says whether every handler completed.
func (s Summary) AllCompleted() bool { return s.Completed() == len(s.Handlers) }

// Handler is the outcome of the handler with this name, if one was registered.
func (s Summary) Handler(name string) (HandlerOutcome, bool) {
	for _, h := range s.Handlers {
		if h.Name == name {
			return h, true
		}
	}
	return HandlerOutcome{}, false
}

type handler struct {
	name string
	fn   HandlerFunc
}

// reportLockWait is how long a report of the shutdown may wait for the
// reporter's ordering lock before it is left to the sending goroutine
// (the lock is held only to connect and write, tens of microseconds).
var reportLockWait = flushLimit

func millis(d time.Duration) int64 {
	if d < 0 {
		return 0
	}
	return d.Milliseconds()
}

// result is how a handler's goroutine ended.
type result struct {
	err   error
	ended time.Time
}

// callIsolated runs fn and turns a panic into an error.
func callIsolated(ctx context.Context, fn HandlerFunc) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicError(v)
		}
	}()
	return fn(ctx)
}

// errGoexit is the failure of a handler whose goroutine ended without
// returning (runtime.Goexit, which t.FailNow calls, for one).
var errGoexit = errors.New("exited: the handler's goroutine ended without returning (runtime.Goexit)")

type panicked struct{ message string }

func (p panicked) Error() string { return p.message }

func panicError(v any) error {
	var text string
	switch x := v.(type) {
	case error:
		text = x.Error()
	case string:
		text = x
	case fmt.Stringer:
		text = x.String()
	default:
		text = fmt.Sprint(v)
	}
	return panicked{"panicked: " + text}
}

// describe is an error's text, or a placeholder for an error that says nothing.
func describe(err error) string {
	if text := err.Error(); text != "" {
		return text
	}
	return fmt.Sprintf("%T with an empty message", err)
}

type running struct {
	index int
	h     handler
	began time.Time
	done  chan result
}

func start(ctx context.Context, index int, h handler, rep *reporter) *running {
	rep.sendNow(startedReport(h.name, index), reportLockWait)
	logDebug("graceful-shutdown: shutdown handler started handler=" + h.name + " index=" + strconv.Itoa(index))
	return launch(ctx, index, h)
}

// launch runs h in a goroutine of its own.
func launch(ctx context.Context, index int, h handler) *running {
	r := &running{index: index, h: h, began: time.Now(), done: make(chan result, 1)}
	go func() {
		err := errGoexit
		// Deferred, so that a runtime.Goexit in the handler is reported too.
		defer func() { r.done <- result{err: err, ended: time.Now()} }()
		err = callIsolated(ctx, h.fn)
	}()
	return r
}

func finish(ctx context.Context, r *running, rep *reporter) HandlerOutcome {
	out := HandlerOutcome{Name: r.h.name, Index: r.index}
	var res result
	ended := false
	select {
	case res = <-r.done:
		ended = true
	case <-ctx.Done():
		// Both may be ready at once: an end within the budget counts.
		select {
		case res = <-r.done:
			ended = true
		default:
		}
	}
	if deadline, ok := ctx.Deadline(); ended && ok && res.ended.After(deadline) {
		ended = false
	}
	if !ended {
		out.Duration = time.Since(r.began)
		ms := millis(out.Duration)
		out.Status = TimedOut
		rep.sendNow(timedOutReport(out.Name, r.index, ms), reportLockWait)
		logError("graceful-shutdown: shutdown handler timed out: still running when the budget ran out; abandoned handler=" +
			out.Name + " duration_ms=" + strconv.FormatInt(ms, 10))
		return out
	}
	out.Duration = res.ended.Sub(r.began)
	ms := millis(out.Duration)
	if res.err != nil {
		out.Status = Failed
		out.Error = fit(describe(res.err), maxErrorBytes)
		rep.sendNow(failedReport(out.Name, r.index, ms, out.Error), reportLockWait)
		logError("graceful-shutdown: shutdown handler failed handler=" + out.Name +
			" duration_ms=" + strconv.FormatInt(ms, 10) + " error=" + out.Error)
	} else {
		out.Status = Completed
		rep.sendNow(finishedReport(out.Name, r.index, ms), reportLockWait)
		logInfo("graceful-shutdown: shutdown handler completed handler=" + out.Name +
			" duration_ms=" + strconv.FormatInt(ms, 10))
	}
	return out
}

// runHandlers runs every handler once within budget from start, reporting as
// it goes; the context the handlers get is cancelled at the budget's end.
func runHandlers(handlers []handler, concurrent bool, budget time.Duration, begin time.Time, signal string, rep *reporter) Summary {
	ctx, cancel := context.WithDeadline(context.Background(), begin.Add(budget))
	defer cancel()
	// Delivered before any handler runs: a verdict must never miss the start
	// of a shutdown the runtime was killed in.
	rep.sendNow(shutdownStartedReport(signal), reportLockWait)
	logInfo("graceful-shutdown: running shutdown handlers signal=" + signal + " handlers=" + strconv.Itoa(len(handlers)) +
		" budget_ms=" + strconv.FormatInt(millis(budget), 10) + " concurrent=" + strconv.FormatBool(concurrent))
	outcomes := make([]HandlerOutcome, 0, len(handlers))
	if concurrent {
		// All announced first, then all started: no handler waits for another's report.
		for i, h := range handlers {
			rep.sendNow(startedReport(h.name, i), reportLockWait)
		}
		runs := make([]*running, len(handlers))
		for i, h := range handlers {
			runs[i] = launch(ctx, i, h)
		}
		for _, r := range runs {
			outcomes = append(outcomes, finish(ctx, r, rep))
		}
	} else {
		for i, h := range handlers {
			if ctx.Err() != nil {
				logWarn("graceful-shutdown: shutdown handler skipped: the " + strconv.FormatInt(millis(budget), 10) +
					" ms budget was used up before its turn handler=" + h.name)
				outcomes = append(outcomes, HandlerOutcome{Name: h.name, Index: i, Status: Skipped})
				continue
			}
			outcomes = append(outcomes, finish(ctx, start(ctx, i, h, rep), rep))
		}
	}
	summary := Summary{Signal: signal, Handlers: outcomes, Total: time.Since(begin)}
	// The last report: written before the exit, with every one before it.
	rep.sendNow(allDoneReport(summary.Completed(), summary.Failed(), summary.TimedOut(), millis(summary.Total)), reportLockWait)
	logInfo(fmt.Sprintf("graceful-shutdown: shutdown handlers done completed=%d failed=%d timed_out=%d skipped=%d total_ms=%d",
		summary.Completed(), summary.Failed(), summary.TimedOut(), summary.Skipped(), millis(summary.Total)))
	return summary
}
