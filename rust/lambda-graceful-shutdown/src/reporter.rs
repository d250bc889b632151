//! Sending reports to the extension without ever holding up a handler, and
//! with the reports that say what is running delivered before it runs.
//!
//! A report is delivered once its request is written on a loopback
//! connection: the extension orders reports by the order their connections
//! arrive, and a request already in the kernel's socket buffers reaches it
//! even if the function is SIGKILLed the next moment. Connecting and writing
//! take tens of microseconds on loopback and need no CPU time of the
//! extension; reading the answer does, so it is never waited for on the
//! handlers' path.
//!
//! - [`Reporter::send`] queues a report for a dedicated thread, which
//!   connects, writes and reads the answer (to log a refusal). Never blocks.
//! - [`Reporter::send_now`] connects and writes on the caller's thread
//!   (earlier queued reports first, so the order holds), with a tiny timeout,
//!   and leaves the answer to the thread; on any error the report goes to the
//!   queue instead. The library sends `shutdownStarted` and each `started`
//!   this way: under CPU starvation (about 7 % of a core at 128 MB) a
//!   background thread can lag by tens of milliseconds, and a runtime
//!   SIGKILLed in that time would leave a verdict that says a running
//!   handler never started.
//!
//! A plain thread rather than a tokio task: it keeps going while the runtime
//! is busy (or blocked by a handler), and the final flush before `exit`
//! needs no runtime at all. The request bytes come from the protocol crate's
//! `encode_request`; the one tiny request to loopback does not justify
//! linking an HTTP client into every function.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use graceful_shutdown_protocol::wire::encode_request;
use graceful_shutdown_protocol::{limits, Report};

/// Per-report limits of the sending thread (`library.reportConnectTimeoutMs`,
/// `library.reportIoTimeoutMs`): loopback answers in well under a
/// millisecond, so these only bound the damage of a wedged extension.
fn connect_timeout() -> Duration {
    Duration::from_millis(limits().library.report_connect_timeout_ms)
}
fn io_timeout() -> Duration {
    Duration::from_millis(limits().library.report_io_timeout_ms)
}
/// Limit of a connect or write on the handlers' path (`library.reportNowTimeoutMs`).
/// A loopback connect completes (or is refused) inside the call; only a full
/// accept queue makes it wait, and then the report goes to the queue instead.
fn now_timeout() -> Duration {
    Duration::from_millis(limits().library.report_now_timeout_ms)
}

/// One entry of the queue, in delivery order.
enum Message {
    /// To be connected, written and answered.
    Report(Report),
    /// Written already (on the handlers' path); the answer is still to be read.
    Written(Report, Option<TcpStream>),
    /// Answered once everything before it is.
    Flush(mpsc::Sender<()>),
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Message::Report(r) => f.debug_tuple("Report").field(r).finish(),
            Message::Written(r, _) => f.debug_tuple("Written").field(r).finish(),
            Message::Flush(_) => f.write_str("Flush"),
        }
    }
}

/// How a report leaves the process: connect and write.
trait Link: Send + 'static {
    /// Connect and write the request within `timeout` per step; the stream
    /// whose answer is to be read, if any.
    fn open(&mut self, report: &Report, timeout: Duration) -> std::io::Result<Option<TcpStream>>;
}

/// What comes back: read by the sending thread alone, never under the link's
/// lock (an answer needs the extension's CPU time, a write does not).
trait Answers: Send + 'static {
    /// Read the answer, log what it says.
    fn answer(&mut self, report: &Report, stream: Option<TcpStream>);
    /// Say that a report could not be written.
    fn failed(&mut self, report: &Report, error: &std::io::Error);
}

/// Answers nobody reads (unit tests).
#[cfg(test)]
struct Unread;

#[cfg(test)]
impl Answers for Unread {
    fn answer(&mut self, _report: &Report, _stream: Option<TcpStream>) {}
    fn failed(&mut self, _report: &Report, _error: &std::io::Error) {}
}

#[derive(Debug, Default)]
struct Queue {
    messages: VecDeque<Message>,
    closed: bool,
}

