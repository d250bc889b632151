//! The verdict written out: one human sentence ([`Verdict::summary`]) and
//! the one text line of `key=value` pairs ([`Verdict::to_text`]), for one
//! worker and for several.

use std::borrow::Cow;

use graceful_shutdown_protocol::VERDICT_MARKER;

use super::{HandlerStatus, HandoffCounts, Outcome, Verdict, WorkerVerdict};
use crate::text_value::text_value;

/// Writing a verdict: the extension's own part (the types and their parser
/// are `graceful_shutdown_protocol::verdict`).
pub trait Written {
    /// One human sentence saying what happened.
    fn summary(&self) -> String;
    /// The text form, one line: `graceful-shutdown verdict: outcome=... reason=... handlers=ok/n total_ms=... name=status(ms)... -- summary`.
    /// Names and the reason are written as [`text_value`]s.
    fn to_text(&self) -> String;
}

impl Written for Verdict {
    fn summary(&self) -> String {
        let handlers = if self.workers.is_empty() {
            handlers_summary(self)
        } else {
            several_summary(self)
        };
        match &self.handoff {
            Some(counts) => format!("{handlers}; {}", handoff_summary(counts)),
            None => handlers,
        }
    }

    fn to_text(&self) -> String {
        if !self.workers.is_empty() {
            return several_to_text(self);
        }
        let mut line = format!(
            "{VERDICT_MARKER}: outcome={} reason={} handlers={}/{}",
            self.outcome.as_str(),
            text_value(self.reason.as_str()),
            self.count(HandlerStatus::Ok),
            self.handlers.len()
        );
        if let Some(counts) = &self.handoff {
            line.push_str(&counts.to_pairs());
        }
        if let Some(t) = self.total_ms {
            line.push_str(&format!(" total_ms={t}"));
        }
        for h in &self.handlers {
            line.push_str(&format!(" {}={}", text_value(&h.name), h.status.as_str()));
            if let Some(ms) = h.duration_ms {
                line.push_str(&format!("({ms}ms)"));
            }
        }
        line.push_str(" -- ");
        line.push_str(&self.summary());
        line
    }
}

/// The handoff's part of the closing sentence.
fn handoff_summary(counts: &HandoffCounts) -> String {
    let mut s = if counts.dead_lettered == 0 {
        format!(
            "handoff: {} of {} requests delivered",
            counts.delivered, counts.handed_off
        )
    } else {
        format!(
            "handoff: {} of {} requests delivered, {} dead-lettered (in the log)",
            counts.delivered, counts.handed_off, counts.dead_lettered
        )
    };
    if counts.refused > 0 {
        s.push_str(&format!(", {} handoffs refused", counts.refused));
    }
    s
}

