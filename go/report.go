package gracefulshutdown

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// The report protocol (docs/protocol.md): what the library tells the
// extension, byte for byte as the Rust encoder (graceful-shutdown-protocol,
// serde_json) writes it: fields in the same order, no spaces, non-ASCII text
// as UTF-8, the same escapes. Written by hand rather than with encoding/json,
// which escapes <, > and & and the line separators differently. The request
// is written by hand too: one tiny fixed request to loopback does not need
// net/http.

// cutMark is what a cut text ends with.
const cutMark = "…"

// cleanText is text as valid UTF-8: each run of bytes that is not becomes U+FFFD.
func cleanText(text string) string {
	if utf8.ValidString(text) {
		return text
	}
	return strings.ToValidUTF8(text, "\uFFFD")
}

// jsonRuneLen is the bytes c takes inside a JSON string as serde_json writes
// it: quotes, backslashes and control characters are escaped, the rest is UTF-8.
func jsonRuneLen(c rune) int {
	switch {
	case c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t':
		return 2
	case c < 0x20:
		return 6
	default:
		return utf8.RuneLen(c)
	}
}

// jsonStringLen is the bytes text takes as a JSON string, without the quotes.
func jsonStringLen(text string) int {
	n := 0
	for _, c := range cleanText(text) {
		n += jsonRuneLen(c)
	}
	return n
}

// fit returns text, or its beginning cut on a character boundary and ending
// with "…", so that it takes at most max bytes once escaped as a JSON string
// (without the quotes): the protocol's cut (text::fit of the Rust crate).
func fit(text string, max int) string {
	text = cleanText(text)
	if jsonStringLen(text) <= max {
		return text
	}
	mark := jsonRuneLen('…')
	room := max
	if max >= mark {
		room = max - mark
	}
	used, end := 0, 0
	for i, c := range text {
		n := jsonRuneLen(c)
		if used+n > room {
			break
		}
		used += n
		end = i + utf8.RuneLen(c)
	}
	if max >= mark {
		return text[:end] + cutMark
	}
	return text[:end]
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends text as a JSON string, quotes included, escaped
// exactly as serde_json escapes it.
func appendJSONString(b []byte, text string) []byte {
	b = append(b, '"')
	for _, c := range cleanText(text) {
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			if c < 0x20 {
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			} else {
				b = utf8.AppendRune(b, c)
			}
		}
	}
	return append(b, '"')
}

// quote is text as a JSON string, for messages that show a value.
func quote(text string) string { return string(appendJSONString(nil, text)) }

// The report types (the `type` field).
const (
	kindHello           = "hello"
	kindShutdownStarted = "shutdownStarted"
	kindStarted         = "started"
	kindFinished        = "finished"
	kindFailed          = "failed"
	kindTimedOut        = "timedOut"
	kindAllDone         = "allDone"
)

// report is one report; which fields count depends on kind, in the order
// the Rust enum declares them.
type report struct {
	kind string
	// hello
	pid        int
	handlers   []string
	timeoutMs  int64
	concurrent bool
	firstIndex int
	// shutdownStarted
	signal string
	// started, finished, failed, timedOut
	handler    string
	index      int
	durationMs int64
	err        string
	// allDone
	completed, failed, timedOut int
	totalMs                     int64
}

func helloReport(pid int, handlers []string, timeoutMs int64, concurrent bool, firstIndex int) report {
	return report{kind: kindHello, pid: pid, handlers: handlers, timeoutMs: timeoutMs, concurrent: concurrent, firstIndex: firstIndex}
}

func shutdownStartedReport(signal string) report {
	return report{kind: kindShutdownStarted, signal: signal}
}

func startedReport(handler string, index int) report {
	return report{kind: kindStarted, handler: handler, index: index}
}

func finishedReport(handler string, index int, durationMs int64) report {
	return report{kind: kindFinished, handler: handler, index: index, durationMs: durationMs}
}

