//! The verdict: the one line the extension logs on SHUTDOWN, decided from
//! the reports it received. Deciding is a pure function of the reports.

use serde::{Deserialize, Serialize};

use crate::report::Report;
use crate::VERDICT_MARKER;

/// What happened to the function's shutdown handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every handler ran and returned `Ok` within the budget.
    Completed,
    /// Every handler ran, but at least one failed, panicked or timed out.
    HandlersFailed,
    /// The runtime went away (exited or was SIGKILLed) before all handlers finished.
    RuntimeKilled,
    /// No report ever arrived: the library is not used, or the function died before reporting.
    NoReport,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::HandlersFailed => "handlers_failed",
            Outcome::RuntimeKilled => "runtime_killed",
            Outcome::NoReport => "no_report",
        }
    }
}

/// Where one handler got to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandlerStatus {
    Ok,
    Failed,
    TimedOut,
    /// Started, never finished: the runtime died while it ran.
    Running,
    NotStarted,
}

impl HandlerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HandlerStatus::Ok => "ok",
            HandlerStatus::Failed => "failed",
            HandlerStatus::TimedOut => "timed_out",
            HandlerStatus::Running => "running",
            HandlerStatus::NotStarted => "not_started",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandlerResult {
    pub name: String,
    pub status: HandlerStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub outcome: Outcome,
    /// The shutdown reason as Lambda sent it, lower-cased (`spindown`, `timeout`, `failure`, or other).
    pub reason: String,
    pub handlers: Vec<HandlerResult>,
    /// Total handler time, when the function said it was all done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_ms: Option<u64>,
    /// The signal the function reported, if it reported one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
}

