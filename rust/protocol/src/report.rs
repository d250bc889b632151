//! The report schema: what the function library tells the extension, one
//! JSON object per report, and the caps that keep every body under
//! [`MAX_REPORT_BYTES`]. How a body travels (the HTTP request to
//! `127.0.0.1:$GRACEFUL_SHUTDOWN_PORT`) is [`crate::wire`]'s.

use serde::{Deserialize, Serialize};

use crate::text::{fit, json_string_len};
use crate::{limits, MAX_REPORT_BYTES};

/// Name a handler was registered with.
pub type HandlerName = String;

/// One progress report. Tagged by `type`; field names are camelCase.
/// Unknown types deserialize to [`Report::Unknown`] so that an older
/// extension keeps working with a newer library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Report {
    /// Sent once at cold start: the library is in use, with these handlers.
    /// When the names do not fit in one report body, several `hello`s are
    /// sent (see [`hello_reports`]); `first_index` is the registration index
    /// of the first name in this one (absent, and 0, in the first).
    Hello {
        pid: u32,
        handlers: Vec<HandlerName>,
        timeout_ms: u32,
        concurrent: bool,
        #[serde(default, skip_serializing_if = "is_zero")]
        first_index: usize,
    },
    /// A shutdown signal (or an explicit trigger) arrived; handlers start now.
    ShutdownStarted { signal: String },
    /// Handler `index` began running.
    Started { handler: HandlerName, index: usize },
    /// Handler `index` returned `Ok`.
    Finished {
        handler: HandlerName,
        index: usize,
        duration_ms: u64,
    },
    /// Handler `index` returned an error or panicked.
    Failed {
        handler: HandlerName,
        index: usize,
        duration_ms: u64,
        error: String,
    },
    /// Handler `index` was still running when the budget ran out and was abandoned.
    TimedOut {
        handler: HandlerName,
        index: usize,
        duration_ms: u64,
    },
    /// Every handler has finished, failed or timed out; the process exits next.
    AllDone {
        completed: usize,
        failed: usize,
        timed_out: usize,
        total_ms: u64,
    },
    /// A report type this version does not know. Kept, not rejected.
    #[serde(other)]
    Unknown,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Longest handler name a report carries: bytes of the name once escaped as
/// a JSON string, without the quotes. Longer names are cut ([`crate::text::fit`]).
pub const MAX_NAME_BYTES: usize = 128;
/// Longest error text a report carries, measured like [`MAX_NAME_BYTES`].
/// With both caps, every report but `hello` fits in [`MAX_REPORT_BYTES`]
/// whatever the text; `hello` is split by [`hello_reports`].
pub const MAX_ERROR_BYTES: usize = 1024;

/// The `hello` reports that announce `handlers` (in registration order):
/// one, unless the names do not fit in one report body; then as many as
/// needed, each under [`MAX_REPORT_BYTES`], the later ones saying where their
/// names start. Names are cut to [`MAX_NAME_BYTES`] first.
pub fn hello_reports(
    pid: u32,
    handlers: &[HandlerName],
    timeout_ms: u32,
    concurrent: bool,
) -> Vec<Report> {
    hello_reports_from(None, pid, handlers, timeout_ms, concurrent)
}

/// [`hello_reports`] for reports that will be sent with `worker`
/// ([`crate::wire::encode_request_from`]): each body, `worker` included, stays under
/// [`MAX_REPORT_BYTES`].
pub fn hello_reports_from(
    worker: Option<&str>,
    pid: u32,
    handlers: &[HandlerName],
    timeout_ms: u32,
    concurrent: bool,
) -> Vec<Report> {
    let hello = |first_index: usize, handlers: Vec<HandlerName>| Report::Hello {
        pid,
        handlers,
        timeout_ms,
        concurrent,
        first_index,
    };
    let mut reports = Vec::new();
    let mut first = 0;
    let mut names: Vec<HandlerName> = Vec::new();
    // The exact size, as JSON, of the report being filled: the report without
    // names, plus `"name"` per name and a comma between names.
    let mut size = hello(first, Vec::new()).to_json_from(worker).len();
    for (index, name) in handlers.iter().enumerate() {
        let name = fit(name, MAX_NAME_BYTES);
        let cost =
            |names: &[HandlerName]| json_string_len(&name) + 2 + usize::from(!names.is_empty());
        if !names.is_empty() && size + cost(&names) > MAX_REPORT_BYTES {
            reports.push(hello(first, std::mem::take(&mut names)));
            first = index;
            size = hello(first, Vec::new()).to_json_from(worker).len();
        }
        size += cost(&names);
        names.push(name);
    }
    reports.push(hello(first, names));
    reports
}

