package gracefulshutdown

import (
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// GracefulShutdown collects shutdown handlers, then installs them:
//
//	gracefulshutdown.FromEnv().
//		OnShutdown("flush", func(ctx context.Context) error { return buffer.Flush(ctx) }).
//		Install()
type GracefulShutdown struct {
	config     Config
	concurrent bool
	handlers   []handler
}

// FromEnv starts with the settings read from the environment ([ConfigFromEnv]).
func FromEnv() *GracefulShutdown { return New(ConfigFromEnv()) }

// New starts with these settings (tests build the Config directly).
func New(config Config) *GracefulShutdown { return &GracefulShutdown{config: config} }

// OnShutdown registers a handler to run once on shutdown.
//
// name appears in the logs and in the extension's verdict; a name longer than
// 128 bytes (escaped as JSON) is cut and ends with "…", so that every report
// fits the protocol's size limit. fn runs in a goroutine of its own; its
// context is cancelled when the handlers' budget ends. A panic in fn is
// recovered and reported as a failure ("panicked: ...").
func (g *GracefulShutdown) OnShutdown(name string, fn HandlerFunc) *GracefulShutdown {
	if fn == nil {
		panic("gracefulshutdown: OnShutdown(" + quote(name) + ", nil): the handler is nil")
	}
	g.handlers = append(g.handlers, handler{name: fit(name, maxNameBytes), fn: fn})
	return g
}

// Concurrent runs the handlers all at once (true) instead of one after
// another in registration order (false, the default).
func (g *GracefulShutdown) Concurrent(concurrent bool) *GracefulShutdown {
	g.concurrent = concurrent
	return g
}

// Build checks for the extension (and, when it is there, says hello to it in
// the background) without listening for signals: the handlers then run only
// through [Handle.Trigger], and the process does not exit. For tests.
func (g *GracefulShutdown) Build() *Handle {
	names := make([]string, len(g.handlers))
	for i, h := range g.handlers {
		names[i] = h.name
	}
	handlers := append([]handler(nil), g.handlers...)
	rep := disabledReporter()
	secret, err := readSecret(g.config.SecretFile)
	if err == nil {
		rep = newReporter(newTCPLink(g.config.Port, secret))
		// Usually one report; more only when the names do not fit in one.
		for _, hello := range helloReports(os.Getpid(), names, millis(g.config.Timeout), g.concurrent) {
			rep.send(hello)
		}
	} else {
		warnMissingOnce(err.Error(), names)
	}
	logDebug("graceful-shutdown: shutdown handlers registered handlers=" + quoteAll(names) +
		" port=" + strconv.Itoa(g.config.Port) + " timeout_ms=" + strconv.FormatInt(millis(g.config.Timeout), 10) +
		" concurrent=" + strconv.FormatBool(g.concurrent) + " extension=" + strconv.FormatBool(rep.enabled()))
	return &Handle{config: g.config, concurrent: g.concurrent, names: names, handlers: handlers, rep: rep}
}

// Install checks for the extension, and runs the handlers once on the first
// SIGTERM or SIGINT, then exits the process with status 0 (after the last
// report, and before Lambda's SIGKILL). From the moment it returns, SIGTERM
// and SIGINT no longer end the process directly: they start the shutdown.
// Call it once, at init, before lambda.Start.
func (g *GracefulShutdown) Install() *Handle {
	h := g.Build()
	h.listen()
	return h
}

func quoteAll(names []string) string {
	b := []byte{'['}
	for i, n := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, n)
	}
	return string(append(b, ']'))
}

// Handle is the installed handlers.
type Handle struct {
	config     Config
	concurrent bool
	names      []string
	handlers   []handler
	rep        *reporter

	once    sync.Once
	summary atomic.Pointer[Summary]
}

// HandlerNames are the names of the handlers, in registration order.
func (h *Handle) HandlerNames() []string { return append([]string(nil), h.names...) }

// Config is the settings in use.
func (h *Handle) Config() Config { return h.config }

// IsConcurrent says whether the handlers run concurrently.
func (h *Handle) IsConcurrent() bool { return h.concurrent }