func failedReport(handler string, index int, durationMs int64, err string) report {
	return report{kind: kindFailed, handler: handler, index: index, durationMs: durationMs, err: fit(err, maxErrorBytes)}
}

func timedOutReport(handler string, index int, durationMs int64) report {
	return report{kind: kindTimedOut, handler: handler, index: index, durationMs: durationMs}
}

func allDoneReport(completed, failed, timedOut int, totalMs int64) report {
	return report{kind: kindAllDone, completed: completed, failed: failed, timedOut: timedOut, totalMs: totalMs}
}

// json is the report's body.
func (r report) json() []byte {
	b := make([]byte, 0, 128)
	b = append(b, `{"type":`...)
	b = appendJSONString(b, r.kind)
	field := func(name string) { b = append(b, ',', '"'); b = append(b, name...); b = append(b, '"', ':') }
	num := func(name string, n int64) { field(name); b = strconv.AppendInt(b, n, 10) }
	str := func(name, s string) { field(name); b = appendJSONString(b, s) }
	switch r.kind {
	case kindHello:
		num("pid", int64(r.pid))
		field("handlers")
		b = append(b, '[')
		for i, h := range r.handlers {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, h)
		}
		b = append(b, ']')
		num("timeoutMs", r.timeoutMs)
		field("concurrent")
		b = strconv.AppendBool(b, r.concurrent)
		if r.firstIndex != 0 {
			num("firstIndex", int64(r.firstIndex))
		}
	case kindShutdownStarted:
		str("signal", r.signal)
	case kindStarted:
		str("handler", r.handler)
		num("index", int64(r.index))
	case kindFinished, kindTimedOut:
		str("handler", r.handler)
		num("index", int64(r.index))
		num("durationMs", r.durationMs)
	case kindFailed:
		str("handler", r.handler)
		num("index", int64(r.index))
		num("durationMs", r.durationMs)
		str("error", r.err)
	case kindAllDone:
		num("completed", int64(r.completed))
		num("failed", int64(r.failed))
		num("timedOut", int64(r.timedOut))
		num("totalMs", r.totalMs)
	}
	return append(b, '}')
}

// helloReports are the hello reports that announce handlers (in registration
// order): one, unless the names do not fit in one report body; then as many
// as needed, each within maxReportBytes, the later ones saying where their
// names start (firstIndex). Names are cut to maxNameBytes first.
func helloReports(pid int, handlers []string, timeoutMs int64, concurrent bool) []report {
	var reports []report
	first := 0
	names := []string{}
	size := len(helloReport(pid, nil, timeoutMs, concurrent, first).json())
	for index, raw := range handlers {
		name := fit(raw, maxNameBytes)
		cost := func() int {
			n := jsonStringLen(name) + 2
			if len(names) > 0 {
				n++
			}
			return n
		}
		if len(names) > 0 && size+cost() > maxReportBytes {
			reports = append(reports, helloReport(pid, names, timeoutMs, concurrent, first))
			names = []string{}
			first = index
			size = len(helloReport(pid, nil, timeoutMs, concurrent, first).json())
		}
		size += cost()
		names = append(names, name)
	}
	return append(reports, helloReport(pid, names, timeoutMs, concurrent, first))
}

// encodeRequest is the complete HTTP/1.1 request that carries r to the
// extension (wire::encode_request of the Rust crate).
func encodeRequest(port int, secret string, r report) []byte {
	return encodePost(spec.ReportPath, port, secret, r.json())
}

// encodePost is the complete HTTP/1.1 request that posts body to the
// extension's path: the one head of reports and handoffs.
func encodePost(path string, port int, secret string, body []byte) []byte {
	b := make([]byte, 0, 192+len(body))
	b = append(b, "POST "...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: 127.0.0.1:"...)
	b = strconv.AppendInt(b, int64(port), 10)
	b = append(b, "\r\nContent-Type: application/json\r\n"+spec.SecretHeader+": "...)
	b = append(b, secret...)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\nConnection: close\r\n\r\n"...)
	return append(b, body...)
}
