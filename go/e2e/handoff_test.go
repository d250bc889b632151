package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The handoff end to end: the Go probe's shutdown handler hands a request to
// the real extension, built with its handoff feature, in the emulator; the
// extension sends it after the runtime has gone, to a loopback HTTP server
// of this test, and its verdict counts it delivered.

// handoffLayerBinary builds the shutdown layer's handoff flavour (cargo build
// -p graceful-shutdown-extension --features handoff) into a target directory
// of its own, <target>/handoff (as scripts/test.d/05-build.sh does), so that the default build in <target>
// stays the default flavour; a no-op once built.
func handoffLayerBinary(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(target, "handoff")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "cargo", "build", "-p", "graceful-shutdown-extension", "--features", "handoff",
		"--target-dir", dir)
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the handoff layer (cargo build -p graceful-shutdown-extension --features handoff): %v\n%s", err, out)
	}
	return require(t, filepath.Join(dir, "debug", "graceful-shutdown"), "the cargo build above did not write it")
}

type received struct {
	method, path, contentType, body string
}

func TestAHandedOffRequestIsSentByTheExtensionAfterTheRuntime(t *testing.T) {
	bin := handoffLayerBinary(t)
	dir := t.TempDir()
	layer := filepath.Join(dir, "layer")
	if err := os.MkdirAll(filepath.Join(layer, "extensions"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(layer, "extensions", "graceful-shutdown"), data, 0o755); err != nil {
		t.Fatal(err)
	}

	// The endpoint the handed-off request goes to.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan received, 8)
	server := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- received{r.Method, r.URL.Path, r.Header.Get("Content-Type"), string(body)}
		w.WriteHeader(http.StatusOK)
	})}
	go func() { _ = server.Serve(ln) }()
	t.Cleanup(func() { _ = server.Close() })

	output := filepath.Join(dir, "probe-output.txt")
	port := leasePort(t)
	r := emulate(t, dir, emulation{layer: layer, events: []string{"{}"}, invocations: 1,
		timeoutMs: 3000, shareMs: 300, shutdownMs: 2000, env: map[string]string{
			"PROBE_HANDLERS":                "flush:handoff",
			"PROBE_HANDOFF_URL":             "http://" + ln.Addr().String() + "/flush",
			"PROBE_OUTPUT":                  output,
			"GRACEFUL_SHUTDOWN_PORT":        strconv.Itoa(port.Port),
			"GRACEFUL_SHUTDOWN_SECRET_FILE": filepath.Join(dir, "secret"),
		}})
	port.release()
	// The emulator has ended, and the extension with it: what was delivered has arrived.
	select {
	case req := <-got:
		want := received{"POST", "/flush", "application/json", `{"handler":"flush","pad":""}`}
		if req != want {
			t.Fatalf("received %+v, want %+v\n%s", req, want, r.describe())
		}
	default:
		t.Fatalf("the handed-off request never arrived\n%s", r.describe())
	}
	if len(got) != 0 {
		t.Fatalf("received it more than once\n%s", r.describe())
	}
	if lines := readLines(output); !slices.Contains(lines, "handoff flush taken") {
		t.Fatalf("the probe says %q\n%s", lines, r.describe())
	}
	verdict := r.verdictLine()
	if !strings.Contains(verdict, "outcome=completed") || !strings.Contains(verdict, " handoff=1/1 dead_lettered=0") ||
		strings.Contains(verdict, "handoff_refused") {
		t.Fatalf("verdict %q\n%s", verdict, r.describe())
	}
	t.Logf("verdict: %s", verdict)
}
