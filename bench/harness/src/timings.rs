//! What one emulated lifecycle says about an extension: pure functions of the
//! emulator's [`Timeline`], so they can be checked on hand-made timelines.

use anyhow::{anyhow, bail};
use graceful_shutdown_emulator::{EventKind, Timeline, PLATFORM, RUNTIME};
use graceful_shutdown_protocol::VERDICT_MARKER;

/// The line the function library logs just before it runs the first handler.
pub const HANDLERS_RUNNING: &str = "graceful-shutdown: running shutdown handlers";
/// The line the function library logs once the last report (`allDone`) is sent.
pub const HANDLERS_DONE: &str = "graceful-shutdown: shutdown handlers done";

/// Timings of one run, in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Timings {
    /// Extension process started → its first `GET /event/next` (blocked, ready).
    pub start_ms: f64,
    /// Extension process started → its `POST /register` received.
    pub register_ms: f64,
    /// `deadlineMs` minus the moment the extension exited.
    pub exit_margin_ms: f64,
    /// Only for the graceful-shutdown layer (the others log no verdict).
    pub shutdown: Option<ShutdownTimings>,
}

/// What the function library and the graceful-shutdown extension did in the shutdown phase.
#[derive(Debug, Clone, PartialEq)]
pub struct ShutdownTimings {
    /// SIGTERM sent to the runtime → the library starts the first handler.
    pub sigterm_to_handler_ms: f64,
    /// The library sent its last report → the extension logged the verdict.
    pub last_report_to_verdict_ms: f64,
    /// SHUTDOWN delivered to the extension → the extension logged the verdict.
    pub shutdown_to_verdict_ms: f64,
}

fn at(
    t: &Timeline,
    source: &str,
    what: &str,
    pred: impl Fn(&EventKind) -> bool,
) -> anyhow::Result<f64> {
    t.find(source, pred)
        .map(|e| e.at_ms)
        .ok_or_else(|| anyhow!("the timeline has no {what} for {source}"))
}

fn line_at(t: &Timeline, source: &str, needle: &str) -> anyhow::Result<f64> {
    t.logs
        .iter()
        .find(|l| l.source == source && l.line.contains(needle))
        .map(|l| l.at_ms)
        .ok_or_else(|| anyhow!("{source} never logged a line containing {needle:?}"))
}

/// Timings of extension `ext` in `t`. `phase_ms` is the shutdown phase length
/// (SHUTDOWN's `deadlineMs` is the phase start plus it). `verdict` asks for the
/// graceful-shutdown timings, which need its verdict and the library's lines.
pub fn timings(t: &Timeline, ext: &str, phase_ms: f64, verdict: bool) -> anyhow::Result<Timings> {
    let started = at(t, ext, "process start", |k| {
        matches!(k, EventKind::Started { .. })
    })?;
    let registered = at(t, ext, "registration", |k| {
        matches!(k, EventKind::Registered { .. })
    })?;
    let ready = at(t, ext, "first /event/next", |k| {
        matches!(k, EventKind::ExtensionReady)
    })?;
    let phase = at(t, PLATFORM, "shutdown phase", |k| {
        matches!(k, EventKind::ShutdownPhase { .. })
    })?;
    let exited = at(t, ext, "exit", |k| matches!(k, EventKind::Exited { .. }))?;
    match t.exit_of(ext) {
        Some((Some(0), None)) => {}
        other => bail!("{ext} did not exit 0 on its own after SHUTDOWN: {other:?}"),
    }
    let shutdown = if verdict {
        let sigterm = at(
            t,
            RUNTIME,
            "SIGTERM",
            |k| matches!(k, EventKind::Signal { signal } if signal == "SIGTERM"),
        )?;
        let running = line_at(t, RUNTIME, HANDLERS_RUNNING)?;
        let done = line_at(t, RUNTIME, HANDLERS_DONE)?;
        let event = at(t, ext, "SHUTDOWN event", |k| {
            matches!(k, EventKind::ShutdownEvent { .. })
        })?;
        let verdict = line_at(t, ext, VERDICT_MARKER)?;
        Some(ShutdownTimings {
            sigterm_to_handler_ms: running - sigterm,
            last_report_to_verdict_ms: verdict - done,
            shutdown_to_verdict_ms: verdict - event,
        })
    } else {
        None
    };
    Ok(Timings {
        start_ms: ready - started,
        register_ms: registered - started,
        exit_margin_ms: phase + phase_ms - exited,
        shutdown,
    })
}

