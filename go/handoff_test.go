package gracefulshutdown

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The handoff against spec/vectors/handoff.json (the bodies and requests the
// Rust encoder writes, the AWS helper's requests and its errors), and against
// a real loopback listener that answers as the extension does.

type handoffVectors struct {
	Port   int    `json:"port"`
	Secret string `json:"secret"`
	Path   string `json:"path"`
	Encode []struct {
		Name    string `json:"name"`
		JSON    string `json:"json"`
		Request string `json:"request"`
		Value   struct {
			Requests []json.RawMessage `json:"requests"`
			Worker   string            `json:"worker"`
		} `json:"value"`
	} `json:"encode"`
	AWS []struct {
		Name    string            `json:"name"`
		Service string            `json:"service"`
		Target  string            `json:"target"`
		Body    string            `json:"body"`
		Region  *string           `json:"region"`
		Env     map[string]string `json:"env"`
		JSON    string            `json:"json"`
		Error   string            `json:"error"`
	} `json:"aws"`
}

// orderedHeaders reads a JSON object of strings, keeping its order.
func orderedHeaders(t *testing.T, raw json.RawMessage) []Header {
	t.Helper()
	if len(raw) == 0 {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	var headers []Header
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("headers: %s", raw)
	}
	for d.More() {
		name, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		var value string
		if err := d.Decode(&value); err != nil {
			t.Fatal(err)
		}
		headers = append(headers, Header{Name: name.(string), Value: value})
	}
	return headers
}

// requestFrom is the HandoffRequest a vector's request object describes.
func requestFrom(t *testing.T, raw json.RawMessage) HandoffRequest {
	t.Helper()
	var fields struct {
		ID         string          `json:"id"`
		Method     string          `json:"method"`
		URL        string          `json:"url"`
		Headers    json.RawMessage `json:"headers"`
		Body       string          `json:"body"`
		BodyBase64 string          `json:"bodyBase64"`
		Sign       *Signing        `json:"sign"`
	}
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}
	r := HandoffRequest{ID: fields.ID, Method: fields.Method, URL: fields.URL, Headers: orderedHeaders(t, fields.Headers), Body: fields.Body, Sign: fields.Sign}
	if fields.BodyBase64 != "" {
		b, err := base64.StdEncoding.DecodeString(fields.BodyBase64)
		if err != nil {
			t.Fatal(err)
		}
		r.BodyBytes = b
	}
	return r
}

func TestSpecVectorsHandoffEncode(t *testing.T) {
	var v handoffVectors
	readVectors(t, "handoff.json", &v)
	if v.Path != handoffPath {
		t.Fatalf("path %q, limits say %q", v.Path, handoffPath)
	}
	if len(v.Encode) < 4 {
		t.Fatalf("only %d encode vectors", len(v.Encode))
	}
	for _, c := range v.Encode {
		var requests []HandoffRequest
		for _, raw := range c.Value.Requests {
			requests = append(requests, requestFrom(t, raw))
		}
		if got := string(encodeHandoff(requests, c.Value.Worker)); got != c.JSON {
			t.Errorf("%s: body\ngot  %s\nwant %s", c.Name, got, c.JSON)
		}
		if got := string(encodePost(handoffPath, v.Port, v.Secret, encodeHandoff(requests, c.Value.Worker))); got != c.Request {
			t.Errorf("%s: request\ngot  %q\nwant %q", c.Name, got, c.Request)
		}
	}
}

