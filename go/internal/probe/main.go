// Command probe is a fault-injection Lambda function for the end-to-end tests
// of the shutdown phase: a provided.al2023 custom runtime (build it as
// `bootstrap`) on aws-lambda-go and this library, configured entirely by
// environment variables. It implements the probe contract of the repository's
// tests/cases/shutdown.json, as the Rust probe
// (rust/lambda-graceful-shutdown/examples/probe.rs) does.
//
// Environment:
//
//   - PROBE_HANDLERS: comma-separated name:behaviour, registered in this order
//     (default flush:ok). Behaviours: ok (returns nil at once), sleep=<ms>
//     (waits that many milliseconds, then returns nil; other handlers go on
//     meanwhile), error (returns "injected error in <name>"), panic (panics
//     with "injected panic in <name>", the hardest failure short of ending the
//     process), handoff (hands off one POST to PROBE_HANDOFF_URL with the
//     body {"handler":"<name>","pad":"x..."}, padded to PROBE_HANDOFF_BYTES
//     (default: no pad), id "<name>-1", with the library's Handoff; appends
//     "handoff <name> taken" or "handoff <name> refused <status> <message>",
//     status "-" when there was none), forged (sends a handoff to the
//     extension's port with a wrong secret, as a request forgery would;
//     appends "forged <name> <status>"), as the Rust probe does. A malformed
//     list is refused at start: one line on stderr naming PROBE_HANDLERS and
//     the bad item, exit status 2.
//   - PROBE_OUTPUT: file to append lines to: "invoke <n>" when invocation n
//     (from 1) starts, "start <name>" when a handler starts, "<name>" when it
//     completes its work.
//   - PROBE_CONCURRENT=1: run the handlers concurrently.
//   - PROBE_IGNORE_SIGTERM=1: no library, and SIGTERM is caught and
//     discarded, so that only SIGKILL ends the process.
//   - PROBE_NO_LIBRARY=1: no library (SIGTERM then ends the process, unless
//     PROBE_GO_SIGTERM holds it).
//   - PROBE_GO_SIGTERM=1: also start aws-lambda-go with
//     lambda.WithEnableSIGTERM and one callback, which appends
//     "start sigterm-callback" to PROBE_OUTPUT, waits
//     PROBE_GO_SIGTERM_SLEEP_MS (default 0) and appends "sigterm-callback".
//   - GRACEFUL_SHUTDOWN_*: the library's own settings.
//
// Each handler and the callback also write "probe: start <name>" on stderr
// as they start, which the emulator's timeline stamps.
//
// Invocation events (JSON): {"action":"crash"} aborts the process (SIGABRT);
// {"action":"exit","code":N} exits with status N; {"action":"sleep","ms":N}
// sleeps N ms, then answers with the event; anything else is echoed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	gracefulshutdown "github.com/graceful-shutdown/graceful-shutdown-lambda/go"
)

type behaviour struct {
	kind    string // ok, sleep, error, panic
	sleepMs int
}

type item struct {
	name string
	b    behaviour
}

// parseHandlers parses PROBE_HANDLERS; the error names the variable and the bad item.
func parseHandlers(raw string) ([]item, error) {
	var items []item
	for _, part := range strings.Split(raw, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		bad := func(why string) error {
			return fmt.Errorf("PROBE_HANDLERS: %s in %q; expected name:ok, name:sleep=<ms>, name:error, name:panic, name:handoff or name:forged", why, part)
		}
		name, spec, found := strings.Cut(part, ":")
		if !found {
			return nil, bad("missing ':'")
		}
		if name == "" {
			return nil, bad("empty handler name")
		}
		var b behaviour
		switch {
		case spec == "ok" || spec == "error" || spec == "panic" || spec == "handoff" || spec == "forged":
			b.kind = spec
		case strings.HasPrefix(spec, "sleep="):
			n, err := strconv.ParseUint(strings.TrimPrefix(spec, "sleep="), 10, 32)
			if err != nil {
				return nil, bad("unknown behaviour")
			}
			b = behaviour{kind: "sleep", sleepMs: int(n)}
		default:
			return nil, bad("unknown behaviour")
		}
		items = append(items, item{name: name, b: b})
	}
	return items, nil
}

func flag(name string) bool {
	v := os.Getenv(name)
	return v == "1" || v == "true"
}

// output appends whole lines to PROBE_OUTPUT; O_APPEND keeps each short line
// intact even when concurrent handlers write at once.
type output string

func (o output) line(text string) {
	if o == "" {
		return
	}
	f, err := os.OpenFile(string(o), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err == nil {
		_, err = f.Write([]byte(text + "\n"))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "probe: cannot append to PROBE_OUTPUT %s: %v\n", string(o), err)
	}
}