/// What one run of a function with one shutdown handler `handler` showed:
/// the handler writes `start <handler>` as it starts and `<handler>` once its
/// work is done, each on the runtime's output, which the emulator stamps.
#[derive(Debug, Clone, PartialEq)]
pub struct HandlerRun {
    /// The init as the platform counts it (extensions and runtime ready), ms.
    pub init_ms: f64,
    /// SIGTERM to the runtime → `start <handler>`; `None`: it never started.
    pub sigterm_to_start_ms: Option<f64>,
    /// The work was done (its last line written) before the runtime ended,
    /// by itself or by the SIGKILL at the end of its share.
    pub completed: bool,
    /// The runtime was SIGKILLed.
    pub killed: bool,
}

/// The handler's run in `t`; an error when the run never reached the shutdown (no SIGTERM).
pub fn handler_run(t: &Timeline, handler: &str) -> anyhow::Result<HandlerRun> {
    let init_ms = t
        .events
        .iter()
        .find_map(|e| match e.kind {
            EventKind::InitDone { duration_ms } => Some(duration_ms as f64),
            _ => None,
        })
        .ok_or_else(|| anyhow!("the timeline has no init done"))?;
    let sigterm = at(
        t,
        RUNTIME,
        "SIGTERM",
        |k| matches!(k, EventKind::Signal { signal } if signal == "SIGTERM"),
    )?;
    let start_line = format!("start {handler}");
    let started = t
        .logs
        .iter()
        .find(|l| l.source == RUNTIME && l.line == start_line)
        .map(|l| l.at_ms);
    let completed = t
        .logs
        .iter()
        .any(|l| l.source == RUNTIME && l.line == handler);
    let killed = matches!(t.exit_of(RUNTIME), Some((_, Some(s))) if s == "SIGKILL");
    Ok(HandlerRun {
        init_ms,
        sigterm_to_start_ms: started.map(|s| s - sigterm),
        completed,
        killed,
    })
}

/// What the bench's handoff function writes on its output (`bench-handoff-function`).
pub const HANDOFF_LINE: &str = "bench-handoff ";
/// What the extension logs for each handed-off request it delivered.
pub const DELIVERED: &str = "handoff: delivered";

/// What one run of the handoff function showed.
#[derive(Debug, Clone, PartialEq)]
pub struct HandoffRun {
    /// The library's `handoff` from its call to its return, as the handler timed it, ms.
    pub call_ms: f64,
    /// Requests the extension said it took (`accepted`).
    pub accepted: usize,
    /// The handler's own direct POST (when it made one) ended before the runtime did.
    pub direct_done: bool,
    /// SHUTDOWN to the extension → its last `handoff: delivered` line; `None`: none delivered.
    pub shutdown_to_last_delivery_ms: Option<f64>,
    /// `handoff: delivered` lines of the extension.
    pub delivered_lines: usize,
    /// Delivered, as the verdict counts them.
    pub delivered: usize,
}

