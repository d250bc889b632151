package gracefulshutdown

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The literals of rust/protocol/src/wire.rs and docs/protocol.md.
func TestRequestIsExactAsInTheProtocolCrate(t *testing.T) {
	got := string(encodeRequest(4471, "s3cr3t", shutdownStartedReport("SIGTERM")))
	want := "POST /v1/report HTTP/1.1\r\nHost: 127.0.0.1:4471\r\nContent-Type: application/json\r\n" +
		"x-graceful-shutdown-secret: s3cr3t\r\nContent-Length: 45\r\nConnection: close\r\n\r\n" +
		`{"type":"shutdownStarted","signal":"SIGTERM"}`
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	for rep, want := range map[*report]string{
		ptr(finishedReport("flush", 0, 12)):                                `{"type":"finished","handler":"flush","index":0,"durationMs":12}`,
		ptr(allDoneReport(2, 1, 0, 40)):                                    `{"type":"allDone","completed":2,"failed":1,"timedOut":0,"totalMs":40}`,
		ptr(helloReport(7, []string{"flush", "close-pool"}, 250, true, 0)): `{"type":"hello","pid":7,"handlers":["flush","close-pool"],"timeoutMs":250,"concurrent":true}`,
		ptr(helloReport(7, nil, 250, false, 3)):                            `{"type":"hello","pid":7,"handlers":[],"timeoutMs":250,"concurrent":false,"firstIndex":3}`,
	} {
		if got := string(rep.json()); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

func ptr(r report) *report { return &r }

func TestLongTextsAreCutSoThatEveryReportFits(t *testing.T) {
	name := fit(strings.Repeat("é\x01\"", 5000), maxNameBytes)
	errText := "panicked: " + strings.Repeat("😱\n\a", 5000)
	huge := int64(1) << 62
	for _, r := range []report{failedReport(name, 1<<40, huge, errText), startedReport(name, 1<<40),
		finishedReport(name, 1<<40, huge), timedOutReport(name, 1<<40, huge)} {
		if n := len(r.json()); n > maxReportBytes {
			t.Errorf("%s: %d bytes", r.kind, n)
		}
	}
	if !strings.HasSuffix(failedReport("x", 0, 0, errText).err, "…") {
		t.Error("not cut")
	}
	if got := fit("bad\xff byte", 128); got != "bad\uFFFD byte" || !json.Valid(startedReport(got, 0).json()) {
		t.Errorf("%q", got)
	}
}

// The Rust encoder's own answers, from a small program on
// graceful-shutdown-protocol (testdata/rust-vectors), built with cargo.
type rustVectors struct {
	once sync.Once
	bin  string
	err  error
}

var vectors rustVectors

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func askRust(t *testing.T, requests []map[string]any) []map[string]any {
	t.Helper()
	root := repoRoot(t)
	vectors.once.Do(func() {
		target := os.Getenv("CARGO_TARGET_DIR")
		if target == "" {
			target = filepath.Join(root, "target")
		}
		cmd := exec.Command("cargo", "build", "--quiet", "--manifest-path", filepath.Join("testdata", "rust-vectors", "Cargo.toml"))
		cmd.Env = append(os.Environ(), "CARGO_TARGET_DIR="+target)
		if out, err := cmd.CombinedOutput(); err != nil {
			vectors.err = err
			t.Logf("cargo build of testdata/rust-vectors: %s", out)
			return
		}
		vectors.bin = filepath.Join(target, "debug", "graceful-shutdown-go-vectors")
	})
	if vectors.err != nil {
		t.Fatalf("cannot build the Rust vectors program: %v", vectors.err)
	}
	var in bytes.Buffer
	for _, r := range requests {
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		in.Write(append(line, '\n'))
	}
	cmd := exec.Command(vectors.bin)
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := make(chan struct{})
	timer := time.AfterFunc(60*time.Second, func() {
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
		close(done)
	})
	out, err := cmd.Output()
	if !timer.Stop() {
		<-done
	}
	if err != nil {
		t.Fatalf("%s: %v\n%s", vectors.bin, err, stderr.String())
	}
	var answers []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var a map[string]any
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("answer %q: %v", sc.Text(), err)
		}
		answers = append(answers, a)
	}
	if len(answers) != len(requests) {
		t.Fatalf("%d answers to %d requests: %s", len(answers), len(requests), stderr.String())
	}
	return answers
}

