//! The human timeline: one line per event or log line, in time order, with
//! millisecond offsets; process log lines are prefixed with `|`.

use std::fmt::Write as _;

use crate::timeline::{EventKind, Stream, Timeline};

/// Describes one event in words.
pub fn describe(kind: &EventKind) -> String {
    match kind {
        EventKind::Listening { address } => format!("Runtime API and Extensions API listening on {address}"),
        EventKind::Started { pid, path } => format!("started (pid {pid}, {path})"),
        EventKind::Registered { events, internal } => {
            let events = if events.is_empty() { "no events".to_owned() } else { events.join(", ") };
            let kind = if *internal { "internal extension: name matches no file in extensions/" } else { "external" };
            format!("registered for {events} ({kind})")
        }
        EventKind::RegisterRefused { status, error_type, message } => {
            format!("register refused: {status} {error_type}: {message}")
        }
        EventKind::ExtensionReady => "ready (called /event/next)".to_owned(),
        EventKind::RuntimeReady => "ready (called /invocation/next)".to_owned(),
        EventKind::InitDone { duration_ms } => format!("init done in {duration_ms} ms"),
        EventKind::InitErrorReported { error_type } => format!("reported /init/error {error_type}"),
        EventKind::ExitErrorReported { error_type } => format!("reported /exit/error {error_type}"),
        EventKind::InitFailed { error_type, message } => format!("INIT FAILED {error_type}: {message}"),
        EventKind::Invoke { number, request_id } => format!("invoke #{number} ({request_id})"),
        EventKind::InvokeEvent { request_id } => format!("got INVOKE {request_id}"),
        EventKind::Response { request_id, bytes, duration_ms } => {
            format!("response to {request_id}: {bytes} bytes after {duration_ms} ms")
        }
        EventKind::FunctionError { request_id, error_type } => format!("error for {request_id}: {error_type}"),
        EventKind::InvokeTimeout { request_id, timeout_ms } => {
            format!("invoke {request_id} TIMED OUT after {timeout_ms} ms")
        }
        EventKind::InvokeFailed { request_id, error_type } => format!("invoke {request_id} FAILED: {error_type}"),
        EventKind::ShutdownPhase { reason, deadline_ms, runtime_share_ms } => format!(
            "shutdown phase, reason {reason}, deadlineMs {deadline_ms}, runtime share {runtime_share_ms} ms"
        ),
        EventKind::Signal { signal } => format!("<- {signal}"),
        EventKind::ShutdownEvent { reason, deadline_ms } => {
            format!("<- SHUTDOWN (shutdownReason {reason}, deadlineMs {deadline_ms})")
        }
        EventKind::Exited { code: Some(c), .. } => format!("exited with code {c}"),
        EventKind::Exited { signal: Some(s), .. } => format!("killed by {s}"),
        EventKind::Exited { .. } => "exited".to_owned(),
        EventKind::ShutdownDone { duration_ms } => format!("shutdown done in {duration_ms} ms"),
        EventKind::Idle { waited_ms } => format!(
            "idle after {waited_ms} ms: the runtime waits in /invocation/next, every INVOKE-subscribed extension in /event/next"
        ),
        EventKind::Frozen { method } => format!("frozen ({method})"),
        EventKind::Thawed { method } => format!("thawed ({method})"),
        EventKind::Note { message } => message.clone(),
    }
}

/// Renders the whole timeline as text.
pub fn render(timeline: &Timeline) -> String {
    let width = timeline
        .events
        .iter()
        .map(|e| e.source.len())
        .chain(timeline.logs.iter().map(|l| l.source.len()))
        .max()
        .unwrap_or(6)
        .max(6);
    // Merge by time; at equal times, events come before log lines.
    let mut rows: Vec<(f64, u8, String)> =
        Vec::with_capacity(timeline.events.len() + timeline.logs.len());
    for e in &timeline.events {
        rows.push((
            e.at_ms,
            0,
            format!("{:<width$}  {}", e.source, describe(&e.kind)),
        ));
    }
    for l in &timeline.logs {
        let bar = match l.stream {
            Stream::Stdout => '|',
            Stream::Stderr => '!',
        };
        rows.push((
            l.at_ms,
            1,
            format!("{:<width$}  {bar} {}", l.source, l.line),
        ));
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut out = String::new();
    for (at, _, text) in rows {
        let _ = writeln!(out, "{at:>9.1} ms  {text}");
    }
    out
}
