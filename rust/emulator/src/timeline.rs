//! The timeline: what happened, to whom, when. Events are recorded as they
//! happen, with their offset from the start of the run; process log lines are
//! kept beside them so that the renderer can interleave the two.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Source name of the emulator itself (the platform).
pub const PLATFORM: &str = "lambda";
/// Source name of the function's runtime process (`bootstrap`).
pub const RUNTIME: &str = "runtime";

/// One thing that happened. `source` is `lambda` (the platform), `runtime`, or
/// an extension's name (its file name, or the name it registered with).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Milliseconds since the emulator started, to a tenth of a millisecond.
    pub at_ms: f64,
    pub source: String,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened. Tagged by `kind` in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// The Runtime and Extensions APIs are served at this address.
    Listening { address: String },
    /// A process was started (runtime or external extension).
    Started { pid: u32, path: String },
    /// `POST /extension/register` accepted.
    Registered { events: Vec<String>, internal: bool },
    /// `POST /extension/register` refused.
    RegisterRefused {
        status: u16,
        error_type: String,
        message: String,
    },
    /// An extension called `/event/next` for the first time: it is ready.
    ExtensionReady,
    /// The runtime called `/invocation/next` for the first time: it is ready.
    RuntimeReady,
    /// Every extension and the runtime are ready.
    InitDone { duration_ms: u64 },
    /// A process reported `/init/error`.
    InitErrorReported { error_type: String },
    /// A process reported `/exit/error`.
    ExitErrorReported { error_type: String },
    /// The init phase failed; no invocation is sent.
    InitFailed { error_type: String, message: String },
    /// An invocation was sent to the runtime.
    Invoke { number: u64, request_id: String },
    /// An INVOKE event was delivered to a subscribed extension.
    InvokeEvent { request_id: String },
    /// The runtime posted a response.
    Response {
        request_id: String,
        bytes: usize,
        duration_ms: u64,
    },
    /// The runtime posted an error.
    FunctionError {
        request_id: String,
        error_type: String,
    },
    /// The invocation did not complete within the function timeout.
    InvokeTimeout { request_id: String, timeout_ms: u64 },
    /// The runtime went away during the invocation.
    InvokeFailed {
        request_id: String,
        error_type: String,
    },
    /// The shutdown phase began.
    ShutdownPhase {
        reason: String,
        deadline_ms: u64,
        runtime_share_ms: u64,
    },
    /// A signal was sent to the source's process group.
    Signal { signal: String },
    /// A SHUTDOWN event was delivered to the extension.
    ShutdownEvent { reason: String, deadline_ms: u64 },
    /// The process exited (`code`) or was killed (`signal`).
    Exited {
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<i32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        signal: Option<String>,
    },
    /// The shutdown phase is over: every process is gone.
    ShutdownDone { duration_ms: u64 },
    /// The environment became idle: the runtime is blocked in
    /// `/invocation/next` after its last answer and every INVOKE-subscribed
    /// extension in `/event/next`. `waited_ms`: since the last answer.
    Idle { waited_ms: u64 },
    /// The environment's processes were frozen (`method`: how).
    Frozen { method: String },
    /// The environment's processes were thawed.
    Thawed { method: String },
    /// A note from the platform (for example, why the runtime got no SIGTERM).
    Note { message: String },
}

/// Which stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One line a process printed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    pub at_ms: f64,
    pub source: String,
    pub stream: Stream,
    pub line: String,
}

/// Everything recorded during one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    pub events: Vec<Event>,
    pub logs: Vec<LogLine>,
}

impl Timeline {
    /// Index of the first event from `source` for which `pred` holds.
    pub fn position(&self, source: &str, pred: impl Fn(&EventKind) -> bool) -> Option<usize> {
        self.events
            .iter()
            .position(|e| e.source == source && pred(&e.kind))
    }

    /// The first event from `source` for which `pred` holds.
    pub fn find(&self, source: &str, pred: impl Fn(&EventKind) -> bool) -> Option<&Event> {
        self.position(source, pred).map(|i| &self.events[i])
    }

