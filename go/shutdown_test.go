package gracefulshutdown

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The child side of the process tests: this test binary, started again with
// GRACEFUL_SHUTDOWN_TEST_CHILD set, installs the library as a function would
// and waits for signals.
func TestMain(m *testing.M) {
	switch os.Getenv("GRACEFUL_SHUTDOWN_TEST_CHILD") {
	case "":
		// The library's own lines only for failures here; the children log at INFO.
		_ = os.Setenv("AWS_LAMBDA_LOG_LEVEL", "FATAL")
		os.Exit(m.Run())
	case "install":
		FromEnv().
			OnShutdown("flush", func(ctx context.Context) error {
				select {
				case <-time.After(60 * time.Millisecond):
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}).
			OnShutdown("boom", func(context.Context) error { panic("injected panic in boom") }).
			Install()
		fmt.Println("ready")
		select {}
	case "missing":
		g := FromEnv().OnShutdown("flush", func(context.Context) error { return nil }).
			OnShutdown("close-pool", func(context.Context) error { return nil })
		g.Build()
		g.Build()
		fmt.Println("ready")
		os.Exit(0)
	case "handoff":
		_, _ = Handoff(context.Background(), HandoffRequest{Method: "POST", URL: "http://127.0.0.1:9/flush"})
		fmt.Println("ready")
		os.Exit(0)
	}
}

// fakeExtension accepts reports on a loopback port of its own (bound for the
// whole test, so no other process can take it) and answers 202, as the
// extension does.
type fakeExtension struct {
	ln       net.Listener
	requests chan string
}

func startFakeExtension(t *testing.T) *fakeExtension {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeExtension{ln: ln, requests: make(chan string, 64)}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			// One at a time, in the order the connections arrived, as the
			// extension orders reports.
			func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				r := bufio.NewReader(c)
				var head strings.Builder
				length := 0
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					head.WriteString(line)
					if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
						length, _ = strconv.Atoi(strings.TrimSpace(v))
					}
					if line == "\r\n" {
						break
					}
				}
				body := make([]byte, length)
				if _, err := io.ReadFull(r, body); err != nil {
					return
				}
				_, _ = c.Write([]byte("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"))
				f.requests <- head.String() + string(body)
			}()
		}
	}()
	return f
}

func (f *fakeExtension) port() int { return f.ln.Addr().(*net.TCPAddr).Port }

// next is the next report's body; it fails after a generous deadline.
func (f *fakeExtension) next(t *testing.T, secret string) string {
	t.Helper()
	select {
	case req := <-f.requests:
		if !strings.Contains(req, "\r\nx-graceful-shutdown-secret: "+secret+"\r\n") {
			t.Fatalf("no secret header: %q", req)
		}
		return req[strings.Index(req, "\r\n\r\n")+4:]
	case <-time.After(10 * time.Second):
		t.Fatal("no report within 10 s")
		return ""
	}
}

type child struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   chan error
}

