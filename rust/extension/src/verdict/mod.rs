//! The verdict: the one line the extension logs on SHUTDOWN, decided from
//! the reports it received. Deciding is a pure function of the reports:
//! here for one worker, in [`workers`] for several; [`text`] writes it.

mod text;
mod workers;

use graceful_shutdown_protocol::{Report, ShutdownReason, WorkerReport};

// The verdict's data types live beside their one parser in the protocol
// crate (`graceful_shutdown_protocol::verdict`); deciding and writing the
// verdict is done here.
pub use graceful_shutdown_protocol::verdict::{
    HandlerResult, HandlerStatus, HandoffCounts, Outcome, Verdict, WorkerVerdict,
};
pub use text::Written;

/// Deciding a verdict from the reports: the extension's own part.
pub trait Decide: Sized {
    /// Decide the verdict from the reports received, in arrival order, as
    /// from one process (whatever `worker` they carried). The extension
    /// itself decides with [`Decide::decide_workers`]; tests compare the two.
    #[cfg(test)]
    fn decide(reason: &ShutdownReason, reports: &[Report]) -> Self;

    /// Decide the verdict from the reports received, in arrival order, each
    /// with the worker that sent it. From one worker (named or not) this is
    /// exactly [`Decide::decide`]; from several, see [`workers`].
    fn decide_workers(reason: &ShutdownReason, reports: &[WorkerReport]) -> Self;

    /// [`Decide::decide`] for one worker's reports, keeping at most
    /// `max_index + 1` handler slots (indexes come from the network: an
    /// index beyond lands in the last slot).
    fn decide_one<'a>(
        reason: &ShutdownReason,
        reports: impl IntoIterator<Item = &'a Report>,
        max_index: usize,
    ) -> Self;
}

impl Decide for Verdict {
    #[cfg(test)]
    fn decide(reason: &ShutdownReason, reports: &[Report]) -> Verdict {
        let max_index = graceful_shutdown_protocol::limits()
            .verdict
            .max_handlers_per_worker;
        Verdict::decide_one(reason, reports, max_index)
    }

    fn decide_workers(reason: &ShutdownReason, reports: &[WorkerReport]) -> Verdict {
        workers::decide(reason, reports)
    }