var everyKind = []report{
	helloReport(4242, []string{"flush", "close pool", "日本", "q\"uote\\", "<&>\u2028"}, 250, false, 0),
	helloReport(1, []string{"x"}, 1, true, 3),
	helloReport(1, []string{}, 280, true, 0),
	shutdownStartedReport("SIGTERM"),
	shutdownStartedReport("trigger"),
	startedReport("flush", 0),
	finishedReport("é\x01\n\t", 1<<40, 1<<53),
	failedReport("boom", 1, 3, "panicked: disk full\nline 2 é 😱 \x7f \u2028 \x00 \x1f \b\f\r <script>&"),
	timedOutReport("slow", 9, 280),
	allDoneReport(2, 1, 1, 281),
}

func TestEveryReportIsByteForByteWhatTheRustEncoderWrites(t *testing.T) {
	secret := strings.Repeat("ab", 32)
	var requests []map[string]any
	for _, r := range everyKind {
		requests = append(requests, map[string]any{"encode": json.RawMessage(r.json()), "port": 20471, "secret": secret})
	}
	answers := askRust(t, requests)
	for i, r := range everyKind {
		a := answers[i]
		if e, ok := a["error"]; ok {
			t.Errorf("%s: the Rust side refused %s: %v", r.kind, r.json(), e)
			continue
		}
		if got := string(r.json()); got != a["body"] {
			t.Errorf("%s body:\ngo   %q\nrust %q", r.kind, got, a["body"])
		}
		if got := string(encodeRequest(20471, secret, r)); got != a["request"] {
			t.Errorf("%s request:\ngo   %q\nrust %q", r.kind, got, a["request"])
		}
	}
}

func TestFitCutsExactlyAsTheRustSide(t *testing.T) {
	rng := rand.New(rand.NewSource(15))
	alphabet := []string{"a", "é", "日", "😱", "\x01", "\"", "\\", "\n", "…", " ", "\x7f", "\u2028"}
	texts := []string{"flush", strings.Repeat("é", 64), strings.Repeat("日本", 1000), strings.Repeat("\x01", 300),
		strings.Repeat("é\x01\"", 5000), "abcdef", ""}
	for i := 0; i < 200; i++ {
		var b strings.Builder
		for n := rng.Intn(200); n > 0; n-- {
			b.WriteString(alphabet[rng.Intn(len(alphabet))])
		}
		texts = append(texts, b.String())
	}
	maxes := []int{0, 1, 2, 3, 4, 5, 6, 7, 63, 128, 1024}
	var requests []map[string]any
	for _, text := range texts {
		for _, m := range maxes {
			requests = append(requests, map[string]any{"fit": text, "max": m})
		}
	}
	answers := askRust(t, requests)
	for i, req := range requests {
		got := fit(req["fit"].(string), req["max"].(int))
		if got != answers[i]["fit"] {
			t.Errorf("fit(%q, %d):\ngo   %q\nrust %q", req["fit"], req["max"], got, answers[i]["fit"])
		}
		if n := jsonStringLen(got); n > req["max"].(int) {
			t.Errorf("fit(%q, %d) takes %d bytes", req["fit"], req["max"], n)
		}
	}
}

func TestHellosSplitExactlyAsTheRustSide(t *testing.T) {
	type helloCase struct {
		names      []string
		timeout    int64
		concurrent bool
	}
	cases := []helloCase{
		{[]string{}, 250, false},
		{[]string{"flush", "close-pool"}, 250, true},
		{nil, 1<<32 - 1, false},
		{nil, 250, false},
		{[]string{strings.Repeat("é", 2000), "after"}, 280, true},
	}
	for i := 0; i < 100; i++ {
		cases[2].names = append(cases[2].names, strings.Repeat("ß", 200)+string(rune('a'+i%26)))
	}
	for i := 0; i < 40; i++ {
		cases[3].names = append(cases[3].names, "handler-"+strings.Repeat("x", 110)+string(rune('a'+i%26)))
	}
	var requests []map[string]any
	for _, c := range cases {
		requests = append(requests, map[string]any{"hello": c.names, "pid": 77, "timeoutMs": c.timeout, "concurrent": c.concurrent})
	}
	answers := askRust(t, requests)
	for i, c := range cases {
		hellos := helloReports(77, c.names, c.timeout, c.concurrent)
		want := answers[i]["hellos"].([]any)
		if len(hellos) != len(want) {
			t.Errorf("case %d: %d hellos, rust %d", i, len(hellos), len(want))
			continue
		}
		var all []string
		for j, h := range hellos {
			if got := string(h.json()); got != want[j] {
				t.Errorf("case %d hello %d:\ngo   %s\nrust %s", i, j, got, want[j])
			}
			if len(h.json()) > maxReportBytes {
				t.Errorf("case %d hello %d: %d bytes", i, j, len(h.json()))
			}
			all = append(all, h.handlers...)
		}
		if len(all) != len(c.names) {
			t.Errorf("case %d: %d names announced of %d", i, len(all), len(c.names))
		}
	}
}
