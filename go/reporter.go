package gracefulshutdown

import (
	"bytes"
	"net"
	"strconv"
	"sync"
	"time"
)

// Delivering reports to the extension, in order, never holding up a handler
// for long.
//
// A report is delivered once its request is written on a loopback
// connection: the extension orders reports by the order their connections
// arrive, and a request already in the kernel's socket buffers reaches it
// even if the function is SIGKILLed the next moment. Connecting and writing
// take tens of microseconds on loopback and need no CPU time of the
// extension; reading the answer does, so it is never waited for on the
// handlers' path.
//
//   - send queues a report for the sending goroutine, which connects, writes
//     and reads the answer (to log a refusal). Never blocks on the network.
//   - sendNow connects and writes on the caller's goroutine (the reports
//     queued before it first, so the order holds), with the short
//     reportNowTimeoutMs limit, and leaves the answer to the sending
//     goroutine; on any error the report stays queued for it. Every report of
//     the shutdown is sent this way (shutdownStarted and each started above
//     all): on a starved CPU (about 7 % of a core at 128 MB) a background
//     goroutine can lag by tens of milliseconds, and a runtime SIGKILLed in
//     that time would leave a verdict that says a running handler never
//     started.
//
// Connecting and writing happen under the ordering lock, which is held for
// nothing else (never while an answer is awaited).

// link is how a report leaves the process.
type link interface {
	// open connects and writes r within timeout per step; the connection
	// whose answer is still to be read, if any.
	open(r report, timeout time.Duration) (net.Conn, error)
	// answer reads the answer to a written report, says what it means and
	// closes the connection. Called by the sending goroutine only.
	answer(r report, c net.Conn)
	// failed says that r could not be written. Called by the sending goroutine only.
	failed(r report, err error)
}

type entry struct {
	seq     int
	r       report
	written bool
	conn    net.Conn
}

type reporter struct {
	link link
	// order is held (a token in it) while connections are opened and
	// written, so that they reach the extension in queue order; taken
	// before mu.
	order chan struct{}
	wake  chan struct{}

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change of the counters
	pending  []*entry
	queued   int
	written  int // every report up to this number is written (or failed for good)
	answered int // every report up to this number is answered (or failed for good)
}

// disabledReporter sends nothing: the extension is not attached.
func disabledReporter() *reporter { return &reporter{} }

func newReporter(l link) *reporter {
	r := &reporter{
		link:    l,
		order:   make(chan struct{}, 1),
		wake:    make(chan struct{}, 1),
		changed: make(chan struct{}),
	}
	go r.work()
	return r
}

func (r *reporter) enabled() bool { return r.link != nil }

// broadcast wakes every waiter; the caller holds mu.
func (r *reporter) broadcast() {
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *reporter) enqueue(rep report) int {
	if r.link == nil {
		return 0
	}
	r.mu.Lock()
	r.queued++
	seq := r.queued
	r.pending = append(r.pending, &entry{seq: seq, r: rep})
	r.broadcast()
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return seq
}

// send queues a report. Never blocks on the network.
func (r *reporter) send(rep report) { r.enqueue(rep) }

// sendNow queues rep and writes it (and every report queued before it) from
// this goroutine, waiting at most lockWait for the ordering lock. Whether rep
// was written; if not, it stays queued for the sending goroutine.
func (r *reporter) sendNow(rep report, lockWait time.Duration) bool {
	seq := r.enqueue(rep)
	if r.link == nil {
		return true
	}
	r.writePending(time.Now().Add(lockWait))
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.written >= seq
}

// allWritten says whether every report so far is written (only answers may
// be pending): an exit then loses none of them.
func (r *reporter) allWritten() bool {
	if r.link == nil {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.written >= r.queued
}

// flush writes everything queued so far (from this goroutine, as sendNow)
// and waits until it is answered (or, with answered false, written), within
// limit; whether it all was.
func (r *reporter) flush(limit time.Duration, answered bool) bool {
	if r.link == nil {
		return true
	}
	deadline := time.Now().Add(limit)
	r.mu.Lock()
	target := r.queued
	r.mu.Unlock()
	r.writePending(deadline)
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		r.mu.Lock()
		done := r.written
		if answered {
			done = r.answered
		}
		changed := r.changed
		r.mu.Unlock()
		if done >= target {
			return true
		}
		select {
		case <-changed:
		case <-timer.C:
			return false
		}
	}
}

func (r *reporter) lockOrder(deadline time.Time) bool {
	select {
	case r.order <- struct{}{}:
		return true
	default:
	}
	wait := time.Until(deadline)
	if wait <= 0 {
		return false
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case r.order <- struct{}{}:
		return true
	case <-timer.C:
		return false
	}
}

func (r *reporter) unlockOrder() { <-r.order }

