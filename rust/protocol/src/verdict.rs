//! The verdict as data: what the extension's one line on `SHUTDOWN` says,
//! and the one parser of that line, in both of its forms.
//!
//! The extension decides and writes the verdict (`rust/extension/src/verdict/`,
//! with these types); everything that reads a verdict back (the shared
//! conformance driver, tests, tools) reads it with [`parse`], so that the
//! line is parsed in one place, beside the types it is written from. The
//! extension's tests hold the two together: every line it writes parses back
//! to the verdict it wrote.
//!
//! - text (`AWS_LAMBDA_LOG_FORMAT` unset or `Text`): `graceful-shutdown verdict:
//!   key=value ... -- summary`, a key or value that is not one plain word
//!   written as a JSON string. The text form carries no handler `error` and
//!   no `signal`: parsed, those are `None`.
//! - JSON (`AWS_LAMBDA_LOG_FORMAT=JSON`): one object with
//!   `"message":"graceful-shutdown verdict"`, the [`Verdict`] fields and `summary`.

use serde::{Deserialize, Serialize};

use crate::{ShutdownReason, VERDICT_MARKER};

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
    pub const ALL: [Outcome; 4] = [
        Outcome::Completed,
        Outcome::HandlersFailed,
        Outcome::RuntimeKilled,
        Outcome::NoReport,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::HandlersFailed => "handlers_failed",
            Outcome::RuntimeKilled => "runtime_killed",
            Outcome::NoReport => "no_report",
        }
    }

    /// The outcome written as `word` ([`Outcome::as_str`]).
    pub fn from_word(word: &str) -> Option<Outcome> {
        Self::ALL.into_iter().find(|o| o.as_str() == word)
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
    pub const ALL: [HandlerStatus; 5] = [
        HandlerStatus::Ok,
        HandlerStatus::Failed,
        HandlerStatus::TimedOut,
        HandlerStatus::Running,
        HandlerStatus::NotStarted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HandlerStatus::Ok => "ok",
            HandlerStatus::Failed => "failed",
            HandlerStatus::TimedOut => "timed_out",
            HandlerStatus::Running => "running",
            HandlerStatus::NotStarted => "not_started",
        }
    }

    /// The status written as `word` ([`HandlerStatus::as_str`]).
    pub fn from_word(word: &str) -> Option<HandlerStatus> {
        Self::ALL.into_iter().find(|s| s.as_str() == word)
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
    /// The label (`w1`, `w2`, …) of the worker it belongs to, when reports
    /// came from several workers; `None` with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
}

/// One worker's part of a verdict decided from several workers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerVerdict {
    /// `w1`, `w2`, …: in the order of the worker's first report.
    pub label: String,
    /// The `worker` its reports carried (`""` for reports without one).
    pub worker: String,
    /// This worker's own outcome, decided as for one process.
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub outcome: Outcome,
    /// The shutdown reason: `spindown`, `timeout` or `failure` (lower-cased,
    /// whatever case Lambda sent), or any other value as sent ([`ShutdownReason`]).
    pub reason: ShutdownReason,
    pub handlers: Vec<HandlerResult>,
    /// Total handler time, when the function said it was all done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_ms: Option<u64>,
    /// The signal the function reported, if it reported one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// With reports from several workers: each worker's part (and
    /// `handlers` is the flat list of all their handlers). Empty with one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workers: Vec<WorkerVerdict>,
    /// Workers beyond `verdict.maxWorkers` whose reports were not itemized.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub untracked_workers: usize,
    /// The handlers' budget the function declared in its `hello`
    /// (`timeoutMs`: the budget the library ran them in, which a function
    /// may set in code, whatever `GRACEFUL_SHUTDOWN_TIMEOUT_MS` says), the
    /// first worker's with several. The JSON line carries it (`budgetMs`),
    /// the text line does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_ms: Option<u32>,
    /// What became of the requests handed off to the extension, when any
    /// handoff was taken or refused (`docs/protocol.md`, Handoff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff: Option<HandoffCounts>,
}

/// The handoff's part of a verdict: requests handed off, delivered and
/// dead-lettered (`delivered + dead_lettered == handed_off` once the
/// extension is done), and handoffs refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandoffCounts {
    pub handed_off: usize,
    pub delivered: usize,
    pub dead_lettered: usize,
    pub refused: usize,
}