func TestSpecVectorsHandoffAWS(t *testing.T) {
	var v handoffVectors
	readVectors(t, "handoff.json", &v)
	if len(v.AWS) < 5 {
		t.Fatalf("only %d aws vectors", len(v.AWS))
	}
	for _, c := range v.AWS {
		region := ""
		if c.Region != nil {
			region = *c.Region
		}
		r, err := awsJSONRequest(c.Service, c.Target, c.Body, region, func(name string) string { return c.Env[name] })
		if c.Error != "" {
			if err == nil || err.Error() != c.Error {
				t.Errorf("%s: got %v, want the error %q", c.Name, err, c.Error)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if got := string(r.appendJSON(nil)); got != c.JSON {
			t.Errorf("%s:\ngot  %s\nwant %s", c.Name, got, c.JSON)
		}
	}
}

func TestAWSJSONRequestRefusesWhatNoSDKWouldSend(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(n string) string { return vars[n] } }
	for _, c := range []struct {
		service, target, region string
		env                     map[string]string
		want                    string
	}{
		{"DynamoDB", "T.X", "eu-west-1", nil, `service: expected an AWS signing name such as "dynamodb", got "DynamoDB"`},
		{"sqs", "", "eu-west-1", nil, `target: expected an X-Amz-Target such as "DynamoDB_20120810.BatchWriteItem", got ""`},
		{"sqs", "A B", "eu-west-1", nil, `target: expected an X-Amz-Target`},
		{"sqs", "T.X", "EU WEST", nil, `region: expected an AWS region such as "us-east-1", got "EU WEST"`},
		{"sqs", "T.X", "eu-west-1", map[string]string{"AWS_ENDPOINT_URL": "localhost:4566"}, `AWS_ENDPOINT_URL_SQS: expected an http:// or https:// URL, got "localhost:4566/"`},
	} {
		_, err := awsJSONRequest(c.service, c.target, "{}", c.region, env(c.env))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q %q %q: got %v, want %s", c.service, c.target, c.region, err, c.want)
		}
	}
	r, err := awsJSONRequest("kinesis-video", "T.X", "{}", "eu-west-1", env(map[string]string{"AWS_ENDPOINT_URL_KINESIS_VIDEO": "http://127.0.0.1:7/kv"}))
	if err != nil || r.URL != "http://127.0.0.1:7/kv" {
		t.Fatalf("%+v %v", r, err)
	}
}

func TestATextBodyThatIsNotUTF8IsSentAsItsBytes(t *testing.T) {
	r := HandoffRequest{Method: "POST", URL: "http://a/", Body: "\x00\x9f\x92\x96\xff"}
	if got := string(r.appendJSON(nil)); got != `{"method":"POST","url":"http://a/","bodyBase64":"AJ+Slv8="}` {
		t.Fatal(got)
	}
}

// handoffListener is a loopback listener that takes one request at a time,
// hands it to the test and answers it with answer (nothing, when empty: the
// connection is held open until the test ends).
type handoffListener struct {
	ln       net.Listener
	requests chan []byte
}

func listenForHandoffs(t *testing.T, answer string) *handoffListener {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &handoffListener{ln: ln, requests: make(chan []byte, 8)}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				r := bufio.NewReader(c)
				var got []byte
				length := 0
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					got = append(got, line...)
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
				l.requests <- append(got, body...)
				if answer == "" {
					<-done
					return
				}
				_, _ = c.Write([]byte(answer))
			}()
		}
	}()
	return l
}

func (l *handoffListener) port() int { return l.ln.Addr().(*net.TCPAddr).Port }

// attach points the library at l, with the vectors' secret in a file.
func attach(t *testing.T, port int, secret string) {
	t.Helper()
	file := t.TempDir() + "/secret"
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvPort, strconv.Itoa(port))
	t.Setenv(EnvSecretFile, file)
}

// extensionAnswer is an answer as the extension writes it: a one-line body.
func extensionAnswer(status int, phrase, contentType, body string) string {
	return "HTTP/1.1 " + strconv.Itoa(status) + " " + phrase + "\r\nContent-Type: " + contentType +
		"\r\nContent-Length: " + strconv.Itoa(len(body)+1) + "\r\nConnection: close\r\n\r\n" + body + "\n"
}

