//! Sending reports to the extension without ever holding up a handler.
//!
//! Reports are queued on a channel and sent, one connection each and in
//! order, by a dedicated thread. A plain thread rather than a tokio task: it
//! keeps going while the runtime is busy (or blocked by a handler), and the
//! final flush before `exit` needs no runtime at all. The request bytes come
//! from the protocol crate's `encode_request`; the one tiny request to
//! loopback does not justify linking an HTTP client into every function.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use graceful_shutdown_protocol::report::encode_request;
use graceful_shutdown_protocol::Report;

/// Per-report limits: loopback answers in well under a millisecond, so these
/// only bound the damage of a wedged extension.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(20);
const IO_TIMEOUT: Duration = Duration::from_millis(20);

enum Message {
    Report(Report),
    Flush(mpsc::Sender<()>),
}

/// Where reports go: to the extension, or nowhere when it is not attached.
#[derive(Debug, Clone)]
pub(crate) struct Reporter {
    queue: Option<mpsc::Sender<Message>>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Message::Report(r) => f.debug_tuple("Report").field(r).finish(),
            Message::Flush(_) => f.write_str("Flush"),
        }
    }
}

impl Reporter {
    /// A reporter that drops every report (the extension is not attached).
    pub(crate) fn disabled() -> Reporter {
        Reporter { queue: None }
    }

    /// Start the sending thread for `127.0.0.1:port` with this secret.
    pub(crate) fn spawn(port: u16, secret: String) -> Reporter {
        let mut sender = Sender::new(port, secret);
        Reporter::spawn_with(move |report| sender.send(report))
    }

    /// Start the sending thread, which hands each report to `deliver`, in order.
    fn spawn_with(mut deliver: impl FnMut(&Report) + Send + 'static) -> Reporter {
        let (tx, rx) = mpsc::channel::<Message>();
        let started = std::thread::Builder::new()
            .name(String::from("graceful-shutdown-report"))
            .spawn(move || {
                for message in rx {
                    match message {
                        Message::Report(report) => deliver(&report),
                        Message::Flush(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            });
        match started {
            Ok(_) => Reporter { queue: Some(tx) },
            Err(e) => {
                tracing::warn!("graceful-shutdown: cannot start the report thread ({e}); shutdown handlers run but are not reported");
                Reporter::disabled()
            }
        }
    }

    /// A reporter whose reports land on a channel, for unit tests.
    #[cfg(test)]
    pub(crate) fn capture() -> (Reporter, Captured) {
        let (tx, rx) = mpsc::channel();
        (Reporter { queue: Some(tx) }, Captured(rx))
    }

    /// Whether reports are sent anywhere.
    pub(crate) fn is_enabled(&self) -> bool {
        self.queue.is_some()
    }

    /// Queue a report. Never blocks, never fails.
    pub(crate) fn send(&self, report: Report) {
        if let Some(queue) = &self.queue {
            let _ = queue.send(Message::Report(report));
        }
    }

    /// Wait at most `limit` for every report queued so far to be sent.
    /// Returns whether they all went out in time.
    pub(crate) fn flush(&self, limit: Duration) -> bool {
        let Some(queue) = &self.queue else {
            return true;
        };
        let (done_tx, done_rx) = mpsc::channel();
        if queue.send(Message::Flush(done_tx)).is_err() {
            return false;
        }
        done_rx.recv_timeout(limit).is_ok()
    }
}

/// The reports a [`Reporter::capture`] reporter was given.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct Captured(mpsc::Receiver<Message>);

#[cfg(test)]
impl Captured {
    pub(crate) fn reports(&self) -> Vec<Report> {
        self.0
            .try_iter()
            .filter_map(|m| match m {
                Message::Report(r) => Some(r),
                Message::Flush(_) => None,
            })
            .collect()
    }
}

/// The sending side, owned by the report thread.
struct Sender {
    addr: SocketAddr,
    port: u16,
    secret: String,
    warned: bool,
}

impl Sender {
    fn new(port: u16, secret: String) -> Sender {
        Sender {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            port,
            secret,
            warned: false,
        }
    }

    fn send(&mut self, report: &Report) {
        match self.exchange(report) {
            Ok(202) => tracing::debug!(?report, "graceful-shutdown: report accepted"),
            Ok(status) => self.complain(format!(
                "the extension on 127.0.0.1:{} answered {status} to a report (401: the secret does not match)",
                self.port
            )),
            Err(e) => self.complain(format!(
                "cannot report to the extension on 127.0.0.1:{}: {e}",
                self.port
            )),
        }
    }

    /// One warning, then quiet: a missing listener must not flood the logs.
    fn complain(&mut self, message: String) {
        if self.warned {
            tracing::debug!("graceful-shutdown: {message}");
        } else {
            self.warned = true;
            tracing::warn!("graceful-shutdown: {message}; the handlers still run, the extension's verdict may be incomplete");
        }
    }

    /// Send one request and return the answer's status code.
    fn exchange(&self, report: &Report) -> std::io::Result<u16> {
        let mut stream = TcpStream::connect_timeout(&self.addr, CONNECT_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.write_all(encode_request(self.port, &self.secret, report).as_bytes())?;
        // Wait for the status line so that reports arrive, and are stored, in order.
        let mut answer = [0_u8; 64];
        let mut len = 0;
        while len < answer.len() {
            let n = stream.read(&mut answer[len..])?;
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
        // A delivery that blocks until the test opens the gate (or 10 s pass).
        let (gate, gate_rx) = mpsc::channel::<()>();
        let (delivered_tx, delivered) = mpsc::channel::<Report>();
        let reporter = Reporter::spawn_with(move |report| {
            let _ = gate_rx.recv_timeout(Duration::from_secs(10));
            let _ = delivered_tx.send(report.clone());
        });
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
        assert!(delivered.try_recv().is_err(), "nothing was delivered yet");
        assert!(
            !reporter.flush(Duration::ZERO),
            "the reports are still queued"
        );
        for _ in &reports {
            gate.send(())
                .expect("the delivery thread waits at the gate");
        }
        assert!(reporter.flush(Duration::from_secs(10)));
        assert_eq!(delivered.try_iter().collect::<Vec<_>>(), reports);
    }
}