impl HandoffCounts {
    /// The text pairs: `handoff=<delivered>/<handed off> dead_lettered=<n>`,
    /// and ` handoff_refused=<n>` when some were refused; each with a leading space.
    pub fn to_pairs(&self) -> String {
        let mut pairs = format!(
            " handoff={}/{} dead_lettered={}",
            self.delivered, self.handed_off, self.dead_lettered
        );
        if self.refused > 0 {
            pairs.push_str(&format!(" handoff_refused={}", self.refused));
        }
        pairs
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Verdict {
    /// How many handlers ended with `status`.
    pub fn count(&self, status: HandlerStatus) -> usize {
        self.handlers.iter().filter(|h| h.status == status).count()
    }

    /// The first handler named `name` (with several workers, its key is
    /// `wN.<name>`: see [`Verdict::handler_of`]).
    pub fn handler(&self, name: &str) -> Option<&HandlerResult> {
        self.handlers.iter().find(|h| h.name == name)
    }

    /// The handler `name` of the worker labelled `label` (`w1`, …).
    pub fn handler_of(&self, label: &str, name: &str) -> Option<&HandlerResult> {
        self.handlers
            .iter()
            .find(|h| h.name == name && h.worker.as_deref() == Some(label))
    }
}

/// Which of its two forms a verdict line was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    Text,
    Json,
}

/// A verdict line read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parsed {
    pub form: Form,
    pub verdict: Verdict,
    /// The closing sentence (text: after ` -- `; JSON: `summary`).
    pub summary: String,
}

/// Why a line is not a verdict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a verdict line: {0}")]
pub struct ParseError(String);

fn err<T>(why: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(why.into()))
}

/// Whether `line` is (or claims to be) a verdict line of either form.
pub fn is_verdict_line(line: &str) -> bool {
    line.contains(VERDICT_MARKER)
}

/// Reads a verdict line of either form. Text that precedes the line on the
/// same log line (a timestamp a log collector added, say) is skipped.
pub fn parse(line: &str) -> Result<Parsed, ParseError> {
    let marker_text = format!("{VERDICT_MARKER}: ");
    if let Some(at) = line.find(&marker_text) {
        return parse_text(&line[at + marker_text.len()..]);
    }
    match line.find('{') {
        Some(at) => parse_json(&line[at..]),
        None => err(format!("no `{marker_text}` and no JSON object")),
    }
}

fn parse_json(object: &str) -> Result<Parsed, ParseError> {
    let value: serde_json::Value =
        serde_json::from_str(object.trim_end()).or_else(|e| err(format!("JSON: {e}")))?;
    if value.get("message").and_then(|m| m.as_str()) != Some(VERDICT_MARKER) {
        return err(format!(
            "the JSON object's message is not {VERDICT_MARKER:?}"
        ));
    }
    let summary = value
        .get("summary")
        .and_then(|s| s.as_str())
        .unwrap_or_default()
        .to_owned();
    let verdict: Verdict =
        serde_json::from_value(value).or_else(|e| err(format!("JSON verdict: {e}")))?;
    Ok(Parsed {
        form: Form::Json,
        verdict,
        summary,
    })
}

/// One word of a text line: a JSON string, or up to the first `stop` character.
fn word<'a>(rest: &'a str, stop: &[char]) -> Result<(String, &'a str), ParseError> {
    if rest.starts_with('"') {
        let mut de = serde_json::Deserializer::from_str(rest).into_iter::<String>();
        match de.next() {
            Some(Ok(s)) => {
                let used = de.byte_offset();
                Ok((s, &rest[used..]))
            }
            _ => err(format!("a quoted word does not end: {rest}")),
        }
    } else {
        let end = rest.find(stop).unwrap_or(rest.len());
        Ok((rest[..end].to_owned(), &rest[end..]))
    }
}

/// The `key=value` pairs before ` -- `, and the summary after it.
fn pairs(mut rest: &str) -> Result<(Vec<(String, String)>, String), ParseError> {
    let mut out = Vec::new();
    loop {
        if rest.is_empty() {
            return Ok((out, String::new()));
        }
        if let Some(summary) = rest.strip_prefix("-- ") {
            return Ok((out, summary.to_owned()));
        }
        if rest == "--" {
            return Ok((out, String::new()));
        }
        let (key, after) = word(rest, &['='])?;
        let Some(after) = after.strip_prefix('=') else {
            return err(format!("no `=` after {key:?}"));
        };
        let (value, after) = word(after, &[' '])?;
        out.push((key, value));
        rest = match after.strip_prefix(' ') {
            Some(r) => r,
            None if after.is_empty() => after,
            None => return err(format!("no space after {:?}", out.last())),
        };
    }
}

