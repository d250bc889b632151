//! The one check of a run against a case's expectations (`expectKeys` of
//! `tests/cases/shutdown.json`), whatever ran it (the lifecycle emulator or
//! AWS's Runtime Interface Emulator) and whatever language the probe is in.

use graceful_shutdown_emulator::{EventKind, Timeline, PLATFORM, RUNTIME};
use graceful_shutdown_protocol::verdict::{self, Form, Parsed};
use graceful_shutdown_protocol::EXTENSION_NAME;
use serde::Serialize;

use crate::cases::{Case, EXPECT_KEYS};

/// A signal the driver itself sent to the runtime (extra SIGTERMs, a kill).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentSignal {
    /// On the timeline's clock (milliseconds since the run started).
    pub at_ms: f64,
    pub signal: String,
}

/// What one run showed, from either backend.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Observed {
    /// Init succeeded and every invocation was answered. `None`: the
    /// backend cannot tell (the RIE).
    pub lifecycle_ok: Option<bool>,
    /// The emulator's timeline; `None` under the RIE, whose log is only lines.
    pub timeline: Option<Timeline>,
    /// The runtime's own output lines.
    pub runtime_lines: Vec<String>,
    /// The extension's verdict line, as logged.
    pub verdict_line: Option<String>,
    /// The probe's `PROBE_OUTPUT` lines.
    pub output: Vec<String>,
    /// Signals the driver sent to the runtime itself.
    pub sent: Vec<SentSignal>,
    /// Every line of the run's log, for failure messages (the RIE's log).
    pub log: Vec<String>,
    /// What the driver could not do (a signal it could not send, say):
    /// each fails the case.
    pub problems: Vec<String>,
}

impl Observed {
    /// The verdict line, parsed (`graceful_shutdown_protocol::verdict`).
    pub fn verdict(&self) -> Option<Result<Parsed, verdict::ParseError>> {
        self.verdict_line.as_deref().map(verdict::parse)
    }

    /// The signals the runtime got, in time order: the platform's and the driver's.
    pub fn runtime_signals(&self) -> Option<Vec<String>> {
        let t = self.timeline.as_ref()?;
        let mut all: Vec<(f64, String)> = t
            .of(RUNTIME)
            .filter_map(|e| match &e.kind {
                EventKind::Signal { signal } => Some((e.at_ms, signal.clone())),
                _ => None,
            })
            .chain(self.sent.iter().map(|s| (s.at_ms, s.signal.clone())))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        Some(all.into_iter().map(|(_, s)| s).collect())
    }
}

/// How a process ended, as the cases write it: `code:<n>` or `signal:<NAME>`.
pub fn exit_word(t: &Timeline, source: &str) -> Option<String> {
    t.exit_of(source)
        .map(|(code, signal)| match (code, signal) {
            (Some(c), _) => format!("code:{c}"),
            (None, Some(s)) => format!("signal:{s}"),
            (None, None) => "unknown".to_owned(),
        })
}

/// How the checks read a run.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    /// How this runtime ends when it ends by itself: a case's `runtimeExit`
    /// of `code:0` is checked as this (`None`: as `code:0`). A Node.js
    /// function on the official client ends by the SIGTERM it got, since
    /// `process.exit()` hangs there.
    pub clean_exit: Option<String>,
    /// Expectations not checked, named as `--leave-out` takes them: a key
    /// of `expectKeys`, or `statuses.<handler>`.
    pub leave_out: Vec<String>,
}

/// Whether `--leave-out` names something the check knows.
pub fn known_leave_out(name: &str) -> bool {
    EXPECT_KEYS.contains(&name)
        || name
            .strip_prefix("statuses.")
            .is_some_and(|h| !h.is_empty())
}

/// The keys the RIE backend can check: the verdict, the probe's output and
/// the runtime's log. Its shutdown reason is `SandboxTerminated`, and its
/// log is no timeline, so the reason and the lifecycle keys are not read.
pub const RIE_KEYS: [&str; 11] = [
    "outcome",
    "handlers",
    "statuses",
    "verdictEndsWith",
    "verdictContains",
    "jsonVerdict",
    "output",
    "outputContains",
    "outputLacks",
    "outputCount",
    "runtimeLogContains",
];

