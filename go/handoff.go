package gracefulshutdown

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The handoff (docs/protocol.md, Handoff): HTTP requests a shutdown handler
// cannot finish within the runtime's share of the shutdown phase, handed to
// the extension, which sends them after the runtime has gone and logs a
// dead-letter record for each one it could not deliver. One handoff is one
// POST of {"type":"handoff","requests":[...]} to handoff.path, with the head
// of a report; the body is written by hand, byte for byte as the Rust encoder
// (wire::encode_handoff) writes it: fields in the protocol's order, headers
// in the order given, no HTML escapes.

// Header is one header of a handed-off request. Headers keep the order given.
type Header struct {
	Name  string
	Value string
}

// Signing asks the extension to sign a request with AWS SigV4, at each
// attempt, with the credentials of its environment (the function's).
type Signing struct {
	// Service is the signing name, such as "dynamodb" or "sqs".
	Service string
	// Region is the region, such as "us-east-1".
	Region string
}

// HandoffRequest is one HTTP request for the extension to send after the
// runtime has gone. Build one directly, or with [AWSJSONRequest] for an AWS
// JSON-protocol API.
type HandoffRequest struct {
	// ID is the caller's name for the request, in the extension's log and
	// dead-letter record (optional; the extension numbers it h1, h2, … otherwise).
	ID string
	// Method is the upper-case HTTP method, such as "POST".
	Method string
	// URL is an absolute http:// or https:// URL.
	URL string
	// Headers are sent in this order. host, content-length, connection,
	// transfer-encoding and expect are the extension's to write.
	Headers []Header
	// Body is the body as text (sent as "body"); text that is not valid
	// UTF-8 is sent as its bytes ("bodyBase64"). Set Body or BodyBytes, not both.
	Body string
	// BodyBytes is the body as bytes (sent in standard base64 as "bodyBase64").
	BodyBytes []byte
	// Sign, when set, has the extension sign the request with AWS SigV4.
	Sign *Signing
}

// HandoffResult is what the extension answered to a handoff it took.
type HandoffResult struct {
	// Accepted is the number of this handoff's requests the extension took.
	Accepted int
	// Held is the number of requests the extension holds for the environment,
	// this handoff's included.
	Held int
}

// HandoffError is a handoff that was not taken.
type HandoffError struct {
	// Status is the extension's answer (400, 401, 413, 501, …), or 0 when
	// there was none: refused by the library before sending (Sent false), or
	// no answer in time.
	Status int
	// Message is the extension's message, or the library's reason.
	Message string
	// Sent says whether the whole handoff was written to the extension. With
	// Status 0 and Sent true, the answer did not come in time: the extension
	// may have taken it.
	Sent bool
}

func (e *HandoffError) Error() string {
	switch {
	case e.Status != 0:
		return "handoff refused by the extension: " + strconv.Itoa(e.Status) + ": " + e.Message
	case !e.Sent:
		return "handoff not sent: " + e.Message
	default:
		return "handoff: " + e.Message
	}
}

// Handoff hands requests to the extension, which sends them after the
// runtime has gone, within the shutdown phase, and logs a dead-letter record
// for each one it could not deliver. Call it from a shutdown handler for the
// work that does not fit the handlers' budget. It sends one POST to the
// extension (127.0.0.1, GRACEFUL_SHUTDOWN_PORT, with the secret) and waits
// for the answer at most library.handoffTimeoutMs of spec/limits.json
// (100 ms), or until ctx ends if sooner.
//
// It returns what the extension took, or a *[HandoffError]: the extension's
// refusal with its status and message (501 from the layer without handoff,
// 413 over a limit, 400 naming the field), no answer in time, or a refusal
// by the library itself, without sending: no requests, a body over
// handoff.maxBodyBytes (1 MiB), or the layer not attached (no secret file).
// Every error is also logged, one line.
func Handoff(ctx context.Context, requests ...HandoffRequest) (HandoffResult, error) {
	config, _ := ConfigFromLookup(os.LookupEnv) // bad values were logged at cold start
	result, err := handoffWith(ctx, config, requests)
	if err != nil {
		logWarn("graceful-shutdown: " + err.Error())
	} else {
		logDebug("graceful-shutdown: handoff accepted=" + strconv.Itoa(result.Accepted) + " held=" + strconv.Itoa(result.Held))
	}
	return result, err
}