/// Why a report body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("report body is {0} bytes, the limit is {MAX_REPORT_BYTES}")]
    TooLarge(usize),
    #[error("report body is not a valid report: {0}")]
    Malformed(String),
}

impl Report {
    /// Parse one report body. Never panics, whatever the bytes.
    pub fn parse(body: &[u8]) -> Result<Report, ReportError> {
        if body.len() > MAX_REPORT_BYTES {
            return Err(ReportError::TooLarge(body.len()));
        }
        serde_json::from_slice(body).map_err(|e| ReportError::Malformed(e.to_string()))
    }

    /// The JSON body of this report.
    pub fn to_json(&self) -> String {
        // Serializing a plain enum of strings and integers cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }

    /// The JSON body of this report sent by `worker`: `worker` is the last
    /// field, cut to `maxWorkerBytes` (`spec/limits.json`) as the extension
    /// would; `None` or `""` give exactly [`Report::to_json`].
    pub fn to_json_from(&self, worker: Option<&str>) -> String {
        let json = self.to_json();
        let Some(worker) = worker.map(clean_worker).filter(|w| !w.is_empty()) else {
            return json;
        };
        // `to_json` always writes an object with at least `type`: add one
        // more field before its closing brace.
        let open = json.strip_suffix('}').unwrap_or(&json);
        // Serializing a string cannot fail.
        let value = serde_json::to_string(&worker).unwrap_or_else(|_| String::from("\"\""));
        format!("{open},\"worker\":{value}}}")
    }
}

/// One report with the worker that sent it (`worker` in the body; see
/// "Several workers" in `docs/protocol.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerReport {
    /// The sender's `worker`, cut to `maxWorkerBytes`; `None` when the body
    /// has none (or `null`, or `""`): the one worker without a name.
    pub worker: Option<String>,
    pub report: Report,
}

/// Only the `worker` field of a body; everything else is [`Report`]'s.
#[derive(Deserialize)]
struct Identity {
    #[serde(default)]
    worker: WorkerField,
}

