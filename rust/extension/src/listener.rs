//! The report listener on `127.0.0.1:$GRACEFUL_SHUTDOWN_PORT`: one thread
//! accepts, and each connection is handled on a short-lived thread of its
//! own (at most [`MAX_CONNECTIONS`] at once), bounded in time and size, so
//! that a slow or stuck connection never holds back the function's reports.
//! Connections are numbered as they are accepted, and each accepted report
//! is handed to the store ([`Reports`]) with its connection's number, so
//! that the reports are kept in that order, whatever order their threads end
//! in. Every refusal is answered and logged (at a limited rate). Nothing a
//! peer sends can stop it.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use graceful_shutdown_protocol::Report;
use serde_json::json;

use crate::handoff::Handoffs;
use crate::log::Logger;
use crate::reports::{Reports, MAX_REPORTS};
use crate::request::{self, evaluate, Step, DRAIN_PREFIX};
use crate::secret::Secret;
use crate::throttle::Throttle;

/// How long one connection may take to send its request, and to take the
/// answer. The function library writes its whole request at once, right
/// after connecting; but on a small CPU share (a 128 MB function gets about
/// 7 % of a vCPU, in periods of 100 ms under a CFS quota) a function whose
/// share ran out between its connect and its write resumes only in the next
/// period. Three periods leave room for that, and for this thread's own wait.
pub const CONNECTION_DEADLINE: Duration = Duration::from_millis(300);
/// How long the answered connection is read (and discarded) before closing.
const LINGER: Duration = Duration::from_millis(50);
/// Most connections handled at once, each on its own thread. Beyond that,
/// the accepting thread handles the connection itself (and accepts no more
/// until it is done): the bound holds, and nothing is refused for it.
pub const MAX_CONNECTIONS: usize = 16;
/// Longest wait of the drain probe for the connections before it.
const DRAIN_WAIT: Duration = Duration::from_secs(1);
/// The connections being handled, by number.
#[derive(Debug, Default)]
struct InFlight {
    state: Mutex<Open>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct Open {
    next: u64,
    /// At most [`MAX_CONNECTIONS`] + 1: a list is all it takes.
    numbers: Vec<u64>,
}

impl InFlight {
    fn lock(&self) -> MutexGuard<'_, Open> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Number a new connection and count it in; also says whether the
    /// threads are all taken (counting this one, more than [`MAX_CONNECTIONS`]).
    fn admit(self: &Arc<Self>) -> (Admitted, bool) {
        let mut open = self.lock();
        let number = open.next;
        open.next += 1;
        open.numbers.push(number);
        let full = open.numbers.len() > MAX_CONNECTIONS;
        (
            Admitted {
                number,
                in_flight: Arc::clone(self),
            },
            full,
        )
    }

