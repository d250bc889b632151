//! The report listener on `127.0.0.1:$GRACEFUL_SHUTDOWN_PORT`: one thread,
//! one connection at a time, in arrival order, each bounded in time and size.
//! Accepted reports go to a shared list; every refusal is answered and logged.
//! Nothing a peer sends can stop it.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use graceful_shutdown_protocol::{Report, MAX_REPORT_BYTES};
use serde_json::json;

use crate::log::Logger;
use crate::request::{self, evaluate, Step, DRAIN_PREFIX, MAX_HEAD_BYTES};
use crate::secret::Secret;

/// How long one connection may take to send its request.
pub const CONNECTION_DEADLINE: Duration = Duration::from_millis(500);
/// Most reports kept for one environment; a normal one sends a few per handler.
pub const MAX_REPORTS: usize = 10_000;

/// The reports received so far, in arrival order.
#[derive(Debug, Clone, Default)]
pub struct Reports(Arc<Mutex<Vec<Report>>>);

impl Reports {
    /// A copy of the list. A poisoned lock still holds good data: take it.
    pub fn snapshot(&self) -> Vec<Report> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Store `report`, unless the list is full.
    fn push(&self, report: Report) -> bool {
        let mut list = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if list.len() >= MAX_REPORTS {
            return false;
        }
        list.push(report);
        true
    }
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
    log: Logger,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name(String::from("report-listener"))
        .spawn(move || serve(&listener, &secret, &reports, log))
        .map(|_| ())
}

fn serve(listener: &TcpListener, secret: &Secret, reports: &Reports, log: Logger) {
    loop {
        match listener.accept() {
            Ok((stream, peer)) => handle(stream, peer, secret, reports, log),
            Err(e) => {
                // Out of file descriptors and the like: say so, and do not spin.
                log.warn(
                    "report listener: accept failed",
                    &[("error", json!(e.to_string()))],
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

fn handle(
    mut stream: TcpStream,
    peer: SocketAddr,
    secret: &Secret,
    reports: &Reports,
    log: Logger,
) {
    let started = Instant::now();
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    let cap = MAX_HEAD_BYTES + MAX_REPORT_BYTES + 64;
    let step = loop {
        let step = evaluate(&buf, false, secret);
        if step != Step::NeedMore {
            break step;
        }
        let left = CONNECTION_DEADLINE.saturating_sub(started.elapsed());
        if left.is_zero() || buf.len() >= cap || stream.set_read_timeout(Some(left)).is_err() {
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
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        Step::Accept(report) => {
            let kind = report_type(&report);
            if reports.push(report) {
                log.debug(
                    "report accepted",
                    &[("type", json!(kind)), ("peer", json!(peer.to_string()))],
                );
                (202, String::from("accepted"))
            } else {
                let reason = format!("more than {MAX_REPORTS} reports in this environment");
                refused(log, peer, 429, &reason);
                (429, reason)
            }
        }
        Step::Refuse(r) => {
            refused(log, peer, r.status, &r.reason);
            (r.status, r.reason)
        }
        Step::NeedMore => (400, String::from("incomplete request")),
    };
    let _ = stream.set_write_timeout(Some(CONNECTION_DEADLINE));
    let _ = stream.write_all(&request::response(status, &message));
    let _ = stream.flush();
    // Half-close, then read what the peer still sends for a moment, so that
    // closing with unread bytes does not reset the connection before the
    // peer has read the answer (the 413 case).
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
    let mut discarded = 0usize;
    while discarded < 64 * 1024 {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => discarded += n,
        }
    }
}

fn refused(log: Logger, peer: SocketAddr, status: u16, reason: &str) {
    log.warn(
        "report refused",
        &[
            ("status", json!(status)),
            ("reason", json!(reason)),
            ("peer", json!(peer.to_string())),
        ],
    );
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
/// been handled, or `budget` has passed. The listener handles connections
/// in arrival order, so once it has handled this probe, it has handled all
/// the reports that came before it. Returns whether that was confirmed.
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