/// The value of `key=` in a `key=value ...` line.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// The handoff run of extension `ext` in `t`; an error names what is missing
/// (a refused handoff, no verdict).
pub fn handoff_run(t: &Timeline, ext: &str) -> anyhow::Result<HandoffRun> {
    let mut out = t
        .logs
        .iter()
        .filter(|l| l.source == RUNTIME)
        .filter_map(|l| l.line.strip_prefix(HANDOFF_LINE));
    let handed = out
        .clone()
        .find(|l| l.starts_with("handoff_us=") || l.starts_with("refused"))
        .ok_or_else(|| anyhow!("the function never wrote its handoff line"))?;
    let (Some(us), Some(accepted)) = (
        field(handed, "handoff_us").and_then(|v| v.parse::<f64>().ok()),
        field(handed, "accepted").and_then(|v| v.parse::<usize>().ok()),
    ) else {
        bail!("the handoff was not taken: {handed}");
    };
    let direct_done = out.any(|l| l.starts_with("direct_us="));
    let shutdown = at(t, ext, "SHUTDOWN event", |k| {
        matches!(k, EventKind::ShutdownEvent { .. })
    })?;
    let deliveries: Vec<f64> = t
        .logs
        .iter()
        .filter(|l| l.source == ext && l.line.contains(DELIVERED))
        .map(|l| l.at_ms)
        .collect();
    let verdict = t
        .logs
        .iter()
        .find(|l| l.source == ext && l.line.contains(VERDICT_MARKER))
        .ok_or_else(|| anyhow!("{ext} logged no verdict"))?;
    let counts = graceful_shutdown_protocol::verdict::parse(&verdict.line)
        .map_err(|e| anyhow!("{e}"))?
        .verdict
        .handoff
        .ok_or_else(|| anyhow!("the verdict counts no handoff: {}", verdict.line))?;
    Ok(HandoffRun {
        call_ms: us / 1000.0,
        accepted,
        direct_done,
        shutdown_to_last_delivery_ms: deliveries
            .iter()
            .copied()
            .reduce(f64::max)
            .map(|last| last - shutdown),
        delivered_lines: deliveries.len(),
        delivered: counts.delivered,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use graceful_shutdown_emulator::{Event, LogLine, Stream};

    fn ev(at_ms: f64, source: &str, kind: EventKind) -> Event {
        Event {
            at_ms,
            source: source.to_owned(),
            kind,
        }
    }

    fn line(at_ms: f64, source: &str, text: &str) -> LogLine {
        LogLine {
            at_ms,
            source: source.to_owned(),
            stream: Stream::Stdout,
            line: text.to_owned(),
        }
    }

    fn sample() -> Timeline {
        let ext = "graceful-shutdown";
        Timeline {
            events: vec![
                ev(
                    1.0,
                    ext,
                    EventKind::Started {
                        pid: 10,
                        path: "x".to_owned(),
                    },
                ),
                ev(
                    1.2,
                    ext,
                    EventKind::Registered {
                        events: vec!["SHUTDOWN".to_owned()],
                        internal: false,
                    },
                ),
                ev(1.6, ext, EventKind::ExtensionReady),
                ev(
                    100.0,
                    PLATFORM,
                    EventKind::ShutdownPhase {
                        reason: "spindown".to_owned(),
                        deadline_ms: 0,
                        runtime_share_ms: 300,
                    },
                ),
                ev(
                    100.1,
                    RUNTIME,
                    EventKind::Signal {
                        signal: "SIGTERM".to_owned(),
                    },
                ),
                ev(
                    104.0,
                    ext,
                    EventKind::ShutdownEvent {
                        reason: "spindown".to_owned(),
                        deadline_ms: 0,
                    },
                ),
                ev(
                    106.0,
                    ext,
                    EventKind::Exited {
                        code: Some(0),
                        signal: None,
                    },
                ),
            ],
            logs: vec![
                line(
                    100.4,
                    RUNTIME,
                    "INFO graceful-shutdown: running shutdown handlers signal=\"SIGTERM\"",
                ),
                line(
                    101.0,
                    RUNTIME,
                    "INFO graceful-shutdown: shutdown handlers done completed=1",
                ),
                line(105.0, ext, "graceful-shutdown verdict: outcome=completed"),
            ],
        }
    }

    #[test]
    fn measures_start_shutdown_and_margin() {
        let t = timings(&sample(), "graceful-shutdown", 2000.0, true).expect("timings");
        assert!((t.start_ms - 0.6).abs() < 1e-9);
        assert!((t.register_ms - 0.2).abs() < 1e-9);
        assert!((t.exit_margin_ms - 1994.0).abs() < 1e-9);
        let s = t.shutdown.expect("shutdown timings");
        assert!((s.sigterm_to_handler_ms - 0.3).abs() < 1e-9);
        assert!((s.last_report_to_verdict_ms - 4.0).abs() < 1e-9);
        assert!((s.shutdown_to_verdict_ms - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_killed_extension_is_an_error() {
        let mut t = sample();
        // The extension's one exit event becomes a SIGKILL; SHUTDOWN and the
        // rest of the timeline stay as they were.
        let exits: Vec<usize> = (0..t.events.len())
            .filter(|&i| matches!(t.events[i].kind, EventKind::Exited { .. }))
            .collect();
        assert_eq!(exits.len(), 1, "the sample has one exit event");
        t.events[exits[0]].kind = EventKind::Exited {
            code: None,
            signal: Some("SIGKILL".to_owned()),
        };
        assert!(
            t.find("graceful-shutdown", |k| matches!(
                k,
                EventKind::ShutdownEvent { .. }
            ))
            .is_some(),
            "the SHUTDOWN event is still there"
        );
        let e = timings(&t, "graceful-shutdown", 2000.0, false).expect_err("killed");
        assert!(e.to_string().contains("did not exit 0"), "{e}");
    }

    #[test]
    fn a_handler_run_reads_its_start_and_its_end() {
        let mut t = sample();
        t.events
            .push(ev(50.0, PLATFORM, EventKind::InitDone { duration_ms: 42 }));
        t.logs.push(line(112.1, RUNTIME, "start work"));
        let r = handler_run(&t, "work").expect("ran");
        assert_eq!(r.init_ms, 42.0);
        assert!((r.sigterm_to_start_ms.expect("started") - 12.0).abs() < 1e-9);
        assert!(!r.completed && !r.killed);
        t.logs.push(line(312.0, RUNTIME, "work"));
        assert!(handler_run(&t, "work").expect("ran").completed);
        // Another handler's lines are not this one's.
        let other = handler_run(&t, "sigterm-callback").expect("ran");
        assert_eq!((other.sigterm_to_start_ms, other.completed), (None, false));
    }

    #[test]
    fn a_handoff_run_reads_the_call_the_deliveries_and_the_verdict() {
        let ext = "graceful-shutdown";
        let mut t = sample();
        t.logs.retain(|l| !l.line.contains(VERDICT_MARKER));
        t.logs.extend([
            line(100.6, RUNTIME, "bench-handoff handoff_us=450 accepted=2"),
            line(100.7, RUNTIME, "bench-handoff direct start"),
            line(
                150.0,
                ext,
                "graceful-shutdown info: handoff: delivered id=bench-1 attempts=1",
            ),
            line(
                210.5,
                ext,
                "graceful-shutdown info: handoff: delivered id=bench-2 attempts=1",
            ),
            line(
                211.0,
                ext,
                "graceful-shutdown verdict: outcome=completed reason=spindown handlers=1/1 \
                 handoff=2/2 dead_lettered=0 total_ms=1 flush=ok(1ms) -- all 1 shutdown handlers \
                 completed in 1 ms; handoff: 2 of 2 requests delivered",
            ),
        ]);
        let r = handoff_run(&t, ext).expect("handoff run");
        assert!((r.call_ms - 0.45).abs() < 1e-9);
        assert_eq!((r.accepted, r.direct_done), (2, false));
        // SHUTDOWN came at 104.0.
        let last = r.shutdown_to_last_delivery_ms.expect("delivered");
        assert!((last - 106.5).abs() < 1e-9, "{last}");
        assert_eq!((r.delivered_lines, r.delivered), (2, 2));
        t.logs.push(line(
            390.0,
            RUNTIME,
            "bench-handoff direct_us=390000 status=200",
        ));
        assert!(handoff_run(&t, ext).expect("handoff run").direct_done);
    }

    #[test]
    fn a_refused_handoff_is_an_error_that_says_why() {
        let mut t = sample();
        t.logs.push(line(
            100.6,
            RUNTIME,
            "bench-handoff refused status=501 the handoff flavour sends handoffs",
        ));
        let e = handoff_run(&t, "graceful-shutdown").expect_err("refused");
        assert!(e.to_string().contains("status=501"), "{e}");
    }

    #[test]
    fn a_missing_verdict_is_named() {
        let mut t = sample();
        t.logs.pop();
        let e = timings(&t, "graceful-shutdown", 2000.0, true).expect_err("no verdict");
        assert!(e.to_string().contains(VERDICT_MARKER), "{e}");
    }
}