    fn decide_one<'a>(
        reason: &ShutdownReason,
        reports: impl IntoIterator<Item = &'a Report>,
        max_index: usize,
    ) -> Verdict {
        let mut handlers: Vec<HandlerResult> = Vec::new();
        let mut saw_any = false;
        let mut signal = None;
        let mut total_ms = None;
        let mut budget_ms = None;

        fn slot<'a>(
            handlers: &'a mut Vec<HandlerResult>,
            max_index: usize,
            index: usize,
            name: &str,
        ) -> &'a mut HandlerResult {
            // Indexes come from the network: never allocate more than a report could name.
            let index = index.min(max_index);
            while handlers.len() <= index {
                handlers.push(HandlerResult {
                    name: String::new(),
                    status: HandlerStatus::NotStarted,
                    duration_ms: None,
                    error: None,
                    worker: None,
                });
            }
            let h = &mut handlers[index];
            if h.name.is_empty() {
                h.name = name.to_owned();
            }
            h
        }

        for report in reports {
            match report {
                Report::Hello {
                    handlers: names,
                    first_index,
                    timeout_ms,
                    ..
                } => {
                    saw_any = true;
                    budget_ms = budget_ms.or(Some(*timeout_ms));
                    for (i, name) in names.iter().enumerate() {
                        let index = first_index.saturating_add(i);
                        if index > max_index {
                            break;
                        }
                        slot(&mut handlers, max_index, index, name);
                    }
                }
                Report::ShutdownStarted { signal: s } => {
                    saw_any = true;
                    signal = Some(s.clone());
                }
                Report::Started { handler, index } => {
                    saw_any = true;
                    slot(&mut handlers, max_index, *index, handler).status = HandlerStatus::Running;
                }
                Report::Finished {
                    handler,
                    index,
                    duration_ms,
                } => {
                    saw_any = true;
                    let h = slot(&mut handlers, max_index, *index, handler);
                    h.status = HandlerStatus::Ok;
                    h.duration_ms = Some(*duration_ms);
                }
                Report::Failed {
                    handler,
                    index,
                    duration_ms,
                    error,
                } => {
                    saw_any = true;
                    let h = slot(&mut handlers, max_index, *index, handler);
                    h.status = HandlerStatus::Failed;
                    h.duration_ms = Some(*duration_ms);
                    h.error = Some(error.clone());
                }
                Report::TimedOut {
                    handler,
                    index,
                    duration_ms,
                } => {
                    saw_any = true;
                    let h = slot(&mut handlers, max_index, *index, handler);
                    h.status = HandlerStatus::TimedOut;
                    h.duration_ms = Some(*duration_ms);
                }
                Report::AllDone { total_ms: t, .. } => {
                    saw_any = true;
                    total_ms = Some(*t);
                }
                Report::Unknown => {}
            }
        }

        let outcome = if !saw_any {
            Outcome::NoReport
        } else if total_ms.is_none() {
            Outcome::RuntimeKilled
        } else if handlers.iter().all(|h| h.status == HandlerStatus::Ok) {
            Outcome::Completed
        } else {
            Outcome::HandlersFailed
        };
        Verdict {
            outcome,
            reason: reason.clone(),
            handlers,
            total_ms,
            signal,
            workers: Vec::new(),
            untracked_workers: 0,
            budget_ms,
            handoff: None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::log::{LogFormat, LogLevel, Logger};
    use graceful_shutdown_protocol::fixtures::*;
    use graceful_shutdown_protocol::verdict::{parse, Form};

    /// `v` as its text line carries it: no handler errors, no signals.
    pub(crate) fn text_part(v: &Verdict) -> Verdict {
        let mut v = v.clone();
        v.signal = None;
        v.budget_ms = None;
        v.handlers.iter_mut().for_each(|h| h.error = None);
        v.workers.iter_mut().for_each(|w| w.signal = None);
        v
    }

    /// The verdict read back (`graceful_shutdown_protocol::verdict::parse`)
    /// from the text line and from the JSON line the extension logs.
    pub(crate) fn read_back(v: &Verdict) -> (Verdict, Verdict) {
        let text = Logger::new(LogFormat::Text, LogLevel::Fatal).verdict_line(v, 0);
        let json = Logger::new(LogFormat::Json, LogLevel::Fatal).verdict_line(v, 0);
        let t = parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        let j = parse(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert_eq!((t.form, j.form), (Form::Text, Form::Json));
        assert_eq!(t.summary, v.summary(), "{text}");
        assert_eq!(j.summary, v.summary(), "{json}");
        (t.verdict, j.verdict)
    }

    #[test]
    fn every_verdict_line_parses_back_to_what_was_written() {
        let reasons = ["spindown", "Out Of Memory", "", "two\nlines"];
        let cases: Vec<Vec<Report>> = vec![
            vec![],
            vec![
                hello(&["flush", "close-pool"]),
                sigterm(),
                started("flush", 0),
                finished("flush", 0, 10),
                started("close-pool", 1),
                finished("close-pool", 1, 3),
                all_done(2, 0, 0, 13),
            ],
            vec![
                hello(&["a", "b", "c"]),
                sigterm(),
                finished("a", 0, 1),
                failed("b", 1, 2, "panicked: boom"),
                timed_out("c", 2, 250),
                all_done(1, 1, 1, 253),
            ],
            vec![
                hello(&[
                    "flush buffer",
                    "a=b",
                    "say \"hi\"",
                    "two\nlines",
                    "back\\slash",
                    "total_ms",
                    "outcome",
                    "",
                ]),
                sigterm(),
                finished("flush buffer", 0, 1),
                failed("a=b", 1, 2, "x"),
                started("two\nlines", 3),
                finished("total_ms", 5, 4),
            ],
            vec![hello(&["-- a", "--"]), started("--", 1)],
        ];
        for reason in reasons {
            for reports in &cases {
                let v = Verdict::decide(&reason.into(), reports);
                let (text, json) = read_back(&v);
                assert_eq!(text, text_part(&v));
                assert_eq!(json, v);
            }
        }
    }

    /// `spec/vectors/verdicts.json`: verdicts the extension decides from
    /// reports, with the exact text and JSON lines it logs for each. The
    /// protocol crate's parser reads them back (`rust/protocol/tests/verdict_vectors.rs`),
    /// so the writer here and the parser there cannot drift apart. Stale:
    /// `UPDATE_VECTORS=1 cargo test -p graceful-shutdown-extension verdict_vectors`.
    #[test]
    fn verdict_vectors_are_the_committed_ones() {
        let one: Vec<(&str, Vec<Report>)> = vec![
            ("no_report", vec![]),
            (
                "completed",
                vec![
                    hello(&["flush", "close-pool"]),
                    sigterm(),
                    started("flush", 0),
                    finished("flush", 0, 10),
                    started("close-pool", 1),
                    finished("close-pool", 1, 3),
                    all_done(2, 0, 0, 13),
                ],
            ),
            (
                "handlers_failed",
                vec![
                    hello(&["a", "b", "c"]),
                    sigterm(),
                    finished("a", 0, 1),
                    failed("b", 1, 2, "panicked: boom"),
                    timed_out("c", 2, 250),
                    all_done(1, 1, 1, 253),
                ],
            ),
            (
                "runtime_killed",
                vec![
                    hello(&["flush", "slow", "after"]),
                    sigterm(),
                    finished("flush", 0, 4),
                    started("slow", 1),
                ],
            ),
            (
                "odd_names",
                vec![
                    hello(&["flush buffer", "a=b", "say \"hi\"", "two\nlines", "-- x"]),
                    sigterm(),
                    finished("flush buffer", 0, 1),
                    failed("a=b", 1, 2, "x"),
                    started("two\nlines", 3),
                ],
            ),
        ];
        let mut cases = Vec::new();
        for (name, reports) in &one {
            let v = Verdict::decide(&"spindown".into(), reports);
            cases.push(vector(name, &v));
        }
        let workers = Verdict::decide_workers(
            &"spindown".into(),
            &[
                from("101", hello(&["flush"])),
                from("102", hello(&["flush"])),
                from("101", sigterm()),
                from("102", sigterm()),
                from("101", finished("flush", 0, 5)),
                from("101", all_done(1, 0, 0, 5)),
                from("102", started("flush", 0)),
            ],
        );
        cases.push(vector("two_workers_one_killed", &workers));
        // A handoff: its pairs follow `handlers=`, before a handler named like them.
        let mut handed = Verdict::decide(
            &"spindown".into(),
            &[
                hello(&["handoff", "dead_lettered"]),
                sigterm(),
                finished("handoff", 0, 2),
                finished("dead_lettered", 1, 1),
                all_done(2, 0, 0, 3),
            ],
        );
        handed.handoff = Some(HandoffCounts {
            handed_off: 3,
            delivered: 2,
            dead_lettered: 1,
            refused: 1,
        });
        cases.push(vector("handoff_one_dead_lettered", &handed));
        let mut handed_workers = workers.clone();
        handed_workers.handoff = Some(HandoffCounts {
            handed_off: 2,
            delivered: 2,
            ..HandoffCounts::default()
        });
        cases.push(vector("two_workers_handoff_delivered", &handed_workers));
        let value = serde_json::json!({
            "$comment": "Verdicts the extension decides from reports (`verdict`: the decided data, as graceful-shutdown-protocol's Verdict serializes it), and the exact lines it logs for each: `text` (AWS_LAMBDA_LOG_FORMAT=Text) and `json` (JSON; its `timestamp` is that of epoch 0). The text line carries no signal and no handler errors; `textVerdict` is what it carries. Written by rust/extension/src/verdict/mod.rs; read back by rust/protocol/tests/verdict_vectors.rs.",
            "cases": cases,
        });
        let mut text = serde_json::to_string_pretty(&value).expect("vectors serialize");
        text.push('\n');
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../spec/vectors/verdicts.json");
        if std::env::var_os("UPDATE_VECTORS").is_some() {
            std::fs::write(&path, &text).expect("write spec/vectors/verdicts.json");
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == text,
            "spec/vectors/verdicts.json is stale: it is not what the extension writes; run \
             `UPDATE_VECTORS=1 cargo test -p graceful-shutdown-extension verdict_vectors` and commit it"
        );
    }

    fn vector(name: &str, v: &Verdict) -> serde_json::Value {
        serde_json::json!({
            "name": name,
            "verdict": v,
            "textVerdict": text_part(v),
            "text": Logger::new(LogFormat::Text, LogLevel::Fatal).verdict_line(v, 0),
            "json": Logger::new(LogFormat::Json, LogLevel::Fatal).verdict_line(v, 0),
        })
    }

    #[test]
    fn no_reports_means_no_report() {
        let v = Verdict::decide(&"SPINDOWN".into(), &[]);
        assert_eq!(v.outcome, Outcome::NoReport);
        assert_eq!(v.reason, ShutdownReason::Spindown);
        assert!(v.to_text().starts_with("graceful-shutdown verdict: outcome=no_report reason=spindown handlers=0/0 -- no function ever reported"));
    }

    #[test]
    fn all_completed() {
        let v = Verdict::decide(
            &"spindown".into(),
            &[
                hello(&["flush", "close-pool"]),
                sigterm(),
                started("flush", 0),
                finished("flush", 0, 10),
                started("close-pool", 1),
                finished("close-pool", 1, 3),
                all_done(2, 0, 0, 13),
            ],
        );
        assert_eq!(v.outcome, Outcome::Completed);
        assert_eq!(
            v.to_text(),
            "graceful-shutdown verdict: outcome=completed reason=spindown handlers=2/2 total_ms=13 \
             flush=ok(10ms) close-pool=ok(3ms) -- all 2 shutdown handlers completed in 13 ms"
        );
    }

    #[test]
    fn failures_and_timeouts_are_named() {
        let v = Verdict::decide(
            &"timeout".into(),
            &[
                hello(&["a", "b", "c"]),
                sigterm(),
                finished("a", 0, 1),
                failed("b", 1, 2, "panicked: boom"),
                timed_out("c", 2, 250),
                all_done(1, 1, 1, 253),
            ],
        );
        assert_eq!(v.outcome, Outcome::HandlersFailed);
        assert!(
            v.to_text()
                .ends_with("-- 1 of 3 shutdown handlers completed; b failed, c timed_out"),
            "{}",
            v.to_text()
        );
        assert_eq!(v.handlers[1].error.as_deref(), Some("panicked: boom"));
    }

    #[test]
    fn runtime_killed_says_how_far_it_got() {
        let v = Verdict::decide(
            &"spindown".into(),
            &[
                hello(&["a", "b", "c"]),
                sigterm(),
                finished("a", 0, 1),
                started("b", 1),
            ],
        );
        assert_eq!(v.outcome, Outcome::RuntimeKilled);
        assert_eq!(v.handlers[2].status, HandlerStatus::NotStarted);
        assert!(
            v.summary()
                .ends_with("1 of 3 completed, cut off while running b"),
            "{}",
            v.summary()
        );

        let never = Verdict::decide(&"spindown".into(), &[hello(&["a"])]);
        assert_eq!(never.outcome, Outcome::RuntimeKilled);
        assert!(never.summary().contains("none started"));
    }

    #[test]
    fn odd_handler_names_are_quoted_and_the_line_stays_one_line() {
        let names = [
            "flush buffer",
            "a=b",
            "say \"hi\"",
            "two\nlines",
            "back\\slash",
            "plain",
        ];
        let v = Verdict::decide(
            &"spindown".into(),
            &[
                hello(&names),
                sigterm(),
                finished("flush buffer", 0, 1),
                failed("a=b", 1, 2, "x"),
                started("two\nlines", 3),
            ],
        );
        let text = v.to_text();
        assert!(!text.contains('\n'), "{text}");
        assert_eq!(
            text,
            "graceful-shutdown verdict: outcome=runtime_killed reason=spindown handlers=1/6 \
             \"flush buffer\"=ok(1ms) \"a=b\"=failed(2ms) \"say \\\"hi\\\"\"=not_started \"two\\nlines\"=running \
             \"back\\\\slash\"=not_started plain=not_started -- the runtime was gone before its shutdown handlers \
             finished: 1 of 6 completed, cut off while running \"two\\nlines\""
        );
        // Every pair parses back: a quoted key is a JSON string, then `=`.
        let keys = text::keys_of(&text);
        let handler_keys: Vec<&str> = keys.iter().skip(3).map(String::as_str).collect();
        assert_eq!(handler_keys, names);
        assert_eq!(
            Verdict::decide(&"timeout".into(), &[hello(&["a b"]), all_done(0, 0, 0, 0)]).summary(),
            "0 of 1 shutdown handlers completed; \"a b\" not_started"
        );
    }

    #[test]
    fn the_reason_is_the_parsed_one_written_in_the_line() {
        // How a reason is parsed is `ShutdownReason`'s (its own tests); the
        // verdict keeps it and writes it.
        let line = |sent: &str| Verdict::decide(&sent.into(), &[]).to_text();
        assert!(line("SPINDOWN").contains(" reason=spindown "));
        assert!(line(" Timeout ").contains(" reason=timeout "));
        assert!(line("Sandbox_Terminated").contains(" reason=Sandbox_Terminated "));
        assert!(line("").contains(" reason=unknown "));
        assert!(line("two\nlines").contains(" reason=two?lines "));
        assert_eq!(
            Verdict::decide(&"FAILURE".into(), &[]).reason,
            ShutdownReason::Failure
        );
        let v = Verdict::decide(&"Out Of Memory".into(), &[]);
        assert!(
            v.to_text()
                .contains(" reason=\"Out Of Memory\" handlers=0/0"),
            "{}",
            v.to_text()
        );
    }

    #[test]
    fn names_from_split_hellos_land_at_their_indexes() {
        let names: Vec<String> = (0..60)
            .map(|i| format!("handler-{i}-{}", "x".repeat(100)))
            .collect();
        let mut reports = graceful_shutdown_protocol::report::hello_reports(7, &names, 250, false);
        assert!(reports.len() > 1);
        reports.push(Report::Started {
            handler: names[59].clone(),
            index: 59,
        });
        let v = Verdict::decide(&"spindown".into(), &reports);
        let got: Vec<&str> = v.handlers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(got, names);
        assert_eq!(v.handlers[59].status, HandlerStatus::Running);
        let far = Verdict::decide(
            &"spindown".into(),
            &[Report::Hello {
                pid: 1,
                handlers: vec!["x".into(); 3],
                timeout_ms: 1,
                concurrent: false,
                first_index: usize::MAX,
            }],
        );
        assert!(far.handlers.is_empty());
    }

    #[test]
    fn hostile_indexes_do_not_allocate() {
        let v = Verdict::decide(&"spindown".into(), &[started("x", usize::MAX)]);
        assert!(v.handlers.len() <= 1025);
    }

    #[test]
    fn the_budget_the_function_declared_is_in_the_json_line_not_the_text() {
        let hello = Report::Hello {
            pid: 7,
            handlers: vec!["slow".into()],
            timeout_ms: 150,
            concurrent: false,
            first_index: 0,
        };
        let v = Verdict::decide(
            &"spindown".into(),
            &[
                hello,
                sigterm(),
                timed_out("slow", 0, 150),
                all_done(0, 0, 1, 151),
            ],
        );
        assert_eq!(v.budget_ms, Some(150));
        let json = Logger::new(LogFormat::Json, LogLevel::Fatal).verdict_line(&v, 0);
        assert!(json.contains(r#""budgetMs":150"#), "{json}");
        let text = Logger::new(LogFormat::Text, LogLevel::Fatal).verdict_line(&v, 0);
        assert!(
            !text.contains("150 ms") && !text.contains("budget"),
            "{text}"
        );
        // No hello, no budget.
        let v = Verdict::decide(&"spindown".into(), &[sigterm()]);
        assert_eq!(v.budget_ms, None);
    }

    #[test]
    fn json_form_is_stable() {
        let v = Verdict::decide(
            &"spindown".into(),
            &[hello(&["a"]), finished("a", 0, 5), all_done(1, 0, 0, 5)],
        );
        let json = serde_json::to_string(&v).expect("a verdict serializes");
        assert_eq!(
            json,
            r#"{"outcome":"completed","reason":"spindown","handlers":[{"name":"a","status":"ok","durationMs":5}],"totalMs":5,"budgetMs":250}"#
        );
        let back: Verdict = serde_json::from_str(&json).expect("and parses back");
        assert_eq!(back, v);
    }
}