/// What the reporter handles and the sending thread share.
struct Shared {
    /// Held while a connection is opened and written, so that connections
    /// reach the extension in queue order; taken before the queue.
    link: Mutex<Box<dyn Link>>,
    queue: Mutex<Queue>,
    wake: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn push(&self, message: Message) {
        lock(&self.queue).messages.push_back(message);
        self.wake.notify_one();
    }

    /// The sending thread: until every reporter handle is gone.
    fn serve(&self, answers: &mut dyn Answers) {
        loop {
            {
                let mut queue = lock(&self.queue);
                while queue.messages.is_empty() && !queue.closed {
                    queue = self
                        .wake
                        .wait(queue)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                if queue.messages.is_empty() {
                    return;
                }
            }
            // The link first, then the message: `send_now` may have taken
            // the queue meanwhile, and the order must hold.
            let mut link = lock(&self.link);
            let Some(message) = lock(&self.queue).messages.pop_front() else {
                continue;
            };
            match message {
                Message::Report(report) => {
                    let opened = link.open(&report, connect_timeout());
                    drop(link);
                    match opened {
                        Ok(stream) => answers.answer(&report, stream),
                        Err(e) => answers.failed(&report, &e),
                    }
                }
                Message::Written(report, stream) => {
                    drop(link);
                    answers.answer(&report, stream);
                }
                Message::Flush(done) => {
                    drop(link);
                    let _ = done.send(());
                }
            }
        }
    }

    /// Write every queued report and then `report` on this thread; the
    /// answers go to the queue. A report that cannot be written now is
    /// queued for the thread.
    fn send_now(&self, report: Report) {
        let mut link = lock(&self.link);
        let earlier = std::mem::take(&mut lock(&self.queue).messages);
        let mut ordered = VecDeque::with_capacity(earlier.len() + 1);
        let mut falling_back = false;
        for message in earlier.into_iter().chain([Message::Report(report)]) {
            ordered.push_back(match message {
                // After one failure the rest keep their place in the queue.
                Message::Report(r) if !falling_back => match link.open(&r, now_timeout()) {
                    Ok(stream) => Message::Written(r, stream),
                    Err(_) => {
                        falling_back = true;
                        Message::Report(r)
                    }
                },
                other => other,
            });
        }
        let mut queue = lock(&self.queue);
        // Whatever was queued meanwhile came later.
        ordered.append(&mut queue.messages);
        queue.messages = ordered;
        drop(queue);
        drop(link);
        self.wake.notify_one();
    }
}

/// The handles' end of the sending thread; ends it when the last one goes.
struct Handle(Arc<Shared>);

impl Drop for Handle {
    fn drop(&mut self) {
        lock(&self.0.queue).closed = true;
        self.0.wake.notify_one();
    }
}

/// Where reports go: to the extension, or nowhere when it is not attached.
#[derive(Clone)]
pub(crate) struct Reporter {
    handle: Option<Arc<Handle>>,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter")
            .field("enabled", &self.is_enabled())
            .finish()
    }
}

impl Reporter {
    /// A reporter that drops every report (the extension is not attached).
    pub(crate) fn disabled() -> Reporter {
        Reporter { handle: None }
    }

    /// Start the sending thread for `127.0.0.1:port` with this secret.
    pub(crate) fn spawn(port: u16, secret: String) -> Reporter {
        Reporter::spawn_link(
            Tcp::new(port, secret),
            TcpAnswers {
                port,
                warned: false,
            },
        )
    }

    fn spawn_link(link: impl Link, mut answers: impl Answers) -> Reporter {
        let shared = Arc::new(Shared {
            link: Mutex::new(Box::new(link)),
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
        });
        let worker = Arc::clone(&shared);
        let started = std::thread::Builder::new()
            .name(String::from("graceful-shutdown-report"))
            .spawn(move || worker.serve(&mut answers));
        if let Err(e) = started {
            tracing::warn!("graceful-shutdown: cannot start the report thread ({e}); shutdown handlers run but are not reported");
            return Reporter::disabled();
        }
        Reporter {
            handle: Some(Arc::new(Handle(shared))),
        }
    }

