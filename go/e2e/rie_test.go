package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Under AWS's Runtime Interface Emulator (the open-source Lambda core), with
// the real shutdown layer and the Go probe: the shared cases that need no
// emulator-only setting, run and checked by the driver (shutdown-conformance
// --backend rie, the same filter and the same comparison as for the Python,
// Node.js and Java libraries), and aws-lambda-go's WithEnableSIGTERM without
// the layer. The RIE runs /opt/extensions/*, so each run happens in a
// private mount and PID namespace (unshare, as root) with the layer
// bind-mounted there.

func rieBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("AWS_LAMBDA_RIE"); p != "" {
		return p
	}
	script, err := os.ReadFile(filepath.Join(repo, "scripts", "rie-compare.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^VERSION=(\S+)$`).FindSubmatch(script)
	if m == nil {
		t.Fatal("scripts/rie-compare.sh has no VERSION= line")
	}
	return require(t, filepath.Join(target, "rie", string(m[1]), "aws-lambda-rie"),
		"run `bash scripts/rie-compare.sh` or scripts/test.d/80-go.sh (they install the pinned RIE), or set AWS_LAMBDA_RIE")
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the RIE runs in a private mount namespace: needs root")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare (util-linux)")
	}
}

type rieRun struct {
	log []string
}

func (r *rieRun) text() string { return strings.Join(r.log, "\n") }