/// Every expectation of `case` that fails for `seen`, each as one sentence.
/// `keys`: the keys this backend checks (`None`: all).
pub fn check(
    case: &Case,
    seen: &Observed,
    reading: &Reading,
    keys: Option<&[&str]>,
) -> Vec<String> {
    let e = &case.expect;
    let mut why = seen.problems.clone();
    let wanted = |key: &str| {
        !reading.leave_out.iter().any(|l| l == key) && keys.is_none_or(|k| k.contains(&key))
    };
    let parsed = match seen.verdict() {
        Some(Ok(p)) => Some(p),
        Some(Err(err)) => {
            why.push(format!("the verdict line does not parse: {err}"));
            None
        }
        None => None,
    };
    let needs_verdict = [
        "reason",
        "outcome",
        "handlers",
        "statuses",
        "verdictEndsWith",
        "verdictContains",
        "jsonVerdict",
    ];
    let asked = |key: &str| match key {
        "reason" => e.reason.is_some(),
        "outcome" => e.outcome.is_some(),
        "handlers" => e.handlers.is_some(),
        "statuses" => e.statuses.is_some(),
        "verdictEndsWith" => e.verdict_ends_with.is_some(),
        "verdictContains" => e.verdict_contains.is_some(),
        "jsonVerdict" => e.json_verdict.is_some(),
        _ => false,
    };
    if seen.verdict_line.is_none() && needs_verdict.iter().any(|k| asked(k) && wanted(k)) {
        why.push("no verdict line".to_owned());
    }
    let line = seen.verdict_line.as_deref().unwrap_or_default();

    if let Some(want) = e.lifecycle_ok.filter(|_| wanted("lifecycleOk")) {
        match seen.lifecycle_ok {
            Some(got) if got == want => {}
            got => why.push(format!("lifecycleOk: {got:?}, want {want}")),
        }
    }
    if e.no_verdict == Some(true) && wanted("noVerdict") && seen.verdict_line.is_some() {
        why.push(format!("noVerdict: the extension logged one: {line}"));
    }
    if let Some(p) = &parsed {
        let v = &p.verdict;
        if let Some(want) = e.reason.as_ref().filter(|_| wanted("reason")) {
            if v.reason.as_str() != want {
                why.push(format!("reason: {:?}, want {want:?}", v.reason.as_str()));
            }
        }
        if let Some(want) = e.outcome.as_ref().filter(|_| wanted("outcome")) {
            if v.outcome.as_str() != want {
                why.push(format!("outcome: {:?}, want {want:?}", v.outcome.as_str()));
            }
        }
        if let Some(want) = e.handlers.as_ref().filter(|_| wanted("handlers")) {
            let got = format!(
                "{}/{}",
                v.count(graceful_shutdown_protocol::verdict::HandlerStatus::Ok),
                v.handlers.len()
            );
            if &got != want {
                why.push(format!("handlers: {got}, want {want}"));
            }
        }
        if let Some(statuses) = e.statuses.as_ref().filter(|_| wanted("statuses")) {
            for (name, want) in &statuses.0 {
                if !wanted(&format!("statuses.{name}")) {
                    continue;
                }
                match v.handler(name) {
                    Some(h) if h.status.as_str() == want => {}
                    Some(h) => why.push(format!("{name}: {}, want {want}", h.status.as_str())),
                    None => why.push(format!("{name}: not in the verdict, want {want}")),
                }
            }
        }
        if let Some(want) = e.json_verdict.as_ref().filter(|_| wanted("jsonVerdict")) {
            if p.form != Form::Json {
                why.push("jsonVerdict: the verdict is not JSON".to_owned());
            } else {
                for (i, w) in want.iter().enumerate() {
                    let Some(got) = v.handlers.get(i) else {
                        why.push(format!(
                            "jsonVerdict: no handler at position {i}, want {}",
                            w.name
                        ));
                        continue;
                    };
                    if got.name != w.name || got.status.as_str() != w.status {
                        why.push(format!(
                            "jsonVerdict[{i}]: {} {}, want {} {}",
                            got.name,
                            got.status.as_str(),
                            w.name,
                            w.status
                        ));
                    }
                    if let Some(text) = &w.error_contains {
                        if !got
                            .error
                            .as_deref()
                            .unwrap_or_default()
                            .contains(text.as_str())
                        {
                            why.push(format!(
                                "jsonVerdict[{i}]: error {:?} does not contain {text:?}",
                                got.error
                            ));
                        }
                    }
                }
            }
        }
    }
    if let Some(want) = e
        .verdict_ends_with
        .as_ref()
        .filter(|_| wanted("verdictEndsWith"))
    {
        if seen.verdict_line.is_some() && !line.ends_with(want.as_str()) {
            why.push(format!(
                "verdictEndsWith: the verdict does not end with {want:?}"
            ));
        }
    }
    for text in e
        .verdict_contains
        .iter()
        .flatten()
        .filter(|_| wanted("verdictContains"))
    {
        if seen.verdict_line.is_some() && !line.contains(text.as_str()) {
            why.push(format!("verdictContains: the verdict lacks {text:?}"));
        }
    }

    if let Some(want) = e
        .runtime_signals
        .as_ref()
        .filter(|_| wanted("runtimeSignals"))
    {
        match seen.runtime_signals() {
            Some(got) if &got == want => {}
            got => why.push(format!("runtimeSignals: {got:?}, want {want:?}")),
        }
    }
    let timeline = seen.timeline.as_ref();
    if let Some(want) = e.runtime_exit.as_ref().filter(|_| wanted("runtimeExit")) {
        let want = match (&reading.clean_exit, want.as_str()) {
            (Some(clean), "code:0") => clean.clone(),
            _ => want.clone(),
        };
        let got = timeline.and_then(|t| exit_word(t, RUNTIME));
        if got.as_deref() != Some(want.as_str()) {
            why.push(format!("runtimeExit: {got:?}, want {want}"));
        }
    }
    if let Some(want) = e
        .extension_exit
        .as_ref()
        .filter(|_| wanted("extensionExit"))
    {
        let got = timeline.and_then(|t| exit_word(t, EXTENSION_NAME));
        if got.as_deref() != Some(want.as_str()) {
            why.push(format!("extensionExit: {got:?}, want {want}"));
        }
    }
    if let Some(limit) = e
        .runtime_exit_within_ms_of_sigterm
        .filter(|_| wanted("runtimeExitWithinMsOfSigterm"))
    {
        let term = timeline.and_then(|t| {
            t.find(
                RUNTIME,
                |k| matches!(k, EventKind::Signal { signal } if signal == "SIGTERM"),
            )
            .map(|e| e.at_ms)
        });
        let gone = timeline.and_then(|t| {
            t.find(RUNTIME, |k| matches!(k, EventKind::Exited { .. }))
                .map(|e| e.at_ms)
        });
        match (term, gone) {
            (Some(term), Some(gone)) if gone - term <= limit as f64 => {}
            (Some(term), Some(gone)) => why.push(format!(
                "runtimeExitWithinMsOfSigterm: the runtime exited {:.1} ms after SIGTERM, want at most {limit}",
                gone - term
            )),
            _ => why.push(format!(
                "runtimeExitWithinMsOfSigterm: no SIGTERM ({term:?}) or no exit ({gone:?})"
            )),
        }
    }

    let out = &seen.output;
    if let Some(want) = e.output.as_ref().filter(|_| wanted("output")) {
        if out != want {
            why.push(format!("output: {out:?}, want {want:?}"));
        }
    }
    for l in e
        .output_contains
        .iter()
        .flatten()
        .filter(|_| wanted("outputContains"))
    {
        if !out.contains(l) {
            why.push(format!("outputContains: {l:?} missing from {out:?}"));
        }
    }
    for l in e
        .output_lacks
        .iter()
        .flatten()
        .filter(|_| wanted("outputLacks"))
    {
        if out.contains(l) {
            why.push(format!("outputLacks: {l:?} present in {out:?}"));
        }
    }
    for (l, n) in e
        .output_count
        .iter()
        .flat_map(|c| c.0.iter())
        .filter(|_| wanted("outputCount"))
    {
        let got = out.iter().filter(|x| *x == l).count();
        if got != *n {
            why.push(format!("outputCount: {l:?} {got} times, want {n}"));
        }
    }
    for text in e
        .runtime_log_contains
        .iter()
        .flatten()
        .filter(|_| wanted("runtimeLogContains"))
    {
        if !seen.runtime_lines.iter().any(|l| l.contains(text.as_str())) {
            why.push(format!(
                "runtimeLogContains: no runtime line contains {text:?}"
            ));
        }
    }
    why
}

