//! The handoff: requests the function's shutdown handlers could not finish,
//! taken from the report listener, sent after the runtime has gone by at
//! most `handoff.concurrency` threads, retried while there is time, and
//! dead-lettered to the log when there is not (`docs/protocol.md`, Handoff).
//!
//! The store is always there, so that a handoff to a layer built without
//! the feature is refused by name (`501`) and counted; sending is the
//! `handoff` feature's (`send.rs`: TLS and SigV4).

// Without the feature, only the store's refusal and counts are used.
#![cfg_attr(not(feature = "handoff"), allow(dead_code))]

pub mod dead_letter;
pub mod policy;
#[cfg(feature = "handoff")]
mod send;

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use graceful_shutdown_protocol::limits::HandoffLimits;
use graceful_shutdown_protocol::verdict::HandoffCounts;
use graceful_shutdown_protocol::{limits, Handoff, HandoffRequest};
#[cfg(feature = "handoff")]
use serde_json::json;

use crate::log::{now_ms, Logger};
use crate::request::Refusal;

/// Where one request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for a sending thread, or for its next attempt.
    Waiting,
    /// An attempt is under way.
    InFlight,
    Delivered,
    DeadLettered,
}

#[derive(Debug)]
struct Item {
    id: String,
    request: Arc<HandoffRequest>,
    state: State,
    attempts: u32,
    last_error: Option<String>,
    taken_at: Instant,
}

#[derive(Debug, Default)]
struct Book {
    items: Vec<Item>,
    /// Items no thread has picked up yet, oldest first.
    queue: std::collections::VecDeque<usize>,
    held_bytes: usize,
    refused: usize,
    senders: usize,
    /// Sending stops here (set on SHUTDOWN).
    stop_at: Option<Instant>,
    /// The verdict is being written: nothing more is taken.
    closed: bool,
}

impl Book {
    fn counts(&self) -> HandoffCounts {
        let count = |state| self.items.iter().filter(|i| i.state == state).count();
        HandoffCounts {
            handed_off: self.items.len(),
            delivered: count(State::Delivered),
            dead_lettered: count(State::DeadLettered),
            refused: self.refused,
        }
    }

    fn settled(&self) -> bool {
        self.items
            .iter()
            .all(|i| matches!(i.state, State::Delivered | State::DeadLettered))
    }

    /// When sending `item` must stop: the SHUTDOWN's stop, or (before
    /// SHUTDOWN) the length of a shutdown phase after the item was taken.
    fn stop_for(&self, item: usize) -> Instant {
        self.stop_at.unwrap_or_else(|| {
            self.items[item].taken_at + Duration::from_millis(limits().shutdown.phase_ms)
        })
    }
}

#[derive(Debug)]
struct Inner {
    book: Mutex<Book>,
    changed: Condvar,
    log: Logger,
    limits: &'static HandoffLimits,
    #[cfg(feature = "handoff")]
    sender: std::sync::OnceLock<Result<send::Sender, String>>,
}

/// The handed-off requests of this environment. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Handoffs(Arc<Inner>);

/// Whether this build sends handed-off requests (the `handoff` feature).
pub const SUPPORTED: bool = cfg!(feature = "handoff");

