//! Running the handlers once: each in its own task, in order or all at once,
//! inside one budget counted from the signal.
//!
//! Budget rules:
//! - In order (the default), each handler gets whatever is left of the budget.
//!   A handler still running when the budget is gone is abandoned (its task is
//!   aborted at its next `.await`) and reported `timedOut`. Handlers that have
//!   not started by then are **skipped**: they never run, are not reported
//!   individually (the extension's verdict lists them as `not_started`, from
//!   the names in `hello`), and count as skipped in the [`Summary`].
//! - Concurrently, every handler starts at once and every one still running
//!   when the budget is gone is abandoned and reported `timedOut`.

use std::time::Duration;

use tokio::time::Instant;

use graceful_shutdown_protocol::Report;
use tokio::task::JoinError;

use crate::handler::{describe_error, describe_panic, Handler};
use crate::reporter::Reporter;

/// How one handler ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandlerStatus {
    /// Returned `Ok(())` within the budget.
    Completed,
    /// Returned an error, or panicked (the text then starts with `panicked: `).
    Failed(String),
    /// Still running when the budget ran out; abandoned.
    TimedOut,
    /// Never started: the budget was gone before its turn (in-order mode only).
    Skipped,
}

/// What happened to one handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerOutcome {
    /// The name it was registered with.
    pub name: String,
    /// Its position in registration order, from 0.
    pub index: usize,
    pub status: HandlerStatus,
    /// From its start to its end (or to the budget's end); zero if skipped.
    pub duration: Duration,
}

/// What happened to all the handlers, in registration order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// `SIGTERM`, `SIGINT` or `trigger`.
    pub signal: String,
    pub handlers: Vec<HandlerOutcome>,
    /// From the signal to the last handler's end.
    pub total: Duration,
}