/// `ok(12ms)` → (Ok, Some(12)); `not_started` → (NotStarted, None).
fn status_value(value: &str) -> Result<(HandlerStatus, Option<u64>), ParseError> {
    let (word, ms) = match value.split_once('(') {
        Some((w, rest)) => {
            let Some(ms) = rest.strip_suffix("ms)").and_then(|n| n.parse().ok()) else {
                return err(format!("a handler's time is not `(<n>ms)`: {value}"));
            };
            (w, Some(ms))
        }
        None => (value, None),
    };
    match HandlerStatus::from_word(word) {
        Some(s) => Ok((s, ms)),
        None => err(format!("not a handler status: {value}")),
    }
}

fn number(key: &str, value: &str) -> Result<u64, ParseError> {
    value
        .parse()
        .or_else(|_| err(format!("{key}={value}: not a number")))
}

fn outcome_value(key: &str, value: &str) -> Result<Outcome, ParseError> {
    Outcome::from_word(value).map_or_else(|| err(format!("{key}={value}: not an outcome")), Ok)
}

/// `w3` → 3.
fn label_number(key: &str) -> Option<usize> {
    let n = key.strip_prefix('w')?;
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .then(|| n.parse().ok())
        .flatten()
}

fn parse_text(body: &str) -> Result<Parsed, ParseError> {
    let (pairs, summary) = pairs(body)?;
    let mut it = pairs.into_iter().peekable();
    fn next(
        it: &mut impl Iterator<Item = (String, String)>,
        want: &str,
    ) -> Result<String, ParseError> {
        match it.next() {
            Some((k, v)) if k == want => Ok(v),
            other => err(format!("expected {want}=, found {other:?}")),
        }
    }
    let outcome = outcome_value("outcome", &next(&mut it, "outcome")?)?;
    let reason = ShutdownReason::parse(&next(&mut it, "reason")?);
    let mut verdict = Verdict {
        outcome,
        reason,
        handlers: Vec::new(),
        total_ms: None,
        signal: None,
        workers: Vec::new(),
        untracked_workers: 0,
        budget_ms: None,
        handoff: None,
    };
    // `workers=N` follows the reason only with several workers.
    let several = it.peek().is_some_and(|(k, _)| k == "workers");
    let mut workers_said = 0;
    if several {
        let (k, v) = it.next().unwrap_or_default();
        workers_said = number(&k, &v)? as usize;
        if let Some((k, v)) = it.next_if(|(k, _)| k == "untracked_workers") {
            verdict.untracked_workers = number(&k, &v)? as usize;
        }
    }
    let (k, counted) = it.next().unwrap_or_default();
    if k != "handlers" {
        return err(format!("expected handlers=, found {k:?}"));
    }
    // The handoff's pairs follow `handlers=`: `handoff=` is `<n>/<n>`, the
    // others a number, which a handler's value never is.
    let digits = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
    if let Some((_, v)) = it.next_if(|(k, v)| {
        k == "handoff"
            && v.split_once('/')
                .is_some_and(|(a, b)| digits(a) && digits(b))
    }) {
        let (delivered, handed_off) = v.split_once('/').unwrap_or_default();
        let mut counts = HandoffCounts {
            handed_off: number("handoff", handed_off)? as usize,
            delivered: number("handoff", delivered)? as usize,
            ..HandoffCounts::default()
        };
        if let Some((k, v)) = it.next_if(|(k, v)| k == "dead_lettered" && digits(v)) {
            counts.dead_lettered = number(&k, &v)? as usize;
        }
        if let Some((k, v)) = it.next_if(|(k, v)| k == "handoff_refused" && digits(v)) {
            counts.refused = number(&k, &v)? as usize;
        }
        verdict.handoff = Some(counts);
    }
    if !several {
        // `total_ms=` is a number; a handler's value never is.
        if let Some((k, v)) =
            it.next_if(|(k, v)| k == "total_ms" && v.bytes().all(|b| b.is_ascii_digit()))
        {
            verdict.total_ms = Some(number(&k, &v)?);
        }
        for (name, value) in it {
            let (status, duration_ms) = status_value(&value)?;
            verdict.handlers.push(HandlerResult {
                name,
                status,
                duration_ms,
                error: None,
                worker: None,
            });
        }
    } else {
        for (key, value) in it {
            if label_number(&key) == Some(verdict.workers.len() + 1) {
                verdict.workers.push(WorkerVerdict {
                    label: key,
                    worker: value,
                    outcome: Outcome::NoReport,
                    total_ms: None,
                    signal: None,
                });
                continue;
            }
            let Some(current) = verdict.workers.last_mut() else {
                return err(format!("{key}= before any worker"));
            };
            let label = current.label.clone();
            if key == format!("{label}_outcome") {
                current.outcome = outcome_value(&key, &value)?;
            } else if key == format!("{label}_total_ms") {
                current.total_ms = Some(number(&key, &value)?);
            } else if let Some(name) = key.strip_prefix(&format!("{label}.")) {
                let (status, duration_ms) = status_value(&value)?;
                verdict.handlers.push(HandlerResult {
                    name: name.to_owned(),
                    status,
                    duration_ms,
                    error: None,
                    worker: Some(label),
                });
            } else {
                return err(format!("{key}= is not a key of worker {label}"));
            }
        }
        if verdict.workers.len() != workers_said {
            return err(format!(
                "workers={workers_said}, but {} are itemized",
                verdict.workers.len()
            ));
        }
    }
    let want = format!(
        "{}/{}",
        verdict.count(HandlerStatus::Ok),
        verdict.handlers.len()
    );
    if counted != want {
        return err(format!("handlers={counted}, but the pairs say {want}"));
    }
    Ok(Parsed {
        form: Form::Text,
        verdict,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_examples_of_the_protocol_document_parse() {
        let p = parse(
            "graceful-shutdown verdict: outcome=completed reason=spindown handlers=2/2 total_ms=13 \
             flush=ok(10ms) close-pool=ok(3ms) -- all 2 shutdown handlers completed in 13 ms",
        )
        .expect("parses");
        assert_eq!(p.form, Form::Text);
        assert_eq!(p.verdict.outcome, Outcome::Completed);
        assert_eq!(p.verdict.reason, ShutdownReason::Spindown);
        assert_eq!(p.verdict.total_ms, Some(13));
        assert_eq!(p.verdict.handlers.len(), 2);
        assert_eq!(p.verdict.handlers[1].name, "close-pool");
        assert_eq!(p.verdict.handlers[1].duration_ms, Some(3));
        assert_eq!(p.summary, "all 2 shutdown handlers completed in 13 ms");

        let p = parse(
            "graceful-shutdown verdict: outcome=runtime_killed reason=spindown workers=2 handlers=3/4 \
             w1=4242 w1_outcome=completed w1_total_ms=13 w1.flush=ok(10ms) w1.close-pool=ok(3ms) \
             w2=4243 w2_outcome=runtime_killed w2.flush=ok(9ms) w2.close-pool=running -- 1 of 2 \
             workers completed; w2: the runtime was gone before its shutdown handlers finished: 1 of \
             2 completed, cut off while running close-pool",
        )
        .expect("parses");
        let v = &p.verdict;
        assert_eq!(v.workers.len(), 2);
        assert_eq!(v.workers[1].worker, "4243");
        assert_eq!(v.workers[1].outcome, Outcome::RuntimeKilled);
        assert_eq!(v.workers[0].total_ms, Some(13));
        assert_eq!(
            v.handler_of("w2", "close-pool").map(|h| h.status),
            Some(HandlerStatus::Running)
        );
    }

    #[test]
    fn quoted_words_and_a_handler_named_like_a_key() {
        let p = parse(
            "2026-01-01T00:00:00Z graceful-shutdown verdict: outcome=handlers_failed reason=\"Out Of Memory\" \
             handlers=1/3 \"flush buffer\"=ok(1ms) total_ms=failed(2ms) \"a -- b\"=not_started -- 1 of 3",
        )
        .expect("parses");
        let names: Vec<&str> = p.verdict.handlers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["flush buffer", "total_ms", "a -- b"]);
        assert_eq!(p.verdict.total_ms, None);
        assert_eq!(p.verdict.reason.as_str(), "Out Of Memory");
        assert_eq!(p.summary, "1 of 3");
    }

    #[test]
    fn json_lines_parse_and_other_lines_do_not() {
        let p = parse(
            r#"{"timestamp":"x","level":"WARN","logger":"graceful-shutdown","message":"graceful-shutdown verdict","outcome":"handlers_failed","reason":"spindown","handlers":[{"name":"boom","status":"failed","durationMs":1,"error":"panicked: injected panic in boom"}],"totalMs":1,"signal":"SIGTERM","summary":"0 of 1"}"#,
        )
        .expect("parses");
        assert_eq!(p.form, Form::Json);
        assert_eq!(p.verdict.signal.as_deref(), Some("SIGTERM"));
        assert_eq!(
            p.verdict.handlers[0].error.as_deref(),
            Some("panicked: injected panic in boom")
        );
        assert_eq!(p.summary, "0 of 1");
        for bad in [
            "hello",
            r#"{"message":"something else"}"#,
            "graceful-shutdown verdict: outcome=fine reason=spindown handlers=0/0",
            "graceful-shutdown verdict: outcome=completed reason=spindown handlers=1/1",
            "graceful-shutdown verdict: outcome=completed reason=spindown handlers=0/1 a=weird",
            "graceful-shutdown verdict: outcome=completed reason=spindown handlers=0/0 \"open=x",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