func connects(port int) bool {
	c, err := net.DialTimeout("tcp4", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

func invokeRIE(port int, body string) (string, error) {
	c, err := net.DialTimeout("tcp4", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	_, err = fmt.Fprintf(c, "POST /2015-03-31/functions/function/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n"+
		"Content-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	if err != nil {
		return "", err
	}
	answer, err := io.ReadAll(c)
	return string(answer), err
}

// underRIE runs the probe under the RIE without the shutdown layer (an empty
// /opt/extensions), invokes it once per event, waits until the runtime is
// idle in /invocation/next, then SIGTERMs the RIE (the shutdown phase, reason
// SandboxTerminated) and returns its log (the RIE's and the runtime's output,
// merged). The shared cases, with the layer, run on the driver instead.
func underRIE(t *testing.T, env map[string]string, events []string) *rieRun {
	t.Helper()
	rie := rieBinary(t)
	dir, err := os.MkdirTemp(scratchBase(), "gs-go-rie-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	_ = os.Chmod(dir, 0o755)
	rieLease, apiLease, reportLease := leasePort(t), leasePort(t), leasePort(t)
	log := filepath.Join(dir, "rie.log")
	script := filepath.Join(dir, "rie.sh")
	body := "set -e\nmount -t tmpfs tmpfs /opt\nmkdir -p /opt/extensions\n" +
		"mount -t tmpfs tmpfs /var\nmkdir -p /var/task\n" +
		fmt.Sprintf("mount --bind '%s' /var/task\n", probeDir) +
		fmt.Sprintf("exec '%s' --log-level debug --runtime-interface-emulator-address 127.0.0.1:%d "+
			"--runtime-api-address 127.0.0.1:%d /var/task/bootstrap >'%s' 2>&1\n", rie, rieLease.Port, apiLease.Port, log)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	secretDir := filepath.Join(dir, "secret")
	if err := os.Mkdir(secretDir, 0o1777); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child=SIGTERM",
		"--mount-proc", "sh", script)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "AWS_LAMBDA_FUNCTION_TIMEOUT=3", "_HANDLER=bootstrap",
		"LAMBDA_TASK_ROOT=/var/task", "GRACEFUL_SHUTDOWN_PORT=" + strconv.Itoa(reportLease.Port),
		"GRACEFUL_SHUTDOWN_SECRET_FILE=" + filepath.Join(secretDir, "secret")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() {
		select {
		case <-exited:
		default:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}()
	lines := func() []string {
		data, _ := os.ReadFile(log)
		return strings.Split(string(data), "\n")
	}
	fail := func(what string) {
		t.Helper()
		t.Fatalf("%s\n%s", what, strings.Join(lines(), "\n"))
	}
	if !wait(20*time.Second, func() bool { return connects(rieLease.Port) }) {
		fail("the RIE did not listen within 20 s")
	}
	// unshare --fork ignores SIGTERM while it waits: signal the RIE itself, its child.
	var riePid int
	if !wait(5*time.Second, func() bool {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
		fields := strings.Fields(string(data))
		if len(fields) > 0 {
			riePid, _ = strconv.Atoi(fields[0])
		}
		return riePid != 0
	}) {
		fail("the RIE process was not found")
	}
	for _, ev := range events {
		answer, err := invokeRIE(rieLease.Port, ev)
		if err != nil || !strings.HasPrefix(answer, "HTTP/1.1 200") {
			fail(fmt.Sprintf("the RIE answered %q (%v)", answer, err))
		}
	}
	// Idle: the runtime asks for the next invocation after its last response, as when Lambda retires it.
	nextRE := regexp.MustCompile(`GET /2018-06-01/runtime/invocation/next|Received Runtime /next`)
	if !wait(10*time.Second, func() bool {
		n := 0
		for _, l := range lines() {
			if nextRE.MatchString(l) {
				n++
			}
		}
		return n >= 1+len(events)
	}) {
		fail("the runtime was not idle in /invocation/next within 10 s")
	}
	_ = syscall.Kill(riePid, syscall.SIGTERM)
	if !wait(10*time.Second, func() bool {
		for _, l := range lines() {
			if strings.Contains(l, "Waiting for runtime domain processes termination") {
				return true
			}
		}
		return false
	}) {
		fail("the RIE's shutdown did not end within 10 s")
	}
	// The RIE exits after the reset, or on a second SIGTERM; SIGKILL only if it hangs.
	_ = syscall.Kill(riePid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(riePid, syscall.SIGKILL)
		<-exited
	}
	return &rieRun{log: lines()}
}

// scratchBase is memory (/dev/shm) when there is one: the RIE writes every
// line of the runtime's output to its log, and on a disk busy with other
// builds' writeback one write can block for hundreds of milliseconds.
func scratchBase() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}

// The driver picks the cases and compares the verdict, the probe's output and
// the log; the RIE names the reason of its shutdown SandboxTerminated and
// keeps no timeline, so the reason and the lifecycle keys are not read there.
func TestSharedCasesUnderTheRIE(t *testing.T) {
	requireRoot(t)
	rieBinary(t)
	for _, name := range caseNames(t, "rie") {
		t.Run(name, func(t *testing.T) { assertPassed(t, conformance(t, name, "rie")) })
	}
}

// aws-lambda-go's WithEnableSIGTERM registers an internal extension with
// {"events":null}, which the open-source Lambda core accepts: without the
// layer, that alone brings SIGTERM, and then the library's handlers run too
// (they report nothing: the extension is not there) and the library ends
// the process, whether or not the callback has run by then. (The repository's emulator refuses that registration body,
// so this runs under the RIE only.)
func TestWithEnableSIGTERMWithoutTheLayerBringsSIGTERMUnderTheRIE(t *testing.T) {
	requireRoot(t)
	dir, err := os.MkdirTemp(scratchBase(), "gs-go-rie-out-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	_ = os.Chmod(dir, 0o777)
	output := filepath.Join(dir, "probe-output.txt")
	r := underRIE(t, map[string]string{"PROBE_HANDLERS": "flush:ok", "PROBE_OUTPUT": output, "PROBE_GO_SIGTERM": "1"},
		[]string{"{}"})
	got := readLines(output)
	text := r.text()
	// The callback races the library's exit: it may or may not have started.
	if !slices.Contains(got, "flush") || !strings.Contains(text, "Internal agent GoLangEnableSIGTERM") ||
		!strings.Contains(text, "extension is not attached") || strings.Contains(text, "graceful-shutdown verdict") ||
		strings.Contains(text, "Failed to register internal extension") {
		t.Fatalf("output %q\n%s", got, text)
	}
	t.Logf("figure: under the RIE, WithEnableSIGTERM and the library, no layer: %s", rieTimes(r))
}

// rieTimes is what the RIE's log says of the runtime's end after SIGTERM.
func rieTimes(r *rieRun) string {
	var found []string
	for _, l := range r.log {
		if strings.Contains(l, "Shutting down the runtime") || strings.Contains(l, "Shutdown the runtime") ||
			strings.Contains(l, "SIGKILL") || strings.Contains(l, "probe: start") || strings.Contains(l, "exiting with status 0") {
			found = append(found, strings.TrimSpace(l))
		}
	}
	return strings.Join(found, " | ")
}