impl Handoffs {
    pub fn new(log: Logger) -> Handoffs {
        Handoffs(Arc::new(Inner {
            book: Mutex::new(Book::default()),
            changed: Condvar::new(),
            log,
            limits: &limits().handoff,
            #[cfg(feature = "handoff")]
            sender: std::sync::OnceLock::new(),
        }))
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        self.0.book.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Count a handoff the listener refused (a bad body, a wrong secret).
    pub fn count_refused(&self) {
        self.book().refused += 1;
    }

    /// Take `handoff` whole, or refuse it whole: answers `(accepted, held)`.
    pub fn take(&self, handoff: Handoff) -> Result<(usize, usize), Refusal> {
        let refuse = |book: &mut Book, status: u16, reason: String| {
            book.refused += 1;
            Err(Refusal { status, reason })
        };
        let mut book = self.book();
        if !SUPPORTED {
            return refuse(
                &mut book,
                501,
                String::from(
                    "handoff: this layer is built without it; use the handoff flavour of the layer \
                     (the CDK construct's `handoff: true`, or graceful-shutdown-handoff-<arch>.zip)",
                ),
            );
        }
        if book.closed {
            return refuse(
                &mut book,
                503,
                String::from("handoff: the shutdown deadline has come; nothing more can be sent"),
            );
        }
        let limits = self.0.limits;
        let count = book.items.len() + handoff.requests.len();
        if count > limits.max_requests {
            return refuse(
                &mut book,
                413,
                format!(
                    "handoff: {count} requests would be held; handoff.maxRequests is {}",
                    limits.max_requests
                ),
            );
        }
        let bytes = book.held_bytes + handoff.body_bytes();
        if bytes > limits.max_total_bytes {
            return refuse(
                &mut book,
                413,
                format!(
                    "handoff: {bytes} bytes of bodies would be held; handoff.maxTotalBytes is {}",
                    limits.max_total_bytes
                ),
            );
        }
        let accepted = handoff.requests.len();
        let now = Instant::now();
        for request in handoff.requests {
            let number = book.items.len() + 1;
            let id = request.id.clone().unwrap_or_else(|| format!("h{number}"));
            let index = book.items.len();
            book.queue.push_back(index);
            book.items.push(Item {
                id,
                request: Arc::new(request),
                state: State::Waiting,
                attempts: 0,
                last_error: None,
                taken_at: now,
            });
        }
        book.held_bytes = bytes;
        let held = book.items.len();
        self.start_senders(&mut book);
        Ok((accepted, held))
    }

    /// Start sending threads for the queue, up to `handoff.concurrency`.
    #[cfg(feature = "handoff")]
    fn start_senders(&self, book: &mut Book) {
        while book.senders < self.0.limits.concurrency && book.senders < book.queue.len() {
            let this = self.clone();
            let started = std::thread::Builder::new()
                .name(String::from("handoff"))
                .spawn(move || this.send_queued());
            match started {
                Ok(_) => book.senders += 1,
                Err(e) => {
                    // The threads already running still work through the queue.
                    self.0.log.warn(
                        "handoff: cannot start a sending thread",
                        &[("error", json!(e.to_string()))],
                    );
                    break;
                }
            }
        }
    }

    #[cfg(not(feature = "handoff"))]
    fn start_senders(&self, _book: &mut Book) {}

    /// A sending thread: take queued requests until none is left.
    #[cfg(feature = "handoff")]
    fn send_queued(&self) {
        loop {
            let next = {
                let mut book = self.book();
                match book.queue.pop_front() {
                    Some(item) if !book.closed => Some(item),
                    _ => {
                        book.senders -= 1;
                        None
                    }
                }
            };
            match next {
                Some(item) => self.deliver(item),
                None => return,
            }
        }
    }

    /// Attempts for `item` until delivered, final, or out of time.
    #[cfg(feature = "handoff")]
    fn deliver(&self, item: usize) {
        let sender = match self
            .0
            .sender
            .get_or_init(|| send::Sender::from_env(self.0.limits))
        {
            Ok(sender) => sender,
            Err(e) => {
                let e = e.clone();
                self.conclude(item, policy::Answer::Final(e));
                return;
            }
        };
        let request = Arc::clone(&self.book().items[item].request);
        let mut retry = 0u32;
        loop {
            let timeout = {
                let mut book = self.book();
                let left = book
                    .stop_for(item)
                    .saturating_duration_since(Instant::now());
                if left.is_zero() || book.items[item].state != State::Waiting || book.closed {
                    return;
                }
                book.items[item].state = State::InFlight;
                book.items[item].attempts += 1;
                left.min(Duration::from_millis(self.0.limits.attempt_timeout_ms))
            };
            let answer = sender.attempt(&request, timeout);
            let policy::Answer::Retry(why) = answer else {
                self.conclude(item, answer);
                return;
            };
            retry += 1;
            let wait = policy::backoff(
                retry,
                Duration::from_millis(self.0.limits.retry_base_ms),
                Duration::from_millis(self.0.limits.retry_max_ms),
                random_unit(),
            );
            {
                let mut book = self.book();
                let entry = &mut book.items[item];
                if entry.state != State::InFlight {
                    return; // dead-lettered meanwhile
                }
                entry.state = State::Waiting;
                entry.last_error = Some(why);
                if Instant::now() + wait >= book.stop_for(item) {
                    return; // no time for another attempt: the close dead-letters it
                }
            }
            std::thread::sleep(wait);
        }
    }

    /// Record a delivered or final answer for `item`; a final one is
    /// dead-lettered at once.
    #[cfg(feature = "handoff")]
    fn conclude(&self, item: usize, answer: policy::Answer) {
        let mut book = self.book();
        let entry = &mut book.items[item];
        if entry.state == State::DeadLettered {
            return;
        }
        match answer {
            policy::Answer::Delivered => {
                entry.state = State::Delivered;
                self.0.log.info(
                    "handoff: delivered",
                    &[("id", json!(entry.id)), ("attempts", json!(entry.attempts))],
                );
            }
            policy::Answer::Final(why) | policy::Answer::Retry(why) => {
                entry.state = State::DeadLettered;
                entry.last_error = Some(why);
                let line = self.record(entry, false);
                self.0.log.raw(&line);
            }
        }
        drop(book);
        self.0.changed.notify_all();
    }

    fn record(&self, entry: &Item, in_flight: bool) -> String {
        dead_letter::line(
            self.0.log.format,
            &dead_letter::Record {
                id: &entry.id,
                request: &entry.request,
                attempts: entry.attempts,
                last_error: entry.last_error.as_deref(),
                in_flight,
            },
            now_ms(),
        )
    }

    /// On SHUTDOWN: sending stops at `stop_at`; wait until every request is
    /// delivered or dead-lettered, or `stop_at` has come.
    pub fn wait(&self, stop_at: Instant) {
        let mut book = self.book();
        book.stop_at = Some(stop_at);
        while !book.settled() {
            let left = stop_at.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            book = self
                .0
                .changed
                .wait_timeout(book, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Take nothing more, dead-letter what is not delivered (logging one
    /// record each) and say what became of the handoff: `None` if there was
    /// none. Calling it again only counts.
    pub fn close(&self) -> Option<HandoffCounts> {
        let mut book = self.book();
        book.closed = true;
        let mut lines = Vec::new();
        for i in 0..book.items.len() {
            let state = book.items[i].state;
            if matches!(state, State::Waiting | State::InFlight) {
                book.items[i].state = State::DeadLettered;
                if book.items[i].last_error.is_none() {
                    book.items[i].last_error = Some(String::from(
                        "the shutdown deadline came before it was delivered",
                    ));
                }
                lines.push(self.record(&book.items[i], state == State::InFlight));
            }
        }
        let counts = book.counts();
        drop(book);
        for line in &lines {
            self.0.log.raw(line);
        }
        (counts != HandoffCounts::default()).then_some(counts)
    }
}

/// A random number in `[0, 1)` for the backoff's jitter.
#[cfg(feature = "handoff")]
fn random_unit() -> f64 {
    let mut bytes = [0u8; 4];
    // Without randomness, wait the whole backoff: still bounded.
    if getrandom::fill(&mut bytes).is_err() {
        return 0.999;
    }
    f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{LogFormat, LogLevel};

    fn handoff(n: usize, body: &str) -> Handoff {
        Handoff {
            worker: None,
            requests: (0..n)
                .map(|_| HandoffRequest {
                    id: None,
                    method: "POST".into(),
                    url: "http://127.0.0.1:9/".into(),
                    headers: vec![],
                    body: body.as_bytes().to_vec(),
                    sign: None,
                })
                .collect(),
        }
    }

    fn store() -> Handoffs {
        Handoffs::new(Logger::new(LogFormat::Text, LogLevel::Error))
    }

    #[test]
    fn no_handoff_counts_nothing() {
        assert_eq!(store().close(), None);
    }

    #[cfg(not(feature = "handoff"))]
    #[test]
    fn the_default_layer_refuses_by_name_and_counts_it() {
        let store = store();
        let refusal = store.take(handoff(1, "x")).expect_err("refused");
        assert_eq!(refusal.status, 501);
        assert!(
            refusal.reason.contains("handoff: true"),
            "{}",
            refusal.reason
        );
        assert_eq!(
            store.close(),
            Some(HandoffCounts {
                refused: 1,
                ..HandoffCounts::default()
            })
        );
    }

    #[cfg(feature = "handoff")]
    #[test]
    fn limits_over_all_handoffs_refuse_the_whole_handoff_by_name() {
        let store = store();
        // Stop at once, so that nothing is sent in this test.
        store.book().stop_at = Some(Instant::now());
        let max = limits().handoff.max_requests;
        assert_eq!(
            store.take(handoff(max - 1, "")).expect("taken"),
            (max - 1, max - 1)
        );
        let refusal = store.take(handoff(2, "")).expect_err("one too many");
        assert_eq!(refusal.status, 413);
        assert!(
            refusal.reason.contains("handoff.maxRequests is"),
            "{}",
            refusal.reason
        );
        let counts = store.close().expect("counted");
        assert_eq!(
            (counts.handed_off, counts.refused, counts.dead_lettered),
            (max - 1, 1, max - 1)
        );
        let refusal = store.take(handoff(1, "")).expect_err("closed");
        assert_eq!(refusal.status, 503);
    }

    #[cfg(feature = "handoff")]
    #[test]
    fn held_bytes_are_bounded_over_all_handoffs() {
        let store = store();
        store.book().stop_at = Some(Instant::now());
        let l = &limits().handoff;
        let body = "x".repeat(l.max_request_bytes);
        let fit = l.max_total_bytes / l.max_request_bytes;
        for _ in 0..fit {
            store.take(handoff(1, &body)).expect("fits");
        }
        let refusal = store.take(handoff(1, &body)).expect_err("too much held");
        assert!(
            refusal.reason.contains("handoff.maxTotalBytes is"),
            "{}",
            refusal.reason
        );
    }
}
