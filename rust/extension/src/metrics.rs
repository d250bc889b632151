//! The verdict as one CloudWatch Embedded Metric Format (EMF) line, logged
//! when `GRACEFUL_SHUTDOWN_METRICS=emf`. CloudWatch turns it into metrics per
//! function, without any API call. The metric names and units, the namespace
//! and the dimension come from `spec/metrics.json` (shared with the CDK
//! construct library's metric helpers), turned into constants by `build.rs`.

use crate::verdict::{HandlerStatus, Outcome, Verdict};
use serde_json::{json, Map, Value};

/// One metric of `spec/metrics.json`: its key there, its CloudWatch name and unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    pub key: &'static str,
    pub name: &'static str,
    pub unit: &'static str,
}

mod spec {
    include!(concat!(env!("OUT_DIR"), "/metrics_spec.rs"));
}

pub use spec::{DIMENSION, NAMESPACE};

/// The metric with `key` in `spec/metrics.json`. Used in constants only, so a
/// key missing from the spec fails the build.
const fn metric(key: &str) -> Metric {
    let mut i = 0;
    while i < spec::METRICS.len() {
        if same(spec::METRICS[i].key, key) {
            return spec::METRICS[i];
        }
        i += 1;
    }
    panic!("a metric key the extension logs is missing from spec/metrics.json")
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const COMPLETED: Metric = metric("completed");
const HANDLERS_FAILED: Metric = metric("handlersFailed");
const RUNTIME_KILLED: Metric = metric("runtimeKilled");
const NO_REPORT: Metric = metric("noReport");
const HANDLERS_OK: Metric = metric("handlersOk");
const HANDLERS_FAILED_COUNT: Metric = metric("handlersFailedCount");
const HANDLERS_TIMED_OUT: Metric = metric("handlersTimedOut");
const HANDLERS_DURATION: Metric = metric("handlersDuration");

/// Only with several workers (Lambda Managed Instances); not in the spec, as
/// the construct library has no helpers for them.
const WORKERS: Metric = Metric {
    key: "workers",
    name: "Workers",
    unit: "Count",
};
const WORKERS_CUT_OFF: Metric = Metric {
    key: "workersCutOff",
    name: "WorkersCutOff",
    unit: "Count",
};

/// Only when something was handed off or refused (`docs/protocol.md`, Handoff).
const HANDED_OFF: Metric = Metric {
    key: "handedOff",
    name: "HandedOff",
    unit: "Count",
};
const HANDOFF_DELIVERED: Metric = Metric {
    key: "handoffDelivered",
    name: "HandoffDelivered",
    unit: "Count",
};
const HANDOFF_DEAD_LETTERED: Metric = Metric {
    key: "handoffDeadLettered",
    name: "HandoffDeadLettered",
    unit: "Count",
};
const HANDOFF_REFUSED: Metric = Metric {
    key: "handoffRefused",
    name: "HandoffRefused",
    unit: "Count",
};

/// The EMF line for `verdict`. `function_name` is the dimension (from the
/// registration answer); `epoch_ms` is the metric timestamp.
pub fn emf_line(verdict: &Verdict, function_name: &str, epoch_ms: u64) -> String {
    let count = |status: HandlerStatus| {
        verdict
            .handlers
            .iter()
            .filter(|h| h.status == status)
            .count()
    };
    let flag = |outcome: Outcome| u8::from(verdict.outcome == outcome);
    let mut values: Vec<(Metric, Value)> = vec![
        (COMPLETED, json!(flag(Outcome::Completed))),
        (HANDLERS_FAILED, json!(flag(Outcome::HandlersFailed))),
        (RUNTIME_KILLED, json!(flag(Outcome::RuntimeKilled))),
        (NO_REPORT, json!(flag(Outcome::NoReport))),
        (HANDLERS_OK, json!(count(HandlerStatus::Ok))),
        (HANDLERS_FAILED_COUNT, json!(count(HandlerStatus::Failed))),
        (HANDLERS_TIMED_OUT, json!(count(HandlerStatus::TimedOut))),
    ];
    // EMF wants a value for every declared metric: declare the total only when known.
    if let Some(total) = verdict.total_ms {
        values.push((HANDLERS_DURATION, json!(total)));
    }
    // Several workers (Lambda Managed Instances): how many, how many cut off.
    if !verdict.workers.is_empty() {
        let cut_off = verdict
            .workers
            .iter()
            .filter(|w| w.outcome == Outcome::RuntimeKilled)
            .count();
        values.push((WORKERS, json!(verdict.workers.len())));
        values.push((WORKERS_CUT_OFF, json!(cut_off)));
    }
    if let Some(h) = &verdict.handoff {
        values.push((HANDED_OFF, json!(h.handed_off)));
        values.push((HANDOFF_DELIVERED, json!(h.delivered)));
        values.push((HANDOFF_DEAD_LETTERED, json!(h.dead_lettered)));
        values.push((HANDOFF_REFUSED, json!(h.refused)));
    }
    let declared: Vec<Value> = values
        .iter()
        .map(|(m, _)| json!({"Name": m.name, "Unit": m.unit}))
        .collect();
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": epoch_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[DIMENSION]],
                "Metrics": declared,
            }],
        }),
    );
    line.insert(DIMENSION.into(), json!(function_name));
    line.insert("Outcome".into(), json!(verdict.outcome.as_str()));
    line.insert("ShutdownReason".into(), json!(verdict.reason));
    for (m, value) in values {
        line.insert(m.name.into(), value);
    }
    Value::Object(line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Decide;
    use graceful_shutdown_protocol::fixtures::*;
    use graceful_shutdown_protocol::{Report, WorkerReport};

    /// Read apart from `build.rs`, so a slip in the generated constants shows.
    fn spec_file() -> Value {
        serde_json::from_str(include_str!("../../../spec/metrics.json")).expect("spec json")
    }

    #[test]
    fn every_metric_of_the_spec_is_logged_by_name_with_its_unit() {
        let spec = spec_file();
        let v = Verdict::decide(
            &"spindown".into(),
            &[
                Report::Hello {
                    pid: 1,
                    handlers: vec!["a".into()],
                    timeout_ms: 250,
                    concurrent: false,
                    first_index: 0,
                },
                finished("a", 0, 3),
                all_done(1, 0, 0, 3),
            ],
        );
        let line: Value = serde_json::from_str(&emf_line(&v, "orders", 0)).expect("json");
        let decl = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(decl["Namespace"], spec["namespace"]);
        assert_eq!(decl["Dimensions"], json!([[spec["dimension"]]]));
        assert_eq!(
            line[spec["dimension"].as_str().expect("dimension")],
            "orders"
        );
        let declared = decl["Metrics"].as_array().expect("metrics");
        let metrics = spec["metrics"].as_object().expect("spec metrics");
        assert_eq!(metrics.len(), 8, "the spec's metrics: {metrics:?}");
        for (key, m) in metrics {
            let name = m["name"].as_str().expect("name");
            assert!(
                declared
                    .iter()
                    .any(|d| d["Name"] == m["name"] && d["Unit"] == m["unit"]),
                "{key} ({name}, {}) is not declared: {declared:?}",
                m["unit"]
            );
            assert!(line[name].is_number(), "{key} ({name}) has no value");
            assert_eq!(metric(key).name, name, "{key}");
        }
        assert_eq!(declared.len(), metrics.len(), "one worker: the spec's only");
    }

    #[test]
    fn every_declared_metric_has_a_value_when_known() {
        let v = Verdict::decide(
            &"spindown".into(),
            &[
                Report::Hello {
                    pid: 1,
                    handlers: vec!["a".into(), "b".into()],
                    timeout_ms: 250,
                    concurrent: false,
                    first_index: 0,
                },
                finished("a", 0, 3),
                timed_out("b", 1, 250),
                all_done(1, 0, 1, 253),
            ],
        );
        let line: Value = serde_json::from_str(&emf_line(&v, "orders", 1_000)).expect("json");
        let decl = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(decl["Namespace"], "GracefulShutdown");
        assert_eq!(decl["Dimensions"], json!([["FunctionName"]]));
        assert_eq!(line["_aws"]["Timestamp"], 1_000);
        for m in decl["Metrics"].as_array().expect("metrics") {
            let name = m["Name"].as_str().expect("name");
            assert!(line[name].is_number(), "{name} has no value");
        }
        assert_eq!(line["FunctionName"], "orders");
        assert_eq!(line["Outcome"], "handlers_failed");
        assert_eq!(line["ShutdownHandlersFailed"], 1);
        assert_eq!(line["ShutdownCompleted"], 0);
        assert_eq!(
            (
                line["HandlersOk"].as_u64(),
                line["HandlersTimedOut"].as_u64()
            ),
            (Some(1), Some(1))
        );
        assert_eq!(line["HandlersTotalMs"], 253);
    }

    #[test]
    fn several_workers_are_counted_and_their_handlers_summed() {
        let from = |worker: &str, report: Report| WorkerReport {
            worker: Some(worker.into()),
            report,
        };
        let hello = Report::Hello {
            pid: 1,
            handlers: vec!["a".into()],
            timeout_ms: 250,
            concurrent: false,
            first_index: 0,
        };
        let ok = finished("a", 0, 3);
        let done = all_done(1, 0, 0, 3);
        let v = Verdict::decide_workers(
            &"spindown".into(),
            &[
                from("1", hello.clone()),
                from("2", hello.clone()),
                from("3", hello),
                from("1", ok.clone()),
                from("2", ok),
                from("1", done.clone()),
                from("2", done),
            ],
        );
        let line: Value = serde_json::from_str(&emf_line(&v, "orders", 0)).expect("json");
        assert_eq!(line["Outcome"], "runtime_killed");
        assert_eq!(line["Workers"], 3);
        assert_eq!(line["WorkersCutOff"], 1);
        assert_eq!(line["HandlersOk"], 2);
        let decl = &line["_aws"]["CloudWatchMetrics"][0]["Metrics"];
        for m in decl.as_array().expect("metrics") {
            let name = m["Name"].as_str().expect("name");
            assert!(line[name].is_number(), "{name} has no value");
        }
        assert!(decl.to_string().contains("\"WorkersCutOff\""));
        // One worker: the line of today, without worker metrics.
        let one = emf_line(&Verdict::decide(&"spindown".into(), &[]), "orders", 0);
        assert!(!one.contains("Workers"), "{one}");
    }

    #[test]
    fn no_report_leaves_the_total_out() {
        let line: Value =
            serde_json::from_str(&emf_line(&Verdict::decide(&"timeout".into(), &[]), "f", 0))
                .expect("json");
        assert_eq!(line["ShutdownNoReport"], 1);
        assert_eq!(line["ShutdownReason"], "timeout");
        assert!(line.get("HandlersTotalMs").is_none());
        let declared = line["_aws"]["CloudWatchMetrics"][0]["Metrics"].to_string();
        assert!(!declared.contains("HandlersTotalMs"), "{declared}");
    }
}