/// The closing sentence for one process's handlers.
fn handlers_summary(verdict: &Verdict) -> String {
    let n = verdict.handlers.len();
    let ok = verdict.count(HandlerStatus::Ok);
    match verdict.outcome {
            Outcome::Completed => format!(
                "all {n} shutdown handlers completed in {} ms",
                verdict.total_ms.unwrap_or(0)
            ),
            Outcome::HandlersFailed => {
                let bad: Vec<String> = verdict
                    .handlers
                    .iter()
                    .filter(|h| h.status != HandlerStatus::Ok)
                    .map(|h| format!("{} {}", text_value(&h.name), h.status.as_str()))
                    .collect();
                format!("{ok} of {n} shutdown handlers completed; {}", bad.join(", "))
            }
            Outcome::RuntimeKilled => {
                let running: Vec<Cow<'_, str>> = verdict
                    .handlers
                    .iter()
                    .filter(|h| h.status == HandlerStatus::Running)
                    .map(|h| text_value(&h.name))
                    .collect();
                let started = verdict.signal.is_some();
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

/// The verdict of `worker` alone, from the flat list of `verdict`.
fn worker_alone(verdict: &Verdict, worker: &WorkerVerdict) -> Verdict {
    Verdict {
        outcome: worker.outcome,
        reason: verdict.reason.clone(),
        handlers: verdict
            .handlers
            .iter()
            .filter(|h| h.worker.as_deref() == Some(worker.label.as_str()))
            .cloned()
            .collect(),
        total_ms: worker.total_ms,
        signal: worker.signal.clone(),
        workers: Vec::new(),
        untracked_workers: 0,
        budget_ms: verdict.budget_ms,
        handoff: None,
    }
}

/// The closing sentence: how many workers completed, then each other
/// worker's own sentence.
fn several_summary(verdict: &Verdict) -> String {
    let n = verdict.workers.len();
    let done = verdict
        .workers
        .iter()
        .filter(|w| w.outcome == Outcome::Completed)
        .count();
    let mut s = if done == n {
        format!(
            "all {n} workers completed their {} shutdown handlers",
            verdict.handlers.len()
        )
    } else {
        let mut s = format!("{done} of {n} workers completed");
        for w in verdict
            .workers
            .iter()
            .filter(|w| w.outcome != Outcome::Completed)
        {
            s.push_str(&format!(
                "; {}: {}",
                w.label,
                worker_alone(verdict, w).summary()
            ));
        }
        s
    };
    if verdict.untracked_workers > 0 {
        s.push_str(&format!(
            "; {} more workers reported, not tracked",
            verdict.untracked_workers
        ));
    }
    s
}

/// The text line: the overall pairs, then each worker's (`wN=<worker>
/// wN_outcome=… wN_total_ms=…`) followed by its handlers (`wN.<name>=…`).
fn several_to_text(verdict: &Verdict) -> String {
    let mut line = format!(
        "{VERDICT_MARKER}: outcome={} reason={} workers={}",
        verdict.outcome.as_str(),
        text_value(verdict.reason.as_str()),
        verdict.workers.len()
    );
    if verdict.untracked_workers > 0 {
        line.push_str(&format!(" untracked_workers={}", verdict.untracked_workers));
    }
    line.push_str(&format!(
        " handlers={}/{}",
        verdict.count(HandlerStatus::Ok),
        verdict.handlers.len()
    ));
    if let Some(counts) = &verdict.handoff {
        line.push_str(&counts.to_pairs());
    }
    for w in &verdict.workers {
        line.push_str(&format!(
            " {label}={} {label}_outcome={}",
            text_value(&w.worker),
            w.outcome.as_str(),
            label = w.label
        ));
        if let Some(t) = w.total_ms {
            line.push_str(&format!(" {}_total_ms={t}", w.label));
        }
        for h in verdict
            .handlers
            .iter()
            .filter(|h| h.worker.as_deref() == Some(w.label.as_str()))
        {
            let key = format!("{}.{}", w.label, h.name);
            line.push_str(&format!(" {}={}", text_value(&key), h.status.as_str()));
            if let Some(ms) = h.duration_ms {
                line.push_str(&format!("({ms}ms)"));
            }
        }
    }
    line.push_str(" -- ");
    line.push_str(&verdict.summary());
    line
}

/// The keys of a text verdict line, in order; panics unless every pair
/// parses back (a key and a value each a plain word or a JSON string).
#[cfg(test)]
pub(super) fn keys_of(text: &str) -> Vec<String> {
    let pairs = text.split(" -- ").next().unwrap_or_default();
    let mut rest = pairs.trim_start_matches("graceful-shutdown verdict: ");
    let mut keys = Vec::new();
    while !rest.is_empty() {
        let (key, after) = if rest.starts_with('"') {
            let mut de = serde_json::Deserializer::from_str(rest).into_iter::<String>();
            let key = de.next().and_then(Result::ok).unwrap_or_default();
            let used = de.byte_offset();
            (key, &rest[used..])
        } else {
            let at = rest.find('=').unwrap_or(rest.len());
            (rest[..at].to_owned(), &rest[at..])
        };
        let after = after
            .strip_prefix('=')
            .unwrap_or_else(|| panic!("no `=` after {key:?} in {text}"));
        // A value is a plain word or a JSON string.
        let end = if after.starts_with('"') {
            let mut de = serde_json::Deserializer::from_str(after).into_iter::<String>();
            assert!(de.next().is_some_and(|v| v.is_ok()), "{text}");
            de.byte_offset()
        } else {
            after.find(' ').unwrap_or(after.len())
        };
        keys.push(key);
        rest = after[end..].trim_start();
    }
    keys
}
