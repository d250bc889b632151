//! The verdict as one CloudWatch Embedded Metric Format (EMF) line, logged
//! when `GRACEFUL_SHUTDOWN_METRICS=emf`. CloudWatch turns it into metrics in
//! the `GracefulShutdown` namespace, per function, without any API call.

use crate::verdict::{HandlerStatus, Outcome, Verdict};
use serde_json::{json, Value};

pub const NAMESPACE: &str = "GracefulShutdown";

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
    let mut metrics = vec![
        ("ShutdownCompleted", "Count"),
        ("ShutdownHandlersFailed", "Count"),
        ("ShutdownRuntimeKilled", "Count"),
        ("ShutdownNoReport", "Count"),
        ("HandlersOk", "Count"),
        ("HandlersFailed", "Count"),
        ("HandlersTimedOut", "Count"),
    ];
    // EMF wants a value for every declared metric: declare the total only when known.
    if verdict.total_ms.is_some() {
        metrics.push(("HandlersTotalMs", "Milliseconds"));
    }
    // Several workers (Lambda Managed Instances): how many, how many cut off.
    let several = !verdict.workers.is_empty();
    if several {
        metrics.push(("Workers", "Count"));
        metrics.push(("WorkersCutOff", "Count"));
    }
    let mut obj = json!({
        "_aws": {
            "Timestamp": epoch_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["FunctionName"]],
                "Metrics": metrics
                    .iter()
                    .map(|(name, unit)| json!({"Name": name, "Unit": unit}))
                    .collect::<Vec<_>>(),
            }],
        },
        "FunctionName": function_name,
        "Outcome": verdict.outcome.as_str(),
        "ShutdownReason": verdict.reason,
        "ShutdownCompleted": flag(Outcome::Completed),
        "ShutdownHandlersFailed": flag(Outcome::HandlersFailed),
        "ShutdownRuntimeKilled": flag(Outcome::RuntimeKilled),
        "ShutdownNoReport": flag(Outcome::NoReport),
        "HandlersOk": count(HandlerStatus::Ok),
        "HandlersFailed": count(HandlerStatus::Failed),
        "HandlersTimedOut": count(HandlerStatus::TimedOut),
    });
    if let Value::Object(map) = &mut obj {
        if let Some(total) = verdict.total_ms {
            map.insert("HandlersTotalMs".into(), json!(total));
        }
        if several {
            let cut_off = verdict
                .workers
                .iter()
                .filter(|w| w.outcome == Outcome::RuntimeKilled)
                .count();
            map.insert("Workers".into(), json!(verdict.workers.len()));
            map.insert("WorkersCutOff".into(), json!(cut_off));
        }
    }
    obj.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use graceful_shutdown_protocol::fixtures::*;
    use graceful_shutdown_protocol::{Report, WorkerReport};

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
