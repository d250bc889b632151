//! The Java tests' window on the Rust protocol crate (ReportVectorsTest).
//!
//! Reads one JSON request per line on stdin and answers one JSON line each:
//! - `{"encode": <report>, "port": N, "secret": "s", "worker": "w"?}` ->
//!   `{"request": "<exact request text>", "body": "<json>"}` (the report is
//!   parsed by the Rust `Report` type, then encoded again);
//! - `{"fit": "text", "max": N}` -> `{"fit": "<cut text>"}`;
//! - `{"hello": ["names"], "pid": N, "timeoutMs": N, "concurrent": bool, "worker": "w"?}` ->
//!   `{"hellos": ["<json>", ...]}`.

use std::io::{BufRead, Write};

use graceful_shutdown_protocol::report::hello_reports_from;
use graceful_shutdown_protocol::text::fit;
use graceful_shutdown_protocol::wire::encode_request_from;
use graceful_shutdown_protocol::Report;
use serde_json::{json, Value};

fn answer(request: &Value) -> Value {
    if let Some(report) = request.get("encode") {
        let body = serde_json::to_vec(report).unwrap_or_default();
        return match Report::parse(&body) {
            Ok(parsed) => {
                let port = request["port"].as_u64().unwrap_or(0) as u16;
                let secret = request["secret"].as_str().unwrap_or("");
                let worker = request.get("worker").and_then(Value::as_str);
                json!({
                    "request": encode_request_from(port, secret, &parsed, worker),
                    "body": parsed.to_json_from(worker),
                })
            }
            Err(e) => json!({"error": e.to_string()}),
        };
    }
    if let Some(text) = request.get("fit").and_then(Value::as_str) {
        let max = request["max"].as_u64().unwrap_or(0) as usize;
        return json!({"fit": fit(text, max)});
    }
    if let Some(names) = request.get("hello").and_then(Value::as_array) {
        let names: Vec<String> = names
            .iter()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect();
        let worker = request.get("worker").and_then(Value::as_str);
        let hellos = hello_reports_from(
            worker,
            request["pid"].as_u64().unwrap_or(0) as u32,
            &names,
            request["timeoutMs"].as_u64().unwrap_or(0) as u32,
            request["concurrent"].as_bool().unwrap_or(false),
        );
        let bodies: Vec<String> = hellos.iter().map(|h| h.to_json_from(worker)).collect();
        return json!({"hellos": bodies});
    }
    json!({"error": "unknown request"})
}

fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines().map_while(Result::ok) {
        let reply = match serde_json::from_str::<Value>(&line) {
            Ok(request) => answer(&request),
            Err(e) => json!({"error": e.to_string()}),
        };
        let _ = writeln!(out, "{reply}");
    }
}