// handoffWith sends one handoff with these settings.
func handoffWith(ctx context.Context, config Config, requests []HandoffRequest) (HandoffResult, error) {
	if len(requests) == 0 {
		return HandoffResult{}, &HandoffError{Message: "requests: empty; hand off at least one request"}
	}
	body := encodeHandoff(requests, "")
	if len(body) > maxHandoffBody {
		return HandoffResult{}, &HandoffError{Message: "handoff: body of " + strconv.Itoa(len(body)) +
			" bytes; handoff.maxBodyBytes is " + strconv.Itoa(maxHandoffBody)}
	}
	secret, err := readSecret(config.SecretFile)
	if err != nil {
		return HandoffResult{}, &HandoffError{Message: "the " + ExtensionName + " extension is not attached (" +
			EnvSecretFile + ": " + err.Error() + ")"}
	}
	return exchange(ctx, config.Port, encodePost(handoffPath, config.Port, secret, body), len(requests))
}

// maxAnswerBytes bounds what is read of the extension's answer.
const maxAnswerBytes = 64 << 10

// exchange writes request on a connection of its own and reads the answer,
// all within handoffTimeout (or ctx, if sooner).
func exchange(ctx context.Context, port int, request []byte, count int) (HandoffResult, error) {
	addr := "127.0.0.1:" + strconv.Itoa(port)
	limit, limitName := handoffTimeout, "library.handoffTimeoutMs"
	if d, ok := ctx.Deadline(); ok && time.Until(d) < limit {
		limit, limitName = max(time.Until(d), 0), "the context's deadline"
	}
	deadline := time.Now().Add(limit)
	if err := ctx.Err(); err != nil {
		return HandoffResult{}, &HandoffError{Message: "before sending: " + err.Error()}
	}
	d := net.Dialer{Deadline: deadline}
	c, err := d.DialContext(ctx, "tcp4", addr)
	if err != nil {
		return HandoffResult{}, &HandoffError{Message: "cannot connect to the extension on " + addr + ": " + err.Error()}
	}
	defer c.Close()
	_ = c.SetDeadline(deadline)
	// A cancelled ctx ends the wait at once.
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := c.Write(request); err != nil {
		return HandoffResult{}, &HandoffError{Message: "cannot write to the extension on " + addr + ": " + err.Error()}
	}
	answer, err := readAnswer(c)
	if err != nil {
		why := "no answer from the extension on " + addr + " within " + strconv.FormatInt(limit.Milliseconds(), 10) +
			" ms (" + limitName + "); it may have taken the handoff"
		if ctx.Err() != nil {
			why = "no answer from the extension on " + addr + " before " + ctx.Err().Error() + "; it may have taken the handoff"
		} else if !isTimeout(err) {
			why = "no answer from the extension on " + addr + ": " + err.Error() + "; it may have taken the handoff"
		}
		return HandoffResult{}, &HandoffError{Message: why, Sent: true}
	}
	status, ok := parseStatus(answer)
	if !ok {
		return HandoffResult{}, &HandoffError{Message: "the extension on " + addr + " answered with something not HTTP", Sent: true}
	}
	message := answerBody(answer)
	if status != 202 {
		if message == "" {
			message = statusPhrase(answer)
		}
		return HandoffResult{}, &HandoffError{Status: status, Message: message, Sent: true}
	}
	var taken struct {
		Accepted *int `json:"accepted"`
		Held     *int `json:"held"`
	}
	result := HandoffResult{Accepted: count} // taken whole; the counts as the extension says
	if json.Unmarshal([]byte(message), &taken) == nil {
		if taken.Accepted != nil {
			result.Accepted = *taken.Accepted
		}
		if taken.Held != nil {
			result.Held = *taken.Held
		}
	}
	return result, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// readAnswer reads an HTTP answer: its head and, by its Content-Length or
// until the extension closes (Connection: close), its body.
func readAnswer(c net.Conn) ([]byte, error) {
	var got []byte
	buf := make([]byte, 4096)
	for len(got) < maxAnswerBytes {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if want, ok := answerLength(got); ok && len(got) >= want {
			return got[:want], nil
		}
		if err != nil {
			if len(got) > 0 && bytes.Contains(got, []byte("\r\n\r\n")) {
				return got, nil // closed after the head and what body there was
			}
			return nil, err
		}
	}
	return got, nil
}

// answerLength is the answer's whole length, once its head is in and says
// Content-Length.
func answerLength(got []byte) (int, bool) {
	head, _, found := bytes.Cut(got, []byte("\r\n\r\n"))
	if !found {
		return 0, false
	}
	for _, line := range strings.Split(string(head), "\r\n")[1:] {
		name, value, _ := strings.Cut(line, ":")
		if strings.EqualFold(strings.TrimSpace(name), "content-length") {
			n, err := strconv.Atoi(strings.TrimSpace(value))
			if err != nil || n < 0 {
				return 0, false
			}
			return len(head) + 4 + n, true
		}
	}
	return 0, false
}

// answerBody is the answer's body, trimmed: the extension's one-line message.
func answerBody(answer []byte) string {
	_, body, _ := bytes.Cut(answer, []byte("\r\n\r\n"))
	return strings.TrimSpace(string(body))
}

// statusPhrase is the status line's reason phrase, for an answer without a body.
func statusPhrase(answer []byte) string {
	line, _, _ := bytes.Cut(answer, []byte("\n"))
	parts := strings.SplitN(strings.TrimRight(string(line), "\r"), " ", 3)
	if len(parts) < 3 {
		return ""
	}
	return parts[2]
}

// encodeHandoff is a handoff's body; worker, when not empty, goes last (the
// Go library sends none: its handlers run in one process).
func encodeHandoff(requests []HandoffRequest, worker string) []byte {
	b := make([]byte, 0, 256)
	b = append(b, `{"type":"handoff","requests":[`...)
	for i, r := range requests {
		if i > 0 {
			b = append(b, ',')
		}
		b = r.appendJSON(b)
	}
	b = append(b, ']')
	if worker != "" {
		b = append(b, `,"worker":`...)
		b = appendJSONString(b, worker)
	}
	return append(b, '}')
}

// appendJSON appends the request as a JSON object, fields in the protocol's
// order: id, method, url, headers, body or bodyBase64, sign.
func (r HandoffRequest) appendJSON(b []byte) []byte {
	b = append(b, '{')
	if r.ID != "" {
		b = append(b, `"id":`...)
		b = appendJSONString(b, r.ID)
		b = append(b, ',')
	}
	b = append(b, `"method":`...)
	b = appendJSONString(b, r.Method)
	b = append(b, `,"url":`...)
	b = appendJSONString(b, r.URL)
	if len(r.Headers) > 0 {
		b = append(b, `,"headers":{`...)
		for i, h := range r.Headers {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, h.Name)
			b = append(b, ':')
			b = appendJSONString(b, h.Value)
		}
		b = append(b, '}')
	}
	if r.Body != "" {
		if utf8.ValidString(r.Body) {
			b = append(b, `,"body":`...)
			b = appendJSONString(b, r.Body)
		} else {
			b = append(b, `,"bodyBase64":"`...)
			b = base64.StdEncoding.AppendEncode(b, []byte(r.Body))
			b = append(b, '"')
		}
	}
	if len(r.BodyBytes) > 0 {
		b = append(b, `,"bodyBase64":"`...)
		b = base64.StdEncoding.AppendEncode(b, r.BodyBytes)
		b = append(b, '"')
	}
	if r.Sign != nil {
		b = append(b, `,"sign":{"service":`...)
		b = appendJSONString(b, r.Sign.Service)
		b = append(b, `,"region":`...)
		b = appendJSONString(b, r.Sign.Region)
		b = append(b, '}')
	}
	return append(b, '}')
}