    /// Every event from `source`, in order.
    pub fn of<'a>(&'a self, source: &'a str) -> impl Iterator<Item = &'a Event> + 'a {
        self.events.iter().filter(move |e| e.source == source)
    }

    /// Signals sent to `source`, in order (`SIGTERM`, `SIGKILL`).
    pub fn signals(&self, source: &str) -> Vec<String> {
        self.of(source)
            .filter_map(|e| match &e.kind {
                EventKind::Signal { signal } => Some(signal.clone()),
                _ => None,
            })
            .collect()
    }

    /// How the process of `source` ended, if it did: `(code, signal)`.
    pub fn exit_of(&self, source: &str) -> Option<(Option<i32>, Option<String>)> {
        self.of(source).find_map(|e| match &e.kind {
            EventKind::Exited { code, signal } => Some((*code, signal.clone())),
            _ => None,
        })
    }

    /// Lines printed by `source`, in order.
    pub fn lines_of<'a>(&'a self, source: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.logs
            .iter()
            .filter(move |l| l.source == source)
            .map(|l| l.line.as_str())
    }

    /// The first log line, from any process, that contains `needle`.
    pub fn line_containing(&self, needle: &str) -> Option<&LogLine> {
        self.logs.iter().find(|l| l.line.contains(needle))
    }

    /// The extension's verdict line (`graceful-shutdown verdict: ...`, or its JSON form).
    pub fn verdict_line(&self) -> Option<&str> {
        self.line_containing(graceful_shutdown_protocol::VERDICT_MARKER)
            .map(|l| l.line.as_str())
    }

    /// The init failure, if init failed.
    pub fn init_failure(&self) -> Option<(&str, &str)> {
        self.events.iter().find_map(|e| match &e.kind {
            EventKind::InitFailed {
                error_type,
                message,
            } => Some((error_type.as_str(), message.as_str())),
            _ => None,
        })
    }
}

/// Records events and log lines from many tasks. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Recorder {
    start: Instant,
    inner: Arc<Mutex<Timeline>>,
    /// Leave out per-invocation events (long soak runs keep a flat timeline).
    quiet_invocations: Arc<AtomicBool>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    pub fn new() -> Self {
        Recorder {
            start: Instant::now(),
            inner: Arc::new(Mutex::new(Timeline::default())),
            quiet_invocations: Arc::new(AtomicBool::new(false)),
        }
    }

    /// When the run started.
    pub fn start(&self) -> Instant {
        self.start
    }

    fn now_ms(&self) -> f64 {
        self.ms_at(Instant::now())
    }

    /// Milliseconds from the start of the run to `at`, to a tenth of a millisecond.
    fn ms_at(&self, at: Instant) -> f64 {
        (at.saturating_duration_since(self.start).as_micros() as f64 / 100.0).round() / 10.0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Timeline> {
        // A panic while holding the lock cannot leave a Timeline half-written
        // (each write is one push), so a poisoned lock is safe to keep using.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stop (or resume) recording per-invocation events.
    pub fn set_quiet_invocations(&self, quiet: bool) {
        self.quiet_invocations.store(quiet, Ordering::Relaxed);
    }

    pub fn event(&self, source: &str, kind: EventKind) {
        if self.quiet_invocations.load(Ordering::Relaxed)
            && matches!(
                kind,
                EventKind::Invoke { .. }
                    | EventKind::InvokeEvent { .. }
                    | EventKind::Response { .. }
                    | EventKind::FunctionError { .. }
                    | EventKind::Idle { .. }
                    | EventKind::Frozen { .. }
                    | EventKind::Thawed { .. }
            )
        {
            return;
        }
        // The time is read under the lock, so events pushed from different
        // threads stay in time order.
        let mut timeline = self.lock();
        let at_ms = self.now_ms();
        timeline.events.push(Event {
            at_ms,
            source: source.to_owned(),
            kind,
        });
    }

    /// Records an event that happened at `at`, taken before it could be
    /// recorded (a process is started before its pid is known, and may
    /// already have called the API by then), keeping the events in time order.
    pub fn event_at(&self, source: &str, at: Instant, kind: EventKind) {
        let at_ms = self.ms_at(at);
        let mut timeline = self.lock();
        let index = timeline.events.partition_point(|e| e.at_ms <= at_ms);
        timeline.events.insert(
            index,
            Event {
                at_ms,
                source: source.to_owned(),
                kind,
            },
        );
    }

    pub fn log(&self, source: &str, stream: Stream, line: String) {
        let mut timeline = self.lock();
        let at_ms = self.now_ms();
        timeline.logs.push(LogLine {
            at_ms,
            source: source.to_owned(),
            stream,
            line,
        });
    }

    /// A copy of everything recorded so far.
    pub fn snapshot(&self) -> Timeline {
        self.lock().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_recorded_late_takes_its_place_in_time() {
        let rec = Recorder::new();
        let spawning = Instant::now();
        std::thread::sleep(std::time::Duration::from_millis(2));
        rec.event("ext", EventKind::ExtensionReady);
        rec.event_at(
            "ext",
            spawning,
            EventKind::Started {
                pid: 1,
                path: "ext".to_owned(),
            },
        );
        let t = rec.snapshot();
        assert!(
            matches!(t.events[0].kind, EventKind::Started { .. }),
            "{t:?}"
        );
        assert!(t.events[0].at_ms < t.events[1].at_ms, "{t:?}");
    }
}