    /// Whether reports are sent anywhere.
    pub(crate) fn is_enabled(&self) -> bool {
        self.handle.is_some()
    }

    /// Queue a report. Never blocks, never fails.
    pub(crate) fn send(&self, report: Report) {
        if let Some(handle) = &self.handle {
            handle.0.push(Message::Report(report));
        }
    }

    /// Deliver a report (and any queued before it) to the extension before
    /// returning: connect and write on this thread, a few tens of
    /// microseconds on loopback, at most a few milliseconds (then it is
    /// queued instead). The answer is read by the sending thread.
    pub(crate) fn send_now(&self, report: Report) {
        if let Some(handle) = &self.handle {
            handle.0.send_now(report);
        }
    }

    /// Whether every report so far has been written (only answers may be
    /// pending): then an exit loses none of them.
    pub(crate) fn all_written(&self) -> bool {
        let Some(handle) = &self.handle else {
            return true;
        };
        !lock(&handle.0.queue)
            .messages
            .iter()
            .any(|m| matches!(m, Message::Report(_)))
    }

    /// Wait at most `limit` for every report queued so far to be sent and
    /// answered. Returns whether they all were in time.
    pub(crate) fn flush(&self, limit: Duration) -> bool {
        let Some(handle) = &self.handle else {
            return true;
        };
        let (done_tx, done_rx) = mpsc::channel();
        handle.0.push(Message::Flush(done_tx));
        done_rx.recv_timeout(limit).is_ok()
    }
}

#[cfg(test)]
impl Reporter {
    /// A reporter that keeps what it is given, in delivery order, for unit tests.
    pub(crate) fn capture() -> (Reporter, Captured) {
        Reporter::recording(None, false)
    }

    /// [`Reporter::capture`], delivering only through `gate` (one message
    /// each), failing every write on the handlers' path if `fail_now`.
    fn recording(gate: Option<mpsc::Receiver<()>>, fail_now: bool) -> (Reporter, Captured) {
        let delivered = Arc::new(Mutex::new(Vec::new()));
        let reporter = Reporter::spawn_link(
            Recording {
                delivered: Arc::clone(&delivered),
                gate,
                fail_now,
            },
            Unread,
        );
        (
            reporter.clone(),
            Captured {
                reporter,
                delivered,
            },
        )
    }
}

/// The reports a [`Reporter::capture`] reporter delivered.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct Captured {
    reporter: Reporter,
    delivered: Arc<Mutex<Vec<Report>>>,
}

#[cfg(test)]
impl Captured {
    /// Everything delivered, once everything queued so far is.
    pub(crate) fn reports(&self) -> Vec<Report> {
        assert!(
            self.reporter.flush(Duration::from_secs(10)),
            "the capture thread is stuck"
        );
        lock(&self.delivered).clone()
    }
}

/// A link for unit tests: records each report as it is written, optionally
/// waiting at a gate before writing.
#[cfg(test)]
struct Recording {
    delivered: Arc<Mutex<Vec<Report>>>,
    gate: Option<mpsc::Receiver<()>>,
    fail_now: bool,
}

#[cfg(test)]
impl Link for Recording {
    fn open(&mut self, report: &Report, timeout: Duration) -> std::io::Result<Option<TcpStream>> {
        if self.fail_now && timeout == now_timeout() {
            return Err(std::io::Error::other("refused on the handlers' path"));
        }
        if let Some(gate) = &self.gate {
            let _ = gate.recv_timeout(Duration::from_secs(10));
        }
        lock(&self.delivered).push(report.clone());
        Ok(None)
    }
}

/// The real link: one loopback connection per report.
struct Tcp {
    addr: SocketAddr,
    port: u16,
    secret: String,
}

impl Tcp {
    fn new(port: u16, secret: String) -> Tcp {
        Tcp {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            port,
            secret,
        }
    }
}

impl Link for Tcp {
    fn open(&mut self, report: &Report, timeout: Duration) -> std::io::Result<Option<TcpStream>> {
        let mut stream = TcpStream::connect_timeout(&self.addr, timeout)?;
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(timeout))?;
        stream.write_all(encode_request(self.port, &self.secret, report).as_bytes())?;
        Ok(Some(stream))
    }
}