// AWSJSONRequest is the request for one call of an AWS JSON-protocol API
// (DynamoDB, SQS, Kinesis, …), signed by the extension: POST of body with
// content-type application/x-amz-json-1.0 and x-amz-target target, to
// AWS_ENDPOINT_URL_<SERVICE> (upper-cased, "-" as "_"), else
// AWS_ENDPOINT_URL, else https://<service>.<region>.amazonaws.com/, as the
// AWS SDKs choose. The region is region, else AWS_REGION, else
// AWS_DEFAULT_REGION ("" means not given). An error names what is missing
// or wrong, in the same words as the other libraries.
//
//	req, err := gracefulshutdown.AWSJSONRequest("dynamodb", "DynamoDB_20120810.BatchWriteItem", body, "")
func AWSJSONRequest(service, target, body, region string) (HandoffRequest, error) {
	return awsJSONRequest(service, target, body, region, os.Getenv)
}

func awsJSONRequest(service, target, body, region string, env func(string) string) (HandoffRequest, error) {
	if !isLabel(service, 64) {
		return HandoffRequest{}, errors.New(`service: expected an AWS signing name such as "dynamodb", got ` + excerpt(service))
	}
	if target == "" || strings.IndexFunc(target, func(c rune) bool { return unicode.IsSpace(c) || unicode.IsControl(c) }) >= 0 {
		return HandoffRequest{}, errors.New(`target: expected an X-Amz-Target such as "DynamoDB_20120810.BatchWriteItem", got ` + excerpt(target))
	}
	if region == "" {
		region = env("AWS_REGION")
	}
	if region == "" {
		region = env("AWS_DEFAULT_REGION")
	}
	if region == "" {
		return HandoffRequest{}, errors.New("region: not given, and neither AWS_REGION nor AWS_DEFAULT_REGION is set")
	}
	if !isLabel(region, 32) {
		return HandoffRequest{}, errors.New(`region: expected an AWS region such as "us-east-1", got ` + excerpt(region))
	}
	serviceVariable := "AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(service), "-", "_")
	endpoint := env(serviceVariable)
	if endpoint == "" {
		endpoint = env("AWS_ENDPOINT_URL")
	}
	url := "https://" + service + "." + region + ".amazonaws.com/"
	if endpoint != "" {
		url = withPath(endpoint)
	}
	if why := checkURL(url); why != "" {
		return HandoffRequest{}, errors.New(serviceVariable + ": " + why + ", got " + excerpt(url))
	}
	return HandoffRequest{
		Method: "POST",
		URL:    url,
		Headers: []Header{
			{Name: "content-type", Value: "application/x-amz-json-1.0"},
			{Name: "x-amz-target", Value: target},
		},
		Body: body,
		Sign: &Signing{Service: service, Region: region},
	}, nil
}