impl Verdict {
    /// Decide the verdict from the reports received, in arrival order.
    pub fn decide(reason: &str, reports: &[Report]) -> Verdict {
        let mut handlers: Vec<HandlerResult> = Vec::new();
        let mut saw_any = false;
        let mut signal = None;
        let mut total_ms = None;

        fn slot<'a>(handlers: &'a mut Vec<HandlerResult>, index: usize, name: &str) -> &'a mut HandlerResult {
            // Indexes come from the network: never allocate more than a report could name.
            let index = index.min(1024);
            while handlers.len() <= index {
                handlers.push(HandlerResult {
                    name: String::new(),
                    status: HandlerStatus::NotStarted,
                    duration_ms: None,
                    error: None,
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
                Report::Hello { handlers: names, .. } => {
                    saw_any = true;
                    for (i, name) in names.iter().enumerate().take(1024) {
                        slot(&mut handlers, i, name);
                    }
                }
                Report::ShutdownStarted { signal: s } => {
                    saw_any = true;
                    signal = Some(s.clone());
                }
                Report::Started { handler, index } => {
                    saw_any = true;
                    slot(&mut handlers, *index, handler).status = HandlerStatus::Running;
                }
                Report::Finished { handler, index, duration_ms } => {
                    saw_any = true;
                    let h = slot(&mut handlers, *index, handler);
                    h.status = HandlerStatus::Ok;
                    h.duration_ms = Some(*duration_ms);
                }
                Report::Failed { handler, index, duration_ms, error } => {
                    saw_any = true;
                    let h = slot(&mut handlers, *index, handler);
                    h.status = HandlerStatus::Failed;
                    h.duration_ms = Some(*duration_ms);
                    h.error = Some(error.clone());
                }
                Report::TimedOut { handler, index, duration_ms } => {
                    saw_any = true;
                    let h = slot(&mut handlers, *index, handler);
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
            reason: reason.to_ascii_lowercase(),
            handlers,
            total_ms,
            signal,
        }
    }

    fn count(&self, status: HandlerStatus) -> usize {
        self.handlers.iter().filter(|h| h.status == status).count()
    }

    /// One human sentence saying what happened.
    pub fn summary(&self) -> String {
        let n = self.handlers.len();
        let ok = self.count(HandlerStatus::Ok);
        match self.outcome {
            Outcome::Completed => format!(
                "all {n} shutdown handlers completed in {} ms",
                self.total_ms.unwrap_or(0)
            ),
            Outcome::HandlersFailed => {
                let bad: Vec<String> = self
                    .handlers
                    .iter()
                    .filter(|h| h.status != HandlerStatus::Ok)
                    .map(|h| format!("{} {}", h.name, h.status.as_str()))
                    .collect();
                format!("{ok} of {n} shutdown handlers completed; {}", bad.join(", "))
            }
            Outcome::RuntimeKilled => {
                let running: Vec<&str> = self
                    .handlers
                    .iter()
                    .filter(|h| h.status == HandlerStatus::Running)
                    .map(|h| h.name.as_str())
                    .collect();
                let started = self.signal.is_some();
                let mut s = format!(
                    "the runtime was gone before its shutdown handlers finished: {ok} of {n} completed"
                );
                if !started {
                    s.push_str(", none started (no SIGTERM was handled)");
                } else if !running.is_empty() {
                    s.push_str(&format!(", cut off while running {}", running.join(", ")));
                }
                s
            }
            Outcome::NoReport => String::from(
                "no function ever reported: the function library is not in use, or the function died before reporting",
            ),
        }
    }

    /// The text form: `graceful-shutdown verdict: outcome=... reason=... handlers=ok/n total_ms=... name=status(ms)... -- summary`.
    pub fn to_text(&self) -> String {
        let mut line = format!(
            "{VERDICT_MARKER}: outcome={} reason={} handlers={}/{}",
            self.outcome.as_str(),
            self.reason,
            self.count(HandlerStatus::Ok),
            self.handlers.len()
        );
        if let Some(t) = self.total_ms {
            line.push_str(&format!(" total_ms={t}"));
        }
        for h in &self.handlers {
            line.push_str(&format!(" {}={}", h.name, h.status.as_str()));
            if let Some(ms) = h.duration_ms {
                line.push_str(&format!("({ms}ms)"));
            }
        }
        line.push_str(" -- ");
        line.push_str(&self.summary());
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(names: &[&str]) -> Report {
        Report::Hello {
            pid: 7,
            handlers: names.iter().map(|s| s.to_string()).collect(),
            timeout_ms: 250,
            concurrent: false,
        }
    }

    fn finished(name: &str, index: usize, ms: u64) -> Report {
        Report::Finished { handler: name.into(), index, duration_ms: ms }
    }

    #[test]
    fn no_reports_means_no_report() {
        let v = Verdict::decide("SPINDOWN", &[]);
        assert_eq!(v.outcome, Outcome::NoReport);
        assert_eq!(v.reason, "spindown");
        assert!(v.to_text().starts_with("graceful-shutdown verdict: outcome=no_report reason=spindown handlers=0/0 -- no function ever reported"));
    }

    #[test]
    fn all_completed() {
        let v = Verdict::decide(
            "spindown",
            &[
                hello(&["flush", "close-pool"]),
                Report::ShutdownStarted { signal: "SIGTERM".into() },
                Report::Started { handler: "flush".into(), index: 0 },
                finished("flush", 0, 10),
                Report::Started { handler: "close-pool".into(), index: 1 },
                finished("close-pool", 1, 3),
                Report::AllDone { completed: 2, failed: 0, timed_out: 0, total_ms: 13 },
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
            "timeout",
            &[
                hello(&["a", "b", "c"]),
                Report::ShutdownStarted { signal: "SIGTERM".into() },
                finished("a", 0, 1),
                Report::Failed { handler: "b".into(), index: 1, duration_ms: 2, error: "panicked: boom".into() },
                Report::TimedOut { handler: "c".into(), index: 2, duration_ms: 250 },
                Report::AllDone { completed: 1, failed: 1, timed_out: 1, total_ms: 253 },
            ],
        );
        assert_eq!(v.outcome, Outcome::HandlersFailed);
        assert!(v.to_text().ends_with("-- 1 of 3 shutdown handlers completed; b failed, c timed_out"), "{}", v.to_text());
        assert_eq!(v.handlers[1].error.as_deref(), Some("panicked: boom"));
    }

    #[test]
    fn runtime_killed_says_how_far_it_got() {
        let v = Verdict::decide(
            "spindown",
            &[
                hello(&["a", "b", "c"]),
                Report::ShutdownStarted { signal: "SIGTERM".into() },
                finished("a", 0, 1),
                Report::Started { handler: "b".into(), index: 1 },
            ],
        );
        assert_eq!(v.outcome, Outcome::RuntimeKilled);
        assert_eq!(v.handlers[2].status, HandlerStatus::NotStarted);
        assert!(v.summary().ends_with("1 of 3 completed, cut off while running b"), "{}", v.summary());

        let never = Verdict::decide("spindown", &[hello(&["a"])]);
        assert_eq!(never.outcome, Outcome::RuntimeKilled);
        assert!(never.summary().contains("none started"));
    }

    #[test]
    fn hostile_indexes_do_not_allocate() {
        let v = Verdict::decide("spindown", &[Report::Started { handler: "x".into(), index: usize::MAX }]);
        assert!(v.handlers.len() <= 1025);
    }

    #[test]
    fn json_form_is_stable() {
        let v = Verdict::decide("spindown", &[hello(&["a"]), finished("a", 0, 5), Report::AllDone { completed: 1, failed: 0, timed_out: 0, total_ms: 5 }]);
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, r#"{"outcome":"completed","reason":"spindown","handlers":[{"name":"a","status":"ok","durationMs":5}],"totalMs":5}"#);
        let back: Verdict = serde_json::from_str(&json).unwrap();
        assert_eq!(back, v);
    }
}