/// The extension's answers, read and logged.
struct TcpAnswers {
    port: u16,
    warned: bool,
}

impl TcpAnswers {
    /// One warning, then quiet: a missing listener must not flood the logs.
    fn complain(&mut self, message: String) {
        if self.warned {
            tracing::debug!("graceful-shutdown: {message}");
        } else {
            self.warned = true;
            tracing::warn!("graceful-shutdown: {message}; the handlers still run, the extension's verdict may be incomplete");
        }
    }
}

impl Answers for TcpAnswers {
    fn answer(&mut self, report: &Report, stream: Option<TcpStream>) {
        let Some(mut stream) = stream else { return };
        match read_status(&mut stream) {
            Ok(202) => tracing::debug!(?report, "graceful-shutdown: report accepted"),
            Ok(status) => self.complain(format!(
                "the extension on 127.0.0.1:{} answered {status} to a report (401: the secret does not match)",
                self.port
            )),
            Err(e) => self.complain(format!(
                "no answer from the extension on 127.0.0.1:{} to a report: {e}",
                self.port
            )),
        }
    }

    fn failed(&mut self, _report: &Report, error: &std::io::Error) {
        self.complain(format!(
            "cannot report to the extension on 127.0.0.1:{}: {error}",
            self.port
        ));
    }
}

/// Read the status line of the answer.
fn read_status(stream: &mut TcpStream) -> std::io::Result<u16> {
    stream.set_read_timeout(Some(io_timeout()))?;
    let mut answer = [0_u8; 64];
    let mut len = 0;
    // A frozen and thawed environment (Lambda freezes idle ones) can interrupt
    // the read with EINTR; try again a bounded number of times.
    let mut interruptions = 0;
    while len < answer.len() {
        let n = match stream.read(&mut answer[len..]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted && interruptions < 8 => {
                interruptions += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        len += n;
        if answer[..len].contains(&b'\n') {
            break;
        }
    }
    parse_status(&answer[..len]).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "the answer is not HTTP")
    })
}