// isLabel: lower-case letters, digits and "-", 1 to max bytes.
func isLabel(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// excerpt is the first 64 characters of s, as a JSON string.
func excerpt(s string) string {
	s = cleanText(s)
	n := 0
	for i := range s {
		if n == 64 {
			s = s[:i]
			break
		}
		n++
	}
	return quote(s)
}

// withPath gives an endpoint URL at least the root path: http://host:1 becomes http://host:1/.
func withPath(endpoint string) string {
	rest := endpoint
	if _, after, ok := strings.Cut(endpoint, "://"); ok {
		rest = after
	}
	if strings.Contains(rest, "/") {
		return endpoint
	}
	return endpoint + "/"
}

// maxURLBytes is the longest URL the extension takes.
const maxURLBytes = 2048

// checkURL says what is wrong with url as a handoff's URL, or "".
func checkURL(url string) string {
	if len(url) > maxURLBytes {
		return "longer than 2048 bytes"
	}
	rest, ok := strings.CutPrefix(url, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(url, "http://"); !ok {
			return "expected an http:// or https:// URL"
		}
	}
	if strings.IndexFunc(url, func(c rune) bool { return unicode.IsSpace(c) || unicode.IsControl(c) }) >= 0 {
		return "white space or a control character in the URL"
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	host := authority
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		host = authority[i+1:]
	}
	if host == "" || strings.HasPrefix(host, ":") {
		return "no host in the URL"
	}
	return ""
}