// Every encode vector's request arrives exactly as the vector says (its
// Host is the port the listener got), and a 202 gives the counts.
func TestHandoffSendsTheExactRequestAndReturnsTheCounts(t *testing.T) {
	var v handoffVectors
	readVectors(t, "handoff.json", &v)
	l := listenForHandoffs(t, extensionAnswer(202, "Accepted", "application/json", `{"accepted":2,"held":5}`))
	attach(t, l.port(), v.Secret)
	for _, c := range v.Encode {
		if c.Value.Worker != "" {
			continue // the Go library sends no worker
		}
		var requests []HandoffRequest
		for _, raw := range c.Value.Requests {
			requests = append(requests, requestFrom(t, raw))
		}
		result, err := Handoff(context.Background(), requests...)
		if err != nil || result != (HandoffResult{Accepted: 2, Held: 5}) {
			t.Fatalf("%s: %+v %v", c.Name, result, err)
		}
		want := strings.Replace(c.Request, "Host: 127.0.0.1:"+strconv.Itoa(v.Port)+"\r\n", "Host: 127.0.0.1:"+strconv.Itoa(l.port())+"\r\n", 1)
		if got := string(<-l.requests); got != want {
			t.Errorf("%s:\ngot  %q\nwant %q", c.Name, got, want)
		}
	}
}

func TestHandoffReturnsTheExtensionsRefusal(t *testing.T) {
	for _, c := range []struct {
		status          int
		phrase, message string
	}{
		{400, "Bad Request", `requests[0].url: expected an http:// or https:// URL, got "file:///etc/passwd"`},
		{413, "Payload Too Large", "handoff.maxTotalBytes: 4194304 bytes of bodies held for the environment"},
		{501, "Not Implemented", "handoff: this layer is built without handoff; attach the handoff flavour"},
	} {
		l := listenForHandoffs(t, extensionAnswer(c.status, c.phrase, "text/plain; charset=utf-8", c.message))
		attach(t, l.port(), "s3cr3t")
		_, err := Handoff(context.Background(), HandoffRequest{Method: "POST", URL: "file:///etc/passwd"})
		var he *HandoffError
		if !errors.As(err, &he) || he.Status != c.status || he.Message != c.message || !he.Sent {
			t.Fatalf("%d: %#v", c.status, err)
		}
		if want := "handoff refused by the extension: " + strconv.Itoa(c.status) + ": " + c.message; err.Error() != want {
			t.Errorf("%q, want %q", err.Error(), want)
		}
		<-l.requests
	}
	// No Content-Length, closed after the body; no body: the reason phrase.
	for answer, message := range map[string]string{
		"HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\nhandoff.maxRequests is 64\n": "handoff.maxRequests is 64",
		"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\n\r\n":                              "Not Implemented",
	} {
		l := listenForHandoffs(t, answer)
		attach(t, l.port(), "s3cr3t")
		_, err := Handoff(context.Background(), HandoffRequest{Method: "POST", URL: "http://a/"})
		var he *HandoffError
		if !errors.As(err, &he) || he.Message != message {
			t.Fatalf("%q: %#v", answer, err)
		}
	}
}

// A listener that never answers: the handoff gives up after
// library.handoffTimeoutMs, saying that the extension may have taken it.
func TestHandoffWaitsForTheAnswerAtMostHandoffTimeoutMs(t *testing.T) {
	if handoffTimeout != time.Duration(spec.Library.HandoffTimeoutMs)*time.Millisecond || handoffTimeout <= 0 {
		t.Fatalf("handoffTimeout %v", handoffTimeout)
	}
	l := listenForHandoffs(t, "")
	attach(t, l.port(), "s3cr3t")
	begin := time.Now()
	_, err := Handoff(context.Background(), HandoffRequest{Method: "POST", URL: "http://a/"})
	took := time.Since(begin)
	var he *HandoffError
	if !errors.As(err, &he) || he.Status != 0 || !he.Sent ||
		!strings.Contains(he.Message, "within "+strconv.Itoa(spec.Library.HandoffTimeoutMs)+" ms (library.handoffTimeoutMs)") {
		t.Fatalf("%#v", err)
	}
	if took < handoffTimeout || took > handoffTimeout+5*time.Second {
		t.Fatalf("gave up after %v", took)
	}
	select {
	case <-l.requests:
	default:
		t.Fatal("the listener got nothing")
	}
	// A context that ends sooner ends the wait sooner.
	ctx, cancel := context.WithTimeout(context.Background(), handoffTimeout/4)
	defer cancel()
	_, err = Handoff(ctx, HandoffRequest{Method: "POST", URL: "http://a/"})
	if !errors.As(err, &he) || he.Status != 0 || !strings.Contains(he.Message, "context") {
		t.Fatalf("%#v", err)
	}
}

