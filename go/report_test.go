package gracefulshutdown

import (
	"encoding/json"
	"strings"
	"testing"
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