/// What a body's `worker` held. Read by a small visitor rather than as a
/// `serde_json::Value`, which would grow the extension's binary by several
/// KiB for one field.
#[derive(Default)]
enum WorkerField {
    #[default]
    Absent,
    Text(String),
    /// Not a string or an integer: what it was, for the refusal.
    Wrong(&'static str),
}

impl<'de> Deserialize<'de> for WorkerField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = WorkerField;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a worker")
            }
            fn visit_str<E>(self, v: &str) -> Result<WorkerField, E> {
                Ok(WorkerField::Text(v.to_owned()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<WorkerField, E> {
                Ok(WorkerField::Text(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<WorkerField, E> {
                Ok(WorkerField::Text(v.to_string()))
            }
            fn visit_f64<E>(self, _: f64) -> Result<WorkerField, E> {
                Ok(WorkerField::Wrong("a fractional number"))
            }
            fn visit_bool<E>(self, _: bool) -> Result<WorkerField, E> {
                Ok(WorkerField::Wrong("a boolean"))
            }
            fn visit_unit<E>(self) -> Result<WorkerField, E> {
                Ok(WorkerField::Absent)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<WorkerField, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(WorkerField::Wrong("an array"))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<WorkerField, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(WorkerField::Wrong("an object"))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// `worker` as kept: cut to `maxWorkerBytes` as written in JSON.
pub(crate) fn clean_worker(worker: &str) -> String {
    fit(worker, limits().max_worker_bytes)
}

impl WorkerReport {
    /// A report from the one worker without a name.
    pub fn anonymous(report: Report) -> WorkerReport {
        WorkerReport {
            worker: None,
            report,
        }
    }

    /// Parse one report body and its `worker`. A string `worker` is kept
    /// (cut), an integer as its decimal text; any other type is refused.
    /// Never panics, whatever the bytes.
    pub fn parse(body: &[u8]) -> Result<WorkerReport, ReportError> {
        let report = Report::parse(body)?;
        let identity: Identity =
            serde_json::from_slice(body).map_err(|e| ReportError::Malformed(e.to_string()))?;
        let worker = match identity.worker {
            WorkerField::Absent => None,
            WorkerField::Text(s) => Some(clean_worker(&s)),
            WorkerField::Wrong(kind) => {
                return Err(ReportError::Malformed(format!(
                    "worker: expected a string, got {kind}"
                )));
            }
        };
        Ok(WorkerReport {
            worker: worker.filter(|w| !w.is_empty()),
            report,
        })
    }

    /// The JSON body, as [`Report::to_json_from`] writes it.
    pub fn to_json(&self) -> String {
        self.report.to_json_from(self.worker.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wire_format_is_camel_case_and_tagged() {
        let r = Report::Finished {
            handler: "flush".into(),
            index: 0,
            duration_ms: 12,
        };
        assert_eq!(
            r.to_json(),
            r#"{"type":"finished","handler":"flush","index":0,"durationMs":12}"#
        );
        let done = Report::AllDone {
            completed: 2,
            failed: 1,
            timed_out: 0,
            total_ms: 40,
        };
        assert_eq!(
            done.to_json(),
            r#"{"type":"allDone","completed":2,"failed":1,"timedOut":0,"totalMs":40}"#
        );
        assert_eq!(Report::parse(done.to_json().as_bytes()), Ok(done));
    }

    #[test]
    fn unknown_types_are_kept_not_rejected() {
        assert_eq!(
            Report::parse(br#"{"type":"fromTheFuture","x":1}"#),
            Ok(Report::Unknown)
        );
    }

    #[test]
    fn bad_bodies_are_errors() {
        assert!(matches!(Report::parse(b""), Err(ReportError::Malformed(_))));
        assert!(matches!(
            Report::parse(b"{\"type\":\"finished\""),
            Err(ReportError::Malformed(_))
        ));
        assert!(matches!(
            Report::parse(b"{\"handler\":\"x\"}"),
            Err(ReportError::Malformed(_))
        ));
        let big = vec![b' '; MAX_REPORT_BYTES + 1];
        assert_eq!(
            Report::parse(&big),
            Err(ReportError::TooLarge(MAX_REPORT_BYTES + 1))
        );
    }

    #[test]
    fn reports_with_the_longest_texts_fit_the_body_limit() {
        let name = fit(&"é\u{1}\"".repeat(5000), MAX_NAME_BYTES);
        let error = fit(
            &format!("panicked: {}", "😱\n\u{7}".repeat(5000)),
            MAX_ERROR_BYTES,
        );
        let reports = [
            Report::Failed {
                handler: name.clone(),
                index: usize::MAX,
                duration_ms: u64::MAX,
                error,
            },
            Report::Started {
                handler: name.clone(),
                index: usize::MAX,
            },
            Report::Finished {
                handler: name.clone(),
                index: usize::MAX,
                duration_ms: u64::MAX,
            },
            Report::TimedOut {
                handler: name,
                index: usize::MAX,
                duration_ms: u64::MAX,
            },
        ];
        for report in reports {
            let json = report.to_json();
            assert!(json.len() <= MAX_REPORT_BYTES, "{} bytes", json.len());
            assert_eq!(Report::parse(json.as_bytes()), Ok(report));
        }
    }

    #[test]
    fn hello_is_one_report_when_the_names_fit() {
        let names: Vec<String> = vec!["flush".into(), "close-pool".into()];
        let hellos = hello_reports(7, &names, 250, true);
        assert_eq!(hellos.len(), 1);
        assert_eq!(
            hellos[0].to_json(),
            r#"{"type":"hello","pid":7,"handlers":["flush","close-pool"],"timeoutMs":250,"concurrent":true}"#
        );
        assert_eq!(hello_reports(7, &[], 250, false).len(), 1);
    }

    #[test]
    fn many_long_names_are_split_across_hellos_that_each_fit() {
        let names: Vec<String> = (0..100)
            .map(|i| format!("{i}-{}", "ß".repeat(200)))
            .collect();
        let hellos = hello_reports(u32::MAX, &names, u32::MAX, false);
        assert!(hellos.len() > 1);
        let mut all = Vec::new();
        for hello in &hellos {
            let json = hello.to_json();
            assert!(json.len() <= MAX_REPORT_BYTES, "{} bytes", json.len());
            let Ok(Report::Hello {
                handlers,
                first_index,
                ..
            }) = Report::parse(json.as_bytes())
            else {
                panic!("not a hello: {json}");
            };
            assert_eq!(first_index, all.len());
            all.extend(handlers);
        }
        let fitted: Vec<String> = names.iter().map(|n| fit(n, MAX_NAME_BYTES)).collect();
        assert_eq!(all, fitted);
        // The split is tight: each report but the last could not take one more name.
        for pair in hellos.windows(2) {
            let (Report::Hello { handlers, .. }, Report::Hello { handlers: next, .. }) =
                (&pair[0], &pair[1])
            else {
                unreachable!()
            };
            assert!(
                pair[0].to_json().len() + next[0].len() + 3 > MAX_REPORT_BYTES,
                "{}",
                handlers.len()
            );
        }
    }

    #[test]
    fn worker_is_the_last_field_and_the_request_is_exact() {
        let started = Report::Started {
            handler: "flush".into(),
            index: 0,
        };
        assert_eq!(
            started.to_json_from(Some("4242")),
            r#"{"type":"started","handler":"flush","index":0,"worker":"4242"}"#
        );
        assert_eq!(started.to_json_from(None), started.to_json());
        assert_eq!(started.to_json_from(Some("")), started.to_json());
        let hello = &hello_reports(4242, &["flush".into(), "close-pool".into()], 250, false)[0];
        assert_eq!(
            hello.to_json_from(Some("4242")),
            r#"{"type":"hello","pid":4242,"handlers":["flush","close-pool"],"timeoutMs":250,"concurrent":false,"worker":"4242"}"#
        );
        let finished = Report::Finished {
            handler: "flush".into(),
            index: 0,
            duration_ms: 3,
        };
        assert_eq!(
            finished.to_json_from(Some("88/2")),
            r#"{"type":"finished","handler":"flush","index":0,"durationMs":3,"worker":"88/2"}"#
        );
        // Quotes in a worker are escaped, as in any JSON string.
        let odd = finished.to_json_from(Some("a\"b"));
        assert_eq!(
            WorkerReport::parse(odd.as_bytes()).map(|r| r.worker),
            Ok(Some("a\"b".to_owned()))
        );
    }

    #[test]
    fn worker_is_parsed_with_the_report() {
        let parse = |body: &str| WorkerReport::parse(body.as_bytes());
        let started = Report::Started {
            handler: "flush".into(),
            index: 0,
        };
        let with = |worker: Option<&str>| {
            Ok(WorkerReport {
                worker: worker.map(str::to_owned),
                report: started.clone(),
            })
        };
        let body = |worker: &str| {
            format!(r#"{{"type":"started","handler":"flush","index":0,"worker":{worker}}}"#)
        };
        assert_eq!(parse(&body(r#""4242""#)), with(Some("4242")));
        assert_eq!(
            parse(&body("4242")),
            with(Some("4242")),
            "an integer is its text"
        );
        assert_eq!(parse(&body("-1")), with(Some("-1")));
        assert_eq!(parse(&body("null")), with(None));
        assert_eq!(parse(&body(r#""""#)), with(None));
        assert_eq!(parse(&started.to_json()), with(None), "absent");
        // Order does not matter to the parser.
        assert_eq!(
            parse(r#"{"worker":"9","index":0,"handler":"flush","type":"started"}"#),
            with(Some("9"))
        );
        for (bad, kind) in [
            ("{}", "an object"),
            ("[1]", "an array"),
            ("true", "a boolean"),
            ("1.5", "a fractional number"),
        ] {
            assert_eq!(
                parse(&body(bad)),
                Err(ReportError::Malformed(format!(
                    "worker: expected a string, got {kind}"
                ))),
                "{bad}"
            );
        }
        // A worker too long is cut as the extension keeps it, and encoding cuts the same way.
        let max = limits().max_worker_bytes;
        let long = "ü".repeat(100);
        let kept = parse(&body(&format!("\"{long}\"")))
            .ok()
            .and_then(|r| r.worker)
            .unwrap_or_default();
        assert!(
            json_string_len(&kept) <= max && kept.ends_with('…'),
            "{kept}"
        );
        assert!(started.to_json_from(Some(&long)).contains(&kept));
        // Unknown report types keep their worker; unknown fields are ignored.
        assert_eq!(
            parse(r#"{"type":"fromTheFuture","worker":"3","x":{"y":1}}"#),
            Ok(WorkerReport {
                worker: Some("3".into()),
                report: Report::Unknown
            })
        );
        assert!(matches!(
            parse(r#"{"type":"started","worker":"1"}"#),
            Err(ReportError::Malformed(_))
        ));
    }

    #[test]
    fn hellos_with_the_longest_worker_still_fit() {
        let worker = "ß".repeat(500);
        let names: Vec<String> = (0..100)
            .map(|i| format!("{i}-{}", "ß".repeat(200)))
            .collect();
        let hellos = hello_reports_from(Some(&worker), u32::MAX, &names, u32::MAX, false);
        let mut all = Vec::new();
        for hello in &hellos {
            let json = hello.to_json_from(Some(&worker));
            assert!(json.len() <= MAX_REPORT_BYTES, "{} bytes", json.len());
            let parsed = WorkerReport::parse(json.as_bytes()).expect("parses");
            assert_eq!(parsed.worker.as_deref(), Some(fit(&worker, 64).as_str()));
            let Report::Hello { handlers, .. } = parsed.report else {
                panic!("not a hello: {json}");
            };
            all.extend(handlers);
        }
        assert_eq!(all.len(), names.len());
        assert!(
            hellos.len() >= hello_reports(u32::MAX, &names, u32::MAX, false).len(),
            "room was made for the worker"
        );
    }

    proptest! {
        #[test]
        fn worker_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = WorkerReport::parse(&bytes);
        }

        #[test]
        fn worker_round_trips(worker in any::<String>(), index in 0usize..64) {
            let r = Report::Started { handler: "h".into(), index };
            let parsed = WorkerReport::parse(r.to_json_from(Some(&worker)).as_bytes());
            let kept = Some(fit(&worker, limits().max_worker_bytes)).filter(|w| !w.is_empty());
            prop_assert_eq!(parsed, Ok(WorkerReport { worker: kept, report: r }));
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = Report::parse(&bytes);
        }

        #[test]
        fn parse_never_panics_on_json_like_text(s in r#"\{"type":"[a-zA-Z]{0,12}"(,"[a-zA-Z]{1,10}":("[^"]{0,8}"|-?[0-9]{1,22}|\[\]|null|true))*\}?"#) {
            let _ = Report::parse(s.as_bytes());
        }

        #[test]
        fn round_trips(handler in "[a-z-]{1,20}", index in 0usize..64, ms in 0u64..1_000_000) {
            let r = Report::TimedOut { handler, index, duration_ms: ms };
            prop_assert_eq!(Report::parse(r.to_json().as_bytes()), Ok(r));
        }
    }
}