func TestHandoffRefusesBeforeSending(t *testing.T) {
	l := listenForHandoffs(t, extensionAnswer(202, "Accepted", "application/json", `{"accepted":1,"held":1}`))
	attach(t, l.port(), "s3cr3t")
	var he *HandoffError

	// Over handoff.maxBodyBytes, as JSON.
	big := HandoffRequest{Method: "POST", URL: "http://a/", Body: strings.Repeat("x", maxHandoffBody)}
	_, err := Handoff(context.Background(), big)
	if !errors.As(err, &he) || he.Sent || he.Status != 0 ||
		!strings.HasPrefix(he.Message, "handoff: body of "+strconv.Itoa(len(encodeHandoff([]HandoffRequest{big}, "")))+" bytes; handoff.maxBodyBytes is "+strconv.Itoa(spec.Handoff.MaxBodyBytes)) {
		t.Fatalf("%#v", err)
	}
	if !strings.HasPrefix(err.Error(), "handoff not sent: ") {
		t.Fatal(err)
	}
	// At the limit exactly it goes.
	fits := HandoffRequest{Method: "POST", URL: "http://a/"}
	fits.Body = strings.Repeat("x", maxHandoffBody-len(encodeHandoff([]HandoffRequest{fits}, ""))-len(`,"body":""`))
	if n := len(encodeHandoff([]HandoffRequest{fits}, "")); n != maxHandoffBody {
		t.Fatalf("%d bytes", n)
	}
	// (Taken, unless a loaded machine makes the listener slower than handoffTimeoutMs.)
	if _, err := Handoff(context.Background(), fits); err == nil {
		<-l.requests
	} else if !errors.As(err, &he) || strings.Contains(he.Message, "handoff.maxBodyBytes") {
		t.Fatal(err)
	} else if he.Sent {
		<-l.requests
	}

	// No requests.
	if _, err := Handoff(context.Background()); !errors.As(err, &he) || he.Sent || he.Message != "requests: empty; hand off at least one request" {
		t.Fatalf("%#v", err)
	}

	// The layer not attached: no secret file.
	t.Setenv(EnvSecretFile, t.TempDir()+"/missing")
	_, err = Handoff(context.Background(), HandoffRequest{Method: "POST", URL: "http://a/"})
	if !errors.As(err, &he) || he.Sent || !strings.Contains(he.Message, "extension is not attached ("+EnvSecretFile+": ") ||
		!strings.Contains(he.Message, "missing does not exist") {
		t.Fatalf("%#v", err)
	}
	select {
	case got := <-l.requests:
		t.Fatalf("sent anyway: %q", got)
	default:
	}
}

// The one log line of a refusal, from a process of its own (the library
// logs to its stderr): it names the status and the extension's message.
func TestAHandoffRefusalIsLoggedOnce(t *testing.T) {
	message := "handoff: this layer is built without handoff; attach graceful-shutdown-handoff"
	l := listenForHandoffs(t, extensionAnswer(501, "Not Implemented", "text/plain; charset=utf-8", message))
	secretFile := t.TempDir() + "/secret"
	if err := os.WriteFile(secretFile, []byte("s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startChild(t, "handoff", EnvPort+"="+strconv.Itoa(l.port()), EnvSecretFile+"="+secretFile)
	if err := c.wait(t, 30*time.Second); err != nil {
		t.Fatalf("%v; stderr:\n%s", err, c.text())
	}
	lines := strings.Split(strings.TrimSpace(c.text()), "\n")
	if len(lines) != 1 || lines[0] != "WARN graceful-shutdown: handoff refused by the extension: 501: "+message {
		t.Fatalf("%q", lines)
	}
	// Refused by the library itself: one line too, naming why.
	c = startChild(t, "handoff", EnvSecretFile+"="+t.TempDir()+"/missing")
	if err := c.wait(t, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	lines = strings.Split(strings.TrimSpace(c.text()), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "WARN graceful-shutdown: handoff not sent: the graceful-shutdown extension is not attached (") {
		t.Fatalf("%q", lines)
	}
}
