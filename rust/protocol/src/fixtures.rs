//! Reports as tests write them: one short builder a report type, with the
//! fields a test does not care about fixed (pid 7, a 250 ms budget, handlers
//! run in order, `SIGTERM`). Only with the `fixtures` feature, which the
//! crates' tests enable; nothing ships it.

use crate::report::{Report, WorkerReport};

/// `hello` from pid 7 announcing `names`.
pub fn hello(names: &[&str]) -> Report {
    hello_from_pid(7, names)
}

/// `hello` from `pid` announcing `names`.
pub fn hello_from_pid(pid: u32, names: &[&str]) -> Report {
    Report::Hello {
        pid,
        handlers: names.iter().map(|s| s.to_string()).collect(),
        timeout_ms: 250,
        concurrent: false,
        first_index: 0,
    }
}

/// `shutdownStarted` for SIGTERM.
pub fn sigterm() -> Report {
    Report::ShutdownStarted {
        signal: "SIGTERM".into(),
    }
}

pub fn started(name: &str, index: usize) -> Report {
    Report::Started {
        handler: name.into(),
        index,
    }
}

pub fn finished(name: &str, index: usize, ms: u64) -> Report {
    Report::Finished {
        handler: name.into(),
        index,
        duration_ms: ms,
    }
}

pub fn failed(name: &str, index: usize, ms: u64, error: &str) -> Report {
    Report::Failed {
        handler: name.into(),
        index,
        duration_ms: ms,
        error: error.into(),
    }
}

pub fn timed_out(name: &str, index: usize, ms: u64) -> Report {
    Report::TimedOut {
        handler: name.into(),
        index,
        duration_ms: ms,
    }
}

pub fn all_done(completed: usize, failed: usize, timed_out: usize, total_ms: u64) -> Report {
    Report::AllDone {
        completed,
        failed,
        timed_out,
        total_ms,
    }
}

/// `allDone` after `completed` handlers that all completed.
pub fn all_completed(completed: usize, total_ms: u64) -> Report {
    all_done(completed, 0, 0, total_ms)
}

/// `report` as sent by `worker`.
pub fn from(worker: &str, report: Report) -> WorkerReport {
    WorkerReport {
        worker: Some(worker.to_owned()),
        report,
    }
}