/// What every run with the layer shows, whatever the case, in Lambda's
/// order: the shutdown phase before any SIGTERM to the runtime, the runtime
/// gone before SHUTDOWN reaches the extension, which is never signalled,
/// exits 0 by itself, and logs its verdict (if any) after SHUTDOWN.
pub fn lambda_order(t: &Timeline) -> Vec<String> {
    let mut why = Vec::new();
    let at = |source: &str, pred: &dyn Fn(&EventKind) -> bool| {
        t.events
            .iter()
            .find(|e| e.source == source && pred(&e.kind))
            .map(|e| e.at_ms)
    };
    let phase = at(PLATFORM, &|k| matches!(k, EventKind::ShutdownPhase { .. }));
    let term = at(
        RUNTIME,
        &|k| matches!(k, EventKind::Signal { signal } if signal == "SIGTERM"),
    );
    let gone = at(RUNTIME, &|k| matches!(k, EventKind::Exited { .. }));
    let shutdown = at(EXTENSION_NAME, &|k| {
        matches!(k, EventKind::ShutdownEvent { .. })
    });
    if let (Some(phase), Some(term)) = (phase, term) {
        if term < phase {
            why.push("Lambda's order: SIGTERM to the runtime before the shutdown phase".to_owned());
        }
    }
    match (gone, shutdown) {
        (Some(gone), Some(shutdown)) if gone <= shutdown => {}
        (gone, shutdown) => why.push(format!(
            "Lambda's order: the runtime gone ({gone:?} ms) before SHUTDOWN to the extension ({shutdown:?} ms)"
        )),
    }
    if !t.signals(EXTENSION_NAME).is_empty() {
        why.push(format!(
            "the extension was signalled: {:?}",
            t.signals(EXTENSION_NAME)
        ));
    }
    if exit_word(t, EXTENSION_NAME).as_deref() != Some("code:0") {
        why.push(format!(
            "the extension did not exit 0 by itself: {:?}",
            exit_word(t, EXTENSION_NAME)
        ));
    }
    if let (Some(verdict), Some(shutdown)) = (
        t.line_containing(graceful_shutdown_protocol::VERDICT_MARKER),
        shutdown,
    ) {
        if verdict.at_ms < shutdown {
            why.push("the verdict was logged before SHUTDOWN".to_owned());
        }
    }
    why
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::load;
    use graceful_shutdown_emulator::{Event, LogLine, Stream};

    fn event(at_ms: f64, source: &str, kind: EventKind) -> Event {
        Event {
            at_ms,
            source: source.to_owned(),
            kind,
        }
    }

    fn case(name: &str) -> Case {
        load(None)
            .expect("the cases read")
            .into_iter()
            .find(|c| c.name == name)
            .expect("the case is there")
    }

    /// What `a_second_sigterm_does_not_run_the_handlers_twice` shows when it passes.
    fn second_sigterm_run() -> Observed {
        let line = "graceful-shutdown verdict: outcome=completed reason=spindown handlers=1/1 total_ms=101 \
                    slow=ok(100ms) -- all 1 shutdown handlers completed in 101 ms";
        let t = Timeline {
            events: vec![
                event(
                    10.0,
                    PLATFORM,
                    EventKind::ShutdownPhase {
                        reason: "spindown".into(),
                        deadline_ms: 0,
                        runtime_share_ms: 300,
                    },
                ),
                event(
                    11.0,
                    RUNTIME,
                    EventKind::Signal {
                        signal: "SIGTERM".into(),
                    },
                ),
                event(
                    120.0,
                    RUNTIME,
                    EventKind::Exited {
                        code: Some(0),
                        signal: None,
                    },
                ),
                event(
                    121.0,
                    EXTENSION_NAME,
                    EventKind::ShutdownEvent {
                        reason: "spindown".into(),
                        deadline_ms: 0,
                    },
                ),
                event(
                    125.0,
                    EXTENSION_NAME,
                    EventKind::Exited {
                        code: Some(0),
                        signal: None,
                    },
                ),
            ],
            logs: vec![
                LogLine {
                    at_ms: 30.0,
                    source: RUNTIME.into(),
                    stream: Stream::Stdout,
                    line: "SIGTERM received again: ignored".into(),
                },
                LogLine {
                    at_ms: 122.0,
                    source: EXTENSION_NAME.into(),
                    stream: Stream::Stdout,
                    line: line.into(),
                },
            ],
        };
        Observed {
            lifecycle_ok: Some(true),
            runtime_lines: vec!["SIGTERM received again: ignored".into()],
            verdict_line: Some(line.into()),
            timeline: Some(t),
            output: vec!["invoke 1".into(), "start slow".into(), "slow".into()],
            sent: vec![
                SentSignal {
                    at_ms: 20.0,
                    signal: "SIGTERM".into(),
                },
                SentSignal {
                    at_ms: 21.0,
                    signal: "SIGTERM".into(),
                },
            ],
            ..Observed::default()
        }
    }

    #[test]
    fn the_drivers_signals_count_with_the_platforms_in_time_order() {
        let c = case("a_second_sigterm_does_not_run_the_handlers_twice");
        let seen = second_sigterm_run();
        assert_eq!(
            check(&c, &seen, &Reading::default(), None),
            Vec::<String>::new()
        );
        assert!(lambda_order(seen.timeline.as_ref().expect("a timeline")).is_empty());
        let mut one_short = seen.clone();
        one_short.sent.pop();
        let why = check(&c, &one_short, &Reading::default(), None);
        assert_eq!(why.len(), 1, "{why:?}");
        assert!(why[0].starts_with("runtimeSignals: "), "{why:?}");
    }

    #[test]
    fn clean_exit_leave_out_and_problems() {
        let c = case("a_second_sigterm_does_not_run_the_handlers_twice");
        let mut seen = second_sigterm_run();
        if let Some(t) = seen.timeline.as_mut() {
            t.events[2].kind = EventKind::Exited {
                code: None,
                signal: Some("SIGTERM".into()),
            };
        }
        let why = check(&c, &seen, &Reading::default(), None);
        assert_eq!(why, ["runtimeExit: Some(\"signal:SIGTERM\"), want code:0"]);
        let node = Reading {
            clean_exit: Some("signal:SIGTERM".into()),
            ..Reading::default()
        };
        assert!(check(&c, &seen, &node, None).is_empty());
        let left = Reading {
            leave_out: vec!["runtimeExit".into()],
            ..Reading::default()
        };
        assert!(check(&c, &seen, &left, None).is_empty());
        seen.problems
            .push("the probe never wrote \"start \"".into());
        assert_eq!(
            check(&c, &seen, &node, None),
            ["the probe never wrote \"start \""]
        );
    }

    #[test]
    fn a_verdict_that_does_not_parse_or_is_missing_fails() {
        let c = case("a_second_sigterm_does_not_run_the_handlers_twice");
        let mut seen = second_sigterm_run();
        seen.verdict_line = Some("graceful-shutdown verdict: outcome=great".into());
        let why = check(&c, &seen, &Reading::default(), None);
        assert!(
            why[0].starts_with("the verdict line does not parse"),
            "{why:?}"
        );
        seen.verdict_line = None;
        let why = check(&c, &seen, &Reading::default(), None);
        assert_eq!(why, ["no verdict line"]);
        // Under the RIE only its keys are read: no timeline needed.
        let c = case("all_handlers_complete");
        let mut rie = second_sigterm_run();
        rie.timeline = None;
        rie.lifecycle_ok = None;
        let why = check(&c, &rie, &Reading::default(), Some(&RIE_KEYS));
        assert!(
            why.iter()
                .all(|w| !w.starts_with("runtime") && !w.starts_with("lifecycle")),
            "{why:?}"
        );
    }
}