func runHandler(ctx context.Context, name string, b behaviour, out output) error {
	_, _ = os.Stderr.WriteString("probe: start " + name + "\n")
	out.line("start " + name)
	switch b.kind {
	case "sleep":
		select {
		case <-time.After(time.Duration(b.sleepMs) * time.Millisecond):
		case <-ctx.Done():
			// Abandoned at the end of the budget: its work is not done.
			return ctx.Err()
		}
	case "handoff":
		pad, _ := strconv.Atoi(os.Getenv("PROBE_HANDOFF_BYTES"))
		body, _ := json.Marshal(struct {
			Handler string `json:"handler"`
			Pad     string `json:"pad"`
		}{name, strings.Repeat("x", max(pad, 0))})
		_, err := gracefulshutdown.Handoff(ctx, gracefulshutdown.HandoffRequest{
			ID:      name + "-1",
			Method:  "POST",
			URL:     os.Getenv("PROBE_HANDOFF_URL"),
			Headers: []gracefulshutdown.Header{{Name: "content-type", Value: "application/json"}},
			Body:    string(body),
		})
		var refused *gracefulshutdown.HandoffError
		switch {
		case err == nil:
			out.line("handoff " + name + " taken")
		case errors.As(err, &refused):
			status := "-"
			if refused.Status != 0 {
				status = strconv.Itoa(refused.Status)
			}
			out.line("handoff " + name + " refused " + status + " " + refused.Message)
		default:
			out.line("handoff " + name + " refused - " + err.Error())
		}
	case "forged":
		out.line("forged " + name + " " + forgedHandoff())
	case "error":
		return errors.New("injected error in " + name)
	case "panic":
		panic("injected panic in " + name)
	}
	out.line(name)
	return nil
}

func main() {
	raw, ok := os.LookupEnv("PROBE_HANDLERS")
	if !ok {
		raw = "flush:ok"
	}
	items, err := parseHandlers(raw)
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe: "+err.Error())
		os.Exit(2)
	}
	out := output(os.Getenv("PROBE_OUTPUT"))

	switch {
	case flag("PROBE_IGNORE_SIGTERM"):
		term := make(chan os.Signal, 8)
		signal.Notify(term, syscall.SIGTERM)
		go func() {
			for range term {
				_, _ = os.Stderr.WriteString("probe: SIGTERM ignored (PROBE_IGNORE_SIGTERM=1)\n")
			}
		}()
	case !flag("PROBE_NO_LIBRARY"):
		shutdown := gracefulshutdown.FromEnv().Concurrent(flag("PROBE_CONCURRENT"))
		for _, it := range items {
			shutdown.OnShutdown(it.name, func(ctx context.Context) error {
				return runHandler(ctx, it.name, it.b, out)
			})
		}
		shutdown.Install()
	}

	var options []lambda.Option
	if flag("PROBE_GO_SIGTERM") {
		sleep := 0
		if v := os.Getenv("PROBE_GO_SIGTERM_SLEEP_MS"); v != "" {
			sleep, _ = strconv.Atoi(v)
		}
		options = append(options, lambda.WithEnableSIGTERM(func() {
			_, _ = os.Stderr.WriteString("probe: start sigterm-callback\n")
			out.line("start sigterm-callback")
			time.Sleep(time.Duration(sleep) * time.Millisecond)
			out.line("sigterm-callback")
		}))
	}

	var count atomic.Int64
	lambda.StartWithOptions(func(ctx context.Context, event json.RawMessage) (json.RawMessage, error) {
		n := count.Add(1)
		out.line("invoke " + strconv.FormatInt(n, 10))
		var payload struct {
			Action string  `json:"action"`
			Code   *int    `json:"code"`
			Ms     float64 `json:"ms"`
		}
		_ = json.Unmarshal(event, &payload)
		switch payload.Action {
		case "crash":
			// Go's own SIGABRT handler would print the goroutines and exit
			// with status 2; with the "crash" traceback level it re-raises the
			// signal, and the process dies of it, as abort() does.
			debug.SetTraceback("crash")
			_ = syscall.Kill(os.Getpid(), syscall.SIGABRT)
			select {}
		case "exit":
			code := 1
			if payload.Code != nil {
				code = *payload.Code
			}
			os.Exit(code)
		case "sleep":
			time.Sleep(time.Duration(payload.Ms) * time.Millisecond)
		}
		return event, nil
	}, options...)
}

// forgedHandoff sends a handoff with a wrong secret to the extension's port;
// the status code of its answer.
func forgedHandoff() string {
	port := os.Getenv("GRACEFUL_SHUTDOWN_PORT")
	if port == "" {
		port = "4471"
	}
	body := `{"type":"handoff","requests":[{"method":"POST","url":"http://127.0.0.1:9/forged"}]}`
	request := "POST /v1/handoff HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
		"x-graceful-shutdown-secret: " + strings.Repeat("0", 64) + "\r\nContent-Length: " + strconv.Itoa(len(body)) +
		"\r\nConnection: close\r\n\r\n" + body
	c, err := net.DialTimeout("tcp4", "127.0.0.1:"+port, 200*time.Millisecond)
	if err != nil {
		return "error " + err.Error()
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := c.Write([]byte(request)); err != nil {
		return "error " + err.Error()
	}
	answer, _ := io.ReadAll(c)
	if parts := strings.SplitN(string(answer), " ", 3); len(parts) >= 2 {
		return parts[1]
	}
	return "none"
}