impl Summary {
    fn count(&self, pick: impl Fn(&HandlerStatus) -> bool) -> usize {
        self.handlers.iter().filter(|h| pick(&h.status)).count()
    }
    /// Handlers that returned `Ok`.
    pub fn completed(&self) -> usize {
        self.count(|s| *s == HandlerStatus::Completed)
    }
    /// Handlers that returned an error or panicked.
    pub fn failed(&self) -> usize {
        self.count(|s| matches!(s, HandlerStatus::Failed(_)))
    }
    /// Handlers abandoned at the end of the budget.
    pub fn timed_out(&self) -> usize {
        self.count(|s| *s == HandlerStatus::TimedOut)
    }
    /// Handlers that never started because the budget was gone.
    pub fn skipped(&self) -> usize {
        self.count(|s| *s == HandlerStatus::Skipped)
    }
    /// Whether every handler completed.
    pub fn all_completed(&self) -> bool {
        self.completed() == self.handlers.len()
    }
    /// The handler with this name, if one was registered.
    pub fn handler(&self, name: &str) -> Option<&HandlerOutcome> {
        self.handlers.iter().find(|h| h.name == name)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Run every handler once within `budget` from `start`, reporting as it goes.
pub(crate) async fn run_handlers(
    handlers: Vec<Handler>,
    concurrent: bool,
    budget: Duration,
    start: Instant,
    signal: &str,
    reporter: &Reporter,
) -> Summary {
    let deadline = start + budget;
    // Delivered before any handler runs (see `report`): a verdict must
    // never miss the start of a shutdown the runtime was killed in.
    reporter.send_now(Report::ShutdownStarted {
        signal: signal.to_owned(),
    });
    tracing::info!(
        signal,
        handlers = handlers.len(),
        budget_ms = millis(budget),
        concurrent,
        "graceful-shutdown: running shutdown handlers"
    );

    let mut outcomes = Vec::with_capacity(handlers.len());
    if concurrent {
        // All announced first, from this task, then all started: no handler
        // waits for another's report.
        for (index, handler) in handlers.iter().enumerate() {
            announce(index, &handler.name, reporter);
        }
        let running: Vec<_> = handlers
            .into_iter()
            .enumerate()
            .map(|(index, handler)| {
                let name = handler.name.clone();
                let reporter = reporter.clone();
                (
                    index,
                    name,
                    tokio::spawn(run_one(index, handler, deadline, reporter)),
                )
            })
            .collect();
        for (index, name, supervisor) in running {
            // The supervisor is our own code and does not panic; if the
            // runtime is shutting down under us, say so rather than lose it.
            outcomes.push(supervisor.await.unwrap_or_else(|e| HandlerOutcome {
                name,
                index,
                status: HandlerStatus::Failed(format!("supervisor task failed: {e}")),
                duration: Duration::ZERO,
            }));
        }
    } else {
        for (index, handler) in handlers.into_iter().enumerate() {
            if Instant::now() >= deadline {
                tracing::warn!(
                    handler = %handler.name,
                    "graceful-shutdown: shutdown handler skipped: the {} ms budget was used up before its turn",
                    millis(budget)
                );
                outcomes.push(HandlerOutcome {
                    name: handler.name,
                    index,
                    status: HandlerStatus::Skipped,
                    duration: Duration::ZERO,
                });
                continue;
            }
            announce(index, &handler.name, reporter);
            outcomes.push(run_one(index, handler, deadline, reporter.clone()).await);
        }
    }

    let summary = Summary {
        signal: signal.to_owned(),
        handlers: outcomes,
        total: start.elapsed(),
    };
    // The last report: written before the exit, with every one before it.
    reporter.send_now(Report::AllDone {
        completed: summary.completed(),
        failed: summary.failed(),
        timed_out: summary.timed_out(),
        total_ms: millis(summary.total),
    });
    tracing::info!(
        completed = summary.completed(),
        failed = summary.failed(),
        timed_out = summary.timed_out(),
        skipped = summary.skipped(),
        total_ms = millis(summary.total),
        "graceful-shutdown: shutdown handlers done"
    );
    summary
}

/// Report that handler `index` starts: delivered before it runs, so that if
/// the runtime is killed while it does, the verdict says it was running,
/// however starved the CPU.
fn announce(index: usize, name: &str, reporter: &Reporter) {
    reporter.send_now(Report::Started {
        handler: name.to_owned(),
        index,
    });
}

/// Run one handler (announced already) in its own task until it ends or the
/// deadline passes.
async fn run_one(
    index: usize,
    handler: Handler,
    deadline: Instant,
    reporter: Reporter,
) -> HandlerOutcome {
    let Handler { name, run } = handler;
    tracing::debug!(handler = %name, index, "graceful-shutdown: shutdown handler started");
    let began = Instant::now();
    let mut task = tokio::spawn(async move { run().await });
    let ended = tokio::time::timeout_at(deadline, &mut task).await;
    let duration = began.elapsed();
    let duration_ms = millis(duration);
    let status = match ended {
        Ok(Ok(Ok(()))) => {
            reporter.send(Report::Finished {
                handler: name.clone(),
                index,
                duration_ms,
            });
            tracing::info!(handler = %name, duration_ms, "graceful-shutdown: shutdown handler completed");
            HandlerStatus::Completed
        }
        Ok(Ok(Err(error))) => failed(&name, index, duration_ms, describe_error(&error), &reporter),
        Ok(Err(join_error)) => failed(
            &name,
            index,
            duration_ms,
            describe_join_error(join_error),
            &reporter,
        ),
        Err(_elapsed) => {
            task.abort();
            reporter.send(Report::TimedOut {
                handler: name.clone(),
                index,
                duration_ms,
            });
            tracing::error!(
                handler = %name,
                duration_ms,
                "graceful-shutdown: shutdown handler timed out: still running when the budget ran out; abandoned"
            );
            HandlerStatus::TimedOut
        }
    };
    HandlerOutcome {
        name,
        index,
        status,
        duration,
    }
}

fn failed(
    name: &str,
    index: usize,
    duration_ms: u64,
    error: String,
    reporter: &Reporter,
) -> HandlerStatus {
    reporter.send(Report::Failed {
        handler: name.to_owned(),
        index,
        duration_ms,
        error: error.clone(),
    });
    tracing::error!(handler = %name, duration_ms, error = %error, "graceful-shutdown: shutdown handler failed");
    HandlerStatus::Failed(error)
}

fn describe_join_error(error: JoinError) -> String {
    if error.is_panic() {
        describe_panic(&*error.into_panic())
    } else {
        String::from("cancelled: the runtime is shutting down")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    type Log = Arc<Mutex<Vec<String>>>;

    fn handler(name: &str, log: &Log, work: Duration, result: Result<(), &'static str>) -> Handler {
        let (name_owned, log) = (name.to_owned(), log.clone());
        Handler::new(name.to_owned(), move || async move {
            log.lock()
                .expect("lock")
                .push(format!("start {name_owned}"));
            tokio::time::sleep(work).await;
            log.lock().expect("lock").push(format!("end {name_owned}"));
            result.map_err(std::io::Error::other)
        })
    }

    async fn run(
        handlers: Vec<Handler>,
        concurrent: bool,
        budget_ms: u64,
    ) -> (Summary, Vec<Report>) {
        let (reporter, captured) = Reporter::capture();
        let summary = run_handlers(
            handlers,
            concurrent,
            Duration::from_millis(budget_ms),
            Instant::now(),
            "trigger",
            &reporter,
        )
        .await;
        (summary, captured.reports())
    }

    #[tokio::test(start_paused = true)]
    async fn in_order_with_errors_and_panics_isolated() {
        let log = Log::default();
        let panics = Handler::new("panics".into(), || async {
            if true {
                panic!("boom");
            }
            Ok::<(), std::io::Error>(())
        });
        let handlers = vec![
            handler("a", &log, Duration::from_millis(10), Ok(())),
            panics,
            handler("b", &log, Duration::from_millis(10), Err("disk full")),
            handler("c", &log, Duration::ZERO, Ok(())),
        ];
        let (summary, reports) = run(handlers, false, 250).await;
        assert_eq!(
            *log.lock().expect("lock"),
            ["start a", "end a", "start b", "end b", "start c", "end c"]
        );
        let statuses: Vec<_> = summary.handlers.iter().map(|h| h.status.clone()).collect();
        assert_eq!(
            statuses,
            [
                HandlerStatus::Completed,
                HandlerStatus::Failed("panicked: boom".into()),
                HandlerStatus::Failed("disk full".into()),
                HandlerStatus::Completed
            ]
        );
        assert_eq!((summary.completed(), summary.failed()), (2, 2));
        assert_eq!(
            reports[0],
            Report::ShutdownStarted {
                signal: "trigger".into()
            }
        );
        assert_eq!(
            reports[1],
            Report::Started {
                handler: "a".into(),
                index: 0
            }
        );
        assert!(
            matches!(&reports[2], Report::Finished { handler, index: 0, duration_ms: 10 } if handler == "a"),
            "{reports:?}"
        );
        assert!(
            matches!(&reports[4], Report::Failed { handler, index: 1, error, .. } if handler == "panics" && error == "panicked: boom")
        );
        assert!(
            matches!(&reports[6], Report::Failed { handler, index: 2, error, .. } if handler == "b" && error == "disk full")
        );
        assert_eq!(
            reports.last(),
            Some(&Report::AllDone {
                completed: 2,
                failed: 2,
                timed_out: 0,
                total_ms: 20
            })
        );
    }

    #[tokio::test(start_paused = true)]
    async fn in_order_the_budget_cuts_the_running_handler_and_skips_the_rest() {
        let log = Log::default();
        let handlers = vec![
            handler("a", &log, Duration::from_millis(40), Ok(())),
            handler("slow", &log, Duration::from_secs(10), Ok(())),
            handler("late", &log, Duration::ZERO, Ok(())),
        ];
        let (summary, reports) = run(handlers, false, 100).await;
        assert_eq!(
            *log.lock().expect("lock"),
            ["start a", "end a", "start slow"]
        );
        assert_eq!(summary.handlers[1].status, HandlerStatus::TimedOut);
        assert_eq!(
            summary.handlers[1].duration,
            Duration::from_millis(60),
            "slow got what was left of the budget"
        );
        assert_eq!(summary.handlers[2].status, HandlerStatus::Skipped);
        assert_eq!(summary.total, Duration::from_millis(100));
        assert!(reports.contains(&Report::TimedOut {
            handler: "slow".into(),
            index: 1,
            duration_ms: 60
        }));
        assert!(!reports
            .iter()
            .any(|r| matches!(r, Report::Started { handler, .. } if handler == "late")));
        assert_eq!(
            reports.last(),
            Some(&Report::AllDone {
                completed: 1,
                failed: 0,
                timed_out: 1,
                total_ms: 100
            })
        );
        // The abandoned task is aborted: it never gets to finish.
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert!(!log.lock().expect("lock").contains(&"end slow".to_owned()));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrently_all_start_at_once_and_overrunners_time_out() {
        let log = Log::default();
        let handlers = vec![
            handler("a", &log, Duration::from_millis(80), Ok(())),
            handler("b", &log, Duration::from_millis(80), Ok(())),
            handler("slow", &log, Duration::from_secs(10), Ok(())),
        ];
        let (summary, reports) = run(handlers, true, 100).await;
        let log = log.lock().expect("lock").clone();
        assert_eq!(&log[..3], ["start a", "start b", "start slow"]);
        assert!(!log.contains(&"end slow".to_owned()));
        assert_eq!(summary.handlers[0].duration, Duration::from_millis(80));
        assert_eq!(summary.handlers[2].status, HandlerStatus::TimedOut);
        assert_eq!(
            summary.total,
            Duration::from_millis(100),
            "not 80 + 80 + 100"
        );
        assert_eq!(
            reports.last(),
            Some(&Report::AllDone {
                completed: 2,
                failed: 0,
                timed_out: 1,
                total_ms: 100
            })
        );
    }

    #[tokio::test(start_paused = true)]
    async fn every_report_fits_the_body_limit_whatever_the_name_and_error() {
        let name = "名前".repeat(2000);
        let error = "ошибка\t".repeat(1000);
        let fails = Handler::new(name.clone(), move || async move {
            Err::<(), _>(std::io::Error::other(error))
        });
        let panics = Handler::new(format!("{name}!"), || async {
            if true {
                panic!("{}", "💥\n".repeat(2000));
            }
            Ok::<(), std::io::Error>(())
        });
        let (summary, reports) = run(vec![fails, panics], false, 100).await;
        let limit = graceful_shutdown_protocol::limits().max_report_bytes;
        for report in &reports {
            let json = report.to_json();
            assert!(json.len() <= limit, "{} bytes: {json}", json.len());
            assert_eq!(Report::parse(json.as_bytes()).as_ref(), Ok(report));
        }
        let failures = reports
            .iter()
            .filter(|r| matches!(r, Report::Failed { .. }))
            .count();
        assert_eq!(failures, 2, "{reports:?}");
        let cut = &summary.handlers[0].name;
        assert!(
            cut.len() <= 128 && name.starts_with(cut.trim_end_matches('…')),
            "{cut}"
        );
        assert!(
            matches!(&summary.handlers[1].status, HandlerStatus::Failed(e) if e.starts_with("panicked: 💥"))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_handlers_is_all_done_at_once() {
        let (summary, reports) = run(vec![], false, 100).await;
        assert!(summary.all_completed());
        assert_eq!(
            reports.last(),
            Some(&Report::AllDone {
                completed: 0,
                failed: 0,
                timed_out: 0,
                total_ms: 0
            })
        );
    }
}