/// The status code of an HTTP/1.x status line.
fn parse_status(answer: &[u8]) -> Option<u16> {
    let line = std::str::from_utf8(answer).ok()?.lines().next()?;
    let mut parts = line.split(' ');
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn status_lines() {
        assert_eq!(parse_status(b"HTTP/1.1 202 Accepted\r\n"), Some(202));
        assert_eq!(
            parse_status(b"HTTP/1.0 401 Unauthorized\r\n\r\n"),
            Some(401)
        );
        assert_eq!(parse_status(b"SSH-2.0\r\n"), None);
        assert_eq!(parse_status(b""), None);
    }

    #[test]
    fn sends_the_exact_protocol_bytes_in_order() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for _ in 0..2 {
                let (mut conn, _) = listener.accept().expect("accept");
                let mut buf = Vec::new();
                let mut chunk = [0_u8; 1024];
                // Read until the announced body is complete.
                loop {
                    let n = conn.read(&mut chunk).expect("read");
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("Content-Length: "))
                            .and_then(|v| v.parse().ok())
                            .expect("content-length");
                        if body.len() >= len {
                            break;
                        }
                    }
                }
                conn.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                    .expect("write");
                seen.push(String::from_utf8(buf).expect("utf8"));
            }
            seen
        });
        let reporter = Reporter::spawn(port, String::from("abc123"));
        let first = Report::ShutdownStarted {
            signal: String::from("SIGTERM"),
        };
        let second = Report::Started {
            handler: String::from("flush"),
            index: 0,
        };
        reporter.send(first.clone());
        reporter.send(second.clone());
        assert!(reporter.flush(Duration::from_secs(5)));
        let seen = server.join().expect("server");
        assert_eq!(
            seen,
            vec![
                encode_request(port, "abc123", &first),
                encode_request(port, "abc123", &second)
            ]
        );
    }

    #[test]
    fn an_absent_extension_costs_nothing_and_breaks_nothing() {
        // Bind then drop: nothing listens on this port now.
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let reporter = Reporter::spawn(port, String::from("s"));
        for i in 0..10 {
            reporter.send(Report::Started {
                handler: format!("h{i}"),
                index: i,
            });
        }
        assert!(reporter.flush(Duration::from_secs(2)));
        assert!(Reporter::disabled().flush(Duration::ZERO));
    }

    #[test]
    fn queueing_never_waits_for_the_delivery() {
        // A delivery that waits at a gate the test opens (or 10 s pass).
        let (gate, gate_rx) = mpsc::channel::<()>();
        let (reporter, captured) = Reporter::recording(Some(gate_rx), false);
        let reports: Vec<Report> = (0..10)
            .map(|i| Report::Started {
                handler: format!("h{i}"),
                index: i,
            })
            .collect();
        for report in &reports {
            reporter.send(report.clone());
        }
        // Every send returned while the first delivery was still held at the gate.
        assert!(
            lock(&captured.delivered).is_empty(),
            "nothing was delivered yet"
        );
        assert!(
            !reporter.flush(Duration::ZERO),
            "the reports are still queued"
        );
        for _ in &reports {
            gate.send(())
                .expect("the delivery thread waits at the gate");
        }
        assert_eq!(captured.reports(), reports);
    }

    /// Accept one connection and read one whole request from it.
    fn read_request(listener: &TcpListener) -> String {
        let (mut conn, _) = listener.accept().expect("accept");
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut buf = Vec::new();
        let mut chunk = [0_u8; 1024];
        loop {
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .and_then(|v| v.parse().ok())
                    .expect("content-length");
                if body.len() >= len {
                    return text;
                }
            }
            let n = conn.read(&mut chunk).expect("read");
            assert!(n > 0, "the connection ended before the request did: {text}");
            buf.extend_from_slice(&chunk[..n]);
        }
    }

    #[test]
    fn send_now_has_written_the_report_when_it_returns_without_waiting_for_the_answer() {
        // The listener accepts nothing until `send_now` has returned, and
        // never answers: the request is in the kernel's buffers all the same.
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let reporter = Reporter::spawn(port, String::from("abc123"));
        let earlier = Report::ShutdownStarted {
            signal: String::from("SIGTERM"),
        };
        let now = Report::Started {
            handler: String::from("flush"),
            index: 0,
        };
        reporter.send(earlier.clone());
        reporter.send_now(now.clone());
        // No answer is read on this path: `send_now` returned with both
        // requests written, in order, the queued one first.
        assert_eq!(
            read_request(&listener),
            encode_request(port, "abc123", &earlier)
        );
        assert_eq!(
            read_request(&listener),
            encode_request(port, "abc123", &now)
        );
    }

    #[test]
    fn all_written_once_nothing_is_left_to_write() {
        let (gate, gate_rx) = mpsc::channel::<()>();
        let (reporter, captured) = Reporter::recording(Some(gate_rx), false);
        assert!(reporter.all_written());
        reporter.send(Report::AllDone {
            completed: 0,
            failed: 0,
            timed_out: 0,
            total_ms: 0,
        });
        reporter.send(Report::AllDone {
            completed: 1,
            failed: 0,
            timed_out: 0,
            total_ms: 0,
        });
        // The thread holds the first at the gate; the second is still queued.
        assert!(!reporter.all_written());
        gate.send(()).expect("gate");
        gate.send(()).expect("gate");
        assert_eq!(captured.reports().len(), 2);
        assert!(reporter.all_written());
        assert!(Reporter::disabled().all_written());
    }

    #[test]
    fn send_now_falls_back_to_the_queue_and_keeps_the_order() {
        let (reporter, captured) = Reporter::recording(None, true);
        let reports: Vec<Report> = (0..3)
            .map(|i| Report::Started {
                handler: format!("h{i}"),
                index: i,
            })
            .collect();
        reporter.send(reports[0].clone());
        reporter.send_now(reports[1].clone());
        reporter.send(reports[2].clone());
        assert_eq!(captured.reports(), reports);
    }
}