    /// Wait until every connection numbered below `number` is done, or
    /// `limit` has passed. Returns whether they are all done.
    fn wait_before(&self, number: u64, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        let mut open = self.lock();
        loop {
            if !open.numbers.iter().any(|n| *n < number) {
                return true;
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            open = self
                .changed
                .wait_timeout(open, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// One counted connection; counted out when dropped, however its handling ends.
#[derive(Debug)]
struct Admitted {
    number: u64,
    in_flight: Arc<InFlight>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.in_flight.lock().numbers.retain(|n| *n != self.number);
        self.in_flight.changed.notify_all();
    }
}

/// What every connection's handler shares.
struct Shared {
    secret: Secret,
    reports: Reports,
    handoffs: Handoffs,
    log: Logger,
    in_flight: Arc<InFlight>,
    refusals: Mutex<Throttle>,
}

/// Bind the port (before registering, so that a port clash is an init error).
pub fn bind(port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind(("127.0.0.1", port))
}

/// Serve reports on `listener` in a background thread for the rest of the process.
pub fn spawn(
    listener: TcpListener,
    secret: Secret,
    reports: Reports,
    handoffs: Handoffs,
    log: Logger,
) -> std::io::Result<()> {
    let shared = Arc::new(Shared {
        secret,
        reports,
        handoffs,
        log,
        in_flight: Arc::new(InFlight::default()),
        refusals: Mutex::new(Throttle::default()),
    });
    std::thread::Builder::new()
        .name(String::from("report-listener"))
        .spawn(move || serve(&listener, &shared))
        .map(|_| ())
}

fn serve(listener: &TcpListener, shared: &Arc<Shared>) {
    loop {
        match listener.accept() {
            Ok((stream, peer)) => dispatch(stream, peer, shared),
            Err(e) => {
                // Out of file descriptors and the like: say so, and do not spin.
                shared.log.warn(
                    "report listener: accept failed",
                    &[("error", json!(e.to_string()))],
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// Handle the connection on a thread of its own, or on this one when the
/// threads are all taken or none can be started.
fn dispatch(stream: TcpStream, peer: SocketAddr, shared: &Arc<Shared>) {
    let (admitted, full) = shared.in_flight.admit();
    if full {
        handle(stream, peer, &admitted, shared);
        return;
    }
    // The thread takes the connection from here; if it cannot start, this one does.
    let slot = Arc::new(Mutex::new(Some((stream, admitted))));
    let (taken, worker_shared) = (Arc::clone(&slot), Arc::clone(shared));
    let spawned = std::thread::Builder::new()
        .name(String::from("report"))
        .spawn(move || {
            let connection = taken.lock().unwrap_or_else(PoisonError::into_inner).take();
            if let Some((stream, admitted)) = connection {
                handle(stream, peer, &admitted, &worker_shared);
            }
        });
    if spawned.is_err() {
        let connection = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some((stream, admitted)) = connection {
            handle(stream, peer, &admitted, shared);
        }
    }
}

/// Append what is already in the socket's receive buffer, without waiting.
fn read_buffered(stream: &mut TcpStream, buf: &mut Vec<u8>, cap: usize) {
    if stream.set_nonblocking(true).is_err() {
        return;
    }
    let mut chunk = [0u8; 2048];
    while buf.len() < cap {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let _ = stream.set_nonblocking(false);
}

fn handle(mut stream: TcpStream, peer: SocketAddr, admitted: &Admitted, shared: &Shared) {
    let (secret, reports, log) = (&shared.secret, &shared.reports, shared.log);
    let started = Instant::now();
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut chunk = [0u8; 16 * 1024];
    let cap = request::max_request_bytes();
    let step = loop {
        let step = evaluate(&buf, false, secret);
        if step != Step::NeedMore {
            break step;
        }
        let left = CONNECTION_DEADLINE.saturating_sub(started.elapsed());
        if buf.len() >= cap {
            break evaluate(&buf, true, secret);
        }
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            // This thread may itself have waited for the CPU past the
            // deadline: what the peer sent meanwhile is still taken.
            read_buffered(&mut stream, &mut buf, cap);
            break evaluate(&buf, true, secret);
        }
        match stream.read(&mut chunk) {
            Ok(0) => break evaluate(&buf, true, secret),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break evaluate(&buf, true, secret),
        }
    };
    let (status, message) = match step {
        Step::Drained => {
            // Close once every connection accepted before this one is done.
            shared.in_flight.wait_before(admitted.number, DRAIN_WAIT);
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        Step::Accept(report) => {
            let kind = report_type(&report.report);
            let mut fields = vec![("type", json!(kind)), ("peer", json!(peer.to_string()))];
            if let Some(worker) = &report.worker {
                fields.push(("worker", json!(worker)));
            }
            if reports.push(admitted.number, report) {
                log.debug("report accepted", &fields);
                (202, String::from("accepted"))
            } else {
                let reason = format!("more than {MAX_REPORTS} reports in this environment");
                refused(shared, peer, 429, &reason, "report refused");
                (429, reason)
            }
        }
        Step::Handoff(handoff) => {
            let (count, worker) = (handoff.requests.len(), handoff.worker.clone());
            match shared.handoffs.take(handoff) {
                Ok((accepted, held)) => {
                    let mut fields = vec![("requests", json!(count)), ("held", json!(held))];
                    if let Some(worker) = worker {
                        fields.push(("worker", json!(worker)));
                    }
                    log.info("handoff taken", &fields);
                    answer(
                        &mut stream,
                        &request::handoff_taken(accepted, held),
                        &mut chunk,
                    );
                    return;
                }
                Err(r) => {
                    refused(shared, peer, r.status, &r.reason, "handoff refused");
                    (r.status, r.reason)
                }
            }
        }
        Step::Refuse(r) => {
            let what = if request::targets_handoff(&buf) {
                shared.handoffs.count_refused();
                "handoff refused"
            } else {
                "report refused"
            };
            refused(shared, peer, r.status, &r.reason, what);
            (r.status, r.reason)
        }
        Step::NeedMore => (400, String::from("incomplete request")),
    };
    answer(
        &mut stream,
        &request::response(status, &message),
        &mut chunk,
    );
}

/// Write `response`, then close without resetting the connection.
fn answer(stream: &mut TcpStream, response: &[u8], chunk: &mut [u8]) {
    let _ = stream.set_write_timeout(Some(CONNECTION_DEADLINE));
    let _ = stream.write_all(response);
    let _ = stream.flush();
    // Half-close, then read what the peer still sends for a moment, so that
    // closing with unread bytes does not reset the connection before the
    // peer has read the answer (the 413 case).
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(LINGER));
    let mut discarded = 0usize;
    while discarded < 64 * 1024 {
        match stream.read(chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => discarded += n,
        }
    }
}

/// Log a refusal, unless too many were logged in the last moment.
fn refused(shared: &Shared, peer: SocketAddr, status: u16, reason: &str, what: &str) {
    let admitted = shared
        .refusals
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .admit(Instant::now());
    let Some(not_logged) = admitted else {
        return;
    };
    let mut fields = vec![
        ("status", json!(status)),
        ("reason", json!(reason)),
        ("peer", json!(peer.to_string())),
    ];
    if not_logged > 0 {
        fields.push(("refusalsNotLogged", json!(not_logged)));
    }
    shared.log.warn(what, &fields);
}

fn report_type(report: &Report) -> &'static str {
    match report {
        Report::Hello { .. } => "hello",
        Report::ShutdownStarted { .. } => "shutdownStarted",
        Report::Started { .. } => "started",
        Report::Finished { .. } => "finished",
        Report::Failed { .. } => "failed",
        Report::TimedOut { .. } => "timedOut",
        Report::AllDone { .. } => "allDone",
        Report::Unknown => "unknown",
    }
}

/// Wait until every connection that reached the port before this call has
/// been handled, or `budget` has passed. The listener answers this probe
/// (by closing it) only once every connection accepted before it is done,
/// so then all the reports that came before it are stored. Returns whether
/// that was confirmed.
pub fn drain(port: u16, secret: &Secret, budget: Duration) -> bool {
    if budget.is_zero() {
        return false;
    }
    let started = Instant::now();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, budget) else {
        return false;
    };
    let probe = [DRAIN_PREFIX, secret.as_str().as_bytes(), b"\r\n"].concat();
    if stream.write_all(&probe).is_err() {
        return false;
    }
    let left = budget.saturating_sub(started.elapsed());
    if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
        return false;
    }
    let mut byte = [0u8; 1];
    loop {
        match stream.read(&mut byte) {
            // The listener closes the probe without an answer.
            Ok(0) => return true,
            Ok(_) => return false,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drain_waits_for_every_earlier_connection_and_only_those() {
        let in_flight = Arc::new(InFlight::default());
        let (first, _) = in_flight.admit();
        let (second, _) = in_flight.admit();
        let (probe, _) = in_flight.admit();
        let (later, _) = in_flight.admit();
        assert_eq!(
            [first.number, second.number, probe.number, later.number],
            [0, 1, 2, 3]
        );
        assert!(!in_flight.wait_before(probe.number, Duration::ZERO));
        drop(second);
        assert!(!in_flight.wait_before(probe.number, Duration::ZERO));
        drop(first);
        // `later` is still open: it does not count.
        assert!(in_flight.wait_before(probe.number, Duration::ZERO));
        drop(later);
    }

    #[test]
    fn more_than_the_maximum_at_once_is_reported_full() {
        let in_flight = Arc::new(InFlight::default());
        let open: Vec<(Admitted, bool)> = (0..MAX_CONNECTIONS).map(|_| in_flight.admit()).collect();
        assert!(open.iter().all(|(_, full)| !full));
        let (extra, full) = in_flight.admit();
        assert!(full);
        drop(extra);
        drop(open);
        assert!(!in_flight.admit().1, "slots come back when connections end");
    }
}