// writePending connects and writes every queued report not written yet, in
// order, from this goroutine; after one failure the rest are left to the
// sending goroutine.
func (r *reporter) writePending(deadline time.Time) {
	if !r.lockOrder(deadline) {
		return
	}
	defer r.unlockOrder()
	for _, e := range r.unwritten() {
		conn, err := r.link.open(e.r, nowTimeout)
		if err != nil {
			logDebug("graceful-shutdown: report left to the sending goroutine: " + err.Error())
			return
		}
		r.markWritten(e, conn)
	}
}

func (r *reporter) unwritten() []*entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	var todo []*entry
	for _, e := range r.pending {
		if !e.written {
			todo = append(todo, e)
		}
	}
	return todo
}

// markWritten records that e is written (or failed for good); the caller
// holds the ordering lock.
func (r *reporter) markWritten(e *entry, conn net.Conn) {
	r.mu.Lock()
	e.written = true
	e.conn = conn
	if e.seq > r.written {
		r.written = e.seq
	}
	r.broadcast()
	r.mu.Unlock()
}

// work is the sending goroutine: for the life of the process.
func (r *reporter) work() {
	for {
		r.mu.Lock()
		empty := len(r.pending) == 0
		r.mu.Unlock()
		if empty {
			<-r.wake
			continue
		}
		r.order <- struct{}{}
		r.mu.Lock()
		e := r.pending[0]
		r.pending = r.pending[1:]
		written := e.written
		r.mu.Unlock()
		var err error
		if !written {
			var conn net.Conn
			conn, err = r.link.open(e.r, connectTimeout)
			r.markWritten(e, conn)
			if err == nil {
				// The reports queued behind it too, while the lock is held: one
				// whose sendNow missed the lock (the CPU quota ran out while this
				// goroutine held it) is written the moment this goroutine runs.
				for _, other := range r.unwritten() {
					c, err := r.link.open(other.r, connectTimeout)
					if err != nil {
						break // tried again, and said, at its own turn
					}
					r.markWritten(other, c)
				}
			}
		}
		r.unlockOrder()
		// Outside the ordering lock: an answer needs the extension's CPU time.
		r.mu.Lock()
		conn := e.conn
		e.conn = nil
		r.mu.Unlock()
		if err != nil {
			r.link.failed(e.r, err)
		} else {
			r.link.answer(e.r, conn)
		}
		r.mu.Lock()
		r.answered = e.seq
		r.broadcast()
		r.mu.Unlock()
	}
}

// tcpLink sends each report on a connection of its own to 127.0.0.1:port.
type tcpLink struct {
	port   int
	secret string
	addr   string
	warned bool // the sending goroutine's alone
}

func newTCPLink(port int, secret string) *tcpLink {
	return &tcpLink{port: port, secret: secret, addr: "127.0.0.1:" + strconv.Itoa(port)}
}

func (t *tcpLink) open(r report, timeout time.Duration) (net.Conn, error) {
	request := encodeRequest(t.port, t.secret, r)
	d := net.Dialer{Timeout: timeout}
	c, err := d.Dial("tcp4", t.addr)
	if err != nil {
		return nil, err
	}
	if err := c.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		_ = c.Close()
		return nil, err
	}
	if _, err := c.Write(request); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

func (t *tcpLink) answer(r report, c net.Conn) {
	if c == nil {
		return
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
	var got []byte
	buf := make([]byte, 64)
	for len(got) < 64 && bytes.IndexByte(got, '\n') < 0 {
		n, err := c.Read(buf[:64-len(got)])
		got = append(got, buf[:n]...)
		if err != nil {
			if len(got) == 0 {
				t.complain("no answer from the extension on " + t.addr + " to a report: " + err.Error())
				return
			}
			break
		}
	}
	status, ok := parseStatus(got)
	switch {
	case ok && status == 202:
		logDebug("graceful-shutdown: report accepted: " + r.kind)
	case !ok:
		t.complain("the extension on " + t.addr + " answered a report with something not HTTP")
	default:
		t.complain("the extension on " + t.addr + " answered " + strconv.Itoa(status) +
			" to a report (401: the secret does not match)")
	}
}

func (t *tcpLink) failed(r report, err error) {
	t.complain("cannot report to the extension on " + t.addr + ": " + err.Error())
}

func (t *tcpLink) complain(message string) {
	if t.warned {
		logDebug("graceful-shutdown: " + message)
		return
	}
	t.warned = true
	logWarn("graceful-shutdown: " + message + "; the handlers still run, the extension's verdict may be incomplete")
}

// parseStatus is the status code of an HTTP/1.x status line.
func parseStatus(answer []byte) (int, bool) {
	line, _, _ := bytes.Cut(answer, []byte("\n"))
	line = bytes.TrimRight(line, "\r")
	parts := bytes.Split(line, []byte(" "))
	if len(parts) < 2 || !bytes.HasPrefix(parts[0], []byte("HTTP/1.")) {
		return 0, false
	}
	n, err := strconv.Atoi(string(parts[1]))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}