// ExtensionAttached says whether the extension was found at cold start (so reports are sent).
func (h *Handle) ExtensionAttached() bool { return h.rep.enabled() }

// Summary is what happened, once the handlers have run.
func (h *Handle) Summary() (Summary, bool) {
	if s := h.summary.Load(); s != nil {
		return *s, true
	}
	return Summary{}, false
}

// FlushReports waits at most limit for the reports queued so far to be
// answered by the extension; whether they all were.
func (h *Handle) FlushReports(limit time.Duration) bool { return h.rep.flush(limit, true) }

// Trigger runs the handlers now, as a signal would, but without exiting, and
// returns what happened. The handlers run once per process: later calls (and
// a later signal) get the same Summary without running anything again.
func (h *Handle) Trigger() Summary {
	s := h.run("trigger", time.Now())
	h.rep.flush(flushLimit, true)
	return s
}

// run runs the handlers once, with the budget counted from begin.
func (h *Handle) run(signal string, begin time.Time) Summary {
	h.once.Do(func() {
		s := runHandlers(h.handlers, h.concurrent, h.config.Timeout, begin, signal, h.rep)
		h.summary.Store(&s)
	})
	s, _ := h.Summary()
	return s
}

var signalNames = map[os.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT"}

// listen registers for SIGTERM and SIGINT now (so that none is missed from
// here on) and starts the goroutine that waits for them.
func (h *Handle) listen() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		first := true
		for sig := range signals {
			name := signalNames[sig]
			if first {
				first = false
				go h.shutdownAndExit(name, time.Now())
				continue
			}
			logInfo("graceful-shutdown: " + name + " received again; the shutdown handlers are already running and run only once")
		}
	}()
}

// watchdogAfter is when, after the signal, the watchdog ends a process whose
// shutdown has not ended by itself: shortly before Lambda SIGKILLs the
// runtime (its share less killMarginMs), so that a runtime merely slow (a
// starved CPU) still ends its handlers and reports them itself; and at least
// watchdogGraceMs after the budget.
func watchdogAfter(budget time.Duration) time.Duration {
	return max(runtimeShare-killMargin, budget+watchdogGrace)
}

// exitFlushLimit is how long pending reports may hold the exit, since after
// the signal: until shortly before Lambda SIGKILLs the runtime, and at least
// flushLimitMs. The wait ends as soon as the reports are out.
func exitFlushLimit(since time.Duration) time.Duration {
	return max(runtimeShare-killMargin-since, flushLimit)
}

func (h *Handle) shutdownAndExit(signal string, begin time.Time) {
	var done atomic.Bool
	watchdog := time.AfterFunc(time.Until(begin.Add(watchdogAfter(h.config.Timeout))), func() {
		if done.Load() {
			return
		}
		logError("graceful-shutdown: the shutdown handlers did not give control back " +
			strconv.FormatInt(millis(watchdogAfter(h.config.Timeout)), 10) +
			" ms after the signal, past their budget; exiting now")
		h.rep.flush(flushLimit, false)
		exitOnce()
	})
	summary := h.run(signal, begin)
	done.Store(true)
	watchdog.Stop()
	// Every report written (the usual case: allDone is written on this path,
	// with any before it), the answers get a short wait; a report still
	// queued may hold the exit until shortly before the kill.
	limit := flushLimit
	if !h.rep.allWritten() {
		limit = exitFlushLimit(time.Since(begin))
	}
	if !h.rep.flush(limit, true) && !h.rep.allWritten() {
		logWarn("graceful-shutdown: some reports were not delivered within " + strconv.FormatInt(millis(limit), 10) + " ms")
	}
	logInfo("graceful-shutdown: exiting with status 0 total_ms=" + strconv.FormatInt(millis(time.Since(begin)), 10) +
		" completed=" + strconv.Itoa(summary.Completed()))
	exitOnce()
}

var exiting atomic.Bool

// exit ends the process; a variable so that the unit tests can watch it.
var exit = os.Exit

// exitOnce exits with status 0 from exactly one goroutine; any other caller
// waits for the end.
func exitOnce() {
	if exiting.CompareAndSwap(false, true) {
		exit(0)
	}
	select {}
}