func startChild(t *testing.T, mode string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, "GRACEFUL_SHUTDOWN_TEST_CHILD="+mode, "AWS_LAMBDA_LOG_LEVEL=INFO")...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = &lockedWriter{buf: c.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
		_, _ = io.Copy(io.Discard, stdout)
		c.done <- cmd.Wait()
	}()
	select {
	case line := <-ready:
		if line != "ready\n" {
			t.Fatalf("child said %q; stderr:\n%s", line, c.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the child did not start within 30 s")
	}
	return c
}

type lockedWriter struct {
	buf *bytes.Buffer
}

var stderrLock = make(chan struct{}, 1)

func (w *lockedWriter) Write(p []byte) (int, error) {
	stderrLock <- struct{}{}
	defer func() { <-stderrLock }()
	return w.buf.Write(p)
}

func (c *child) text() string {
	stderrLock <- struct{}{}
	defer func() { <-stderrLock }()
	return c.stderr.String()
}

func (c *child) wait(t *testing.T, limit time.Duration) error {
	t.Helper()
	select {
	case err := <-c.done:
		return err
	case <-time.After(limit):
		t.Fatalf("the child did not end within %v; stderr:\n%s", limit, c.text())
		return nil
	}
}

// A real process, real signals: the first SIGTERM runs the handlers once and
// reports each step to the extension, a second one is only logged, and the
// process then exits 0 by itself, well before Lambda's SIGKILL would come.
func TestSIGTERMRunsTheHandlersOnceReportsAndExitsZero(t *testing.T) {
	ext := startFakeExtension(t)
	secret := strings.Repeat("5e", 32)
	secretFile := t.TempDir() + "/secret"
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startChild(t, "install", EnvPort+"="+strconv.Itoa(ext.port()), EnvSecretFile+"="+secretFile, EnvTimeoutMs+"=200")
	hello := ext.next(t, secret)
	if want := fmt.Sprintf(`{"type":"hello","pid":%d,"handlers":["flush","boom"],"timeoutMs":200,"concurrent":false}`, c.cmd.Process.Pid); hello != want {
		t.Fatalf("hello %s, want %s", hello, want)
	}
	sent := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := ext.next(t, secret); got != `{"type":"shutdownStarted","signal":"SIGTERM"}` {
		t.Fatal(got)
	}
	if got := ext.next(t, secret); got != `{"type":"started","handler":"flush","index":0}` {
		t.Fatal(got)
	}
	// While flush runs: a second SIGTERM must neither kill the process nor run anything again.
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for i := 0; i < 4; i++ {
		rest = append(rest, ext.next(t, secret))
	}
	err := c.wait(t, 10*time.Second)
	gone := time.Since(sent)
	if err != nil {
		t.Fatalf("exit: %v; stderr:\n%s", err, c.text())
	}
	if !strings.HasPrefix(rest[0], `{"type":"finished","handler":"flush","index":0,"durationMs":`) ||
		rest[1] != `{"type":"started","handler":"boom","index":1}` ||
		!strings.HasPrefix(rest[2], `{"type":"failed","handler":"boom","index":1,"durationMs":`) ||
		!strings.HasSuffix(rest[2], `,"error":"panicked: injected panic in boom"}`) ||
		!strings.HasPrefix(rest[3], `{"type":"allDone","completed":1,"failed":1,"timedOut":0,"totalMs":`) {
		t.Fatalf("%q", rest)
	}
	logs := c.text()
	if strings.Count(logs, "running shutdown handlers") != 1 || !strings.Contains(logs, "SIGTERM received again") ||
		!strings.Contains(logs, "exiting with status 0") {
		t.Fatalf("stderr:\n%s", logs)
	}
	t.Logf("figure: SIGTERM to exit 0 of a test process (60 ms handler): %v", gone.Round(time.Millisecond))
}

// Without the secret file the extension is not attached: one warning naming
// the handlers, whatever the number of builds; no report; bad settings named.
func TestWithoutTheExtensionOneWarningNamesTheHandlers(t *testing.T) {
	c := startChild(t, "missing", EnvSecretFile+"="+t.TempDir()+"/absent", EnvTimeoutMs+"=abc")
	if err := c.wait(t, 10*time.Second); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			t.Fatal(err)
		}
		t.Fatalf("exit %v", err)
	}
	logs := c.text()
	if n := strings.Count(logs, "extension is not attached"); n != 1 {
		t.Fatalf("%d warnings:\n%s", n, logs)
	}
	for _, want := range []string{
		"will NOT run when the environment is retired: flush, close-pool.",
		"/absent does not exist",
		`WARN graceful-shutdown: GRACEFUL_SHUTDOWN_TIMEOUT_MS: expected milliseconds, got "abc"; using the default 250`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("%q not logged:\n%s", want, logs)
		}
	}
}

func TestJSONLogLinesAreOneObjectEach(t *testing.T) {
	line := formatLine(logSettingsFrom("JSON", ""), levelWarn, "a \"b\"\nc", time.Date(2026, 12, 6, 1, 2, 3, 4e6, time.UTC))
	if string(line) != `{"timestamp":"2026-12-06T01:02:03.004Z","level":"WARN","message":"a \"b\"\nc"}`+"\n" {
		t.Fatalf("%s", line)
	}
	if string(formatLine(logSettingsFrom("", ""), levelInfo, "x\ny", time.Now())) != "INFO x y\n" {
		t.Fatal("text")
	}
	if logSettingsFrom("Text", "error").min != levelError || logSettingsFrom("", "debug").min != levelDebug {
		t.Fatal("levels")
	}
}
