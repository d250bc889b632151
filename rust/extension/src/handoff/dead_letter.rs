//! The dead-letter record: one log line per handed-off request that was not
//! delivered, holding the request as it was handed off, so that it can be
//! replayed (`{"type":"handoff","requests":[record.request]}` hands it off
//! again). Pure.

use graceful_shutdown_protocol::HandoffRequest;
use serde_json::{json, Value};

use crate::log::{rfc3339_ms, LogFormat};

/// Marker of every dead-letter record, so that a log search finds them all.
pub const MARKER: &str = "graceful-shutdown handoff dead-letter";

/// Why and how a request was given up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub id: &'a str,
    pub request: &'a HandoffRequest,
    pub attempts: u32,
    /// The last attempt's answer or failure; `None` if none was made.
    pub last_error: Option<&'a str>,
    /// An attempt was under way when time ran out: it may have arrived.
    pub in_flight: bool,
}

/// The record's line: `graceful-shutdown handoff dead-letter {json}` in
/// text, one JSON object with `"message"` and the same fields in JSON.
pub fn line(format: LogFormat, record: &Record<'_>, epoch_ms: u64) -> String {
    // The request's own encoder writes it as handed off (fields in order).
    let request: Value = serde_json::from_str(&record.request.to_json()).unwrap_or(Value::Null);
    let mut fields = json!({
        "id": record.id,
        "attempts": record.attempts,
        "lastError": record.last_error,
        "inFlight": record.in_flight,
        "request": request,
    });
    match format {
        LogFormat::Text => format!("{MARKER} {fields}"),
        LogFormat::Json => {
            if let Value::Object(object) = &mut fields {
                object.insert("timestamp".into(), json!(rfc3339_ms(epoch_ms)));
                object.insert("level".into(), json!("WARN"));
                object.insert(
                    "logger".into(),
                    json!(graceful_shutdown_protocol::EXTENSION_NAME),
                );
                object.insert("message".into(), json!(MARKER));
            }
            fields.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use graceful_shutdown_protocol::Handoff;

    fn request() -> HandoffRequest {
        let body = r#"{"type":"handoff","requests":[{"id":"flush-1","method":"POST","url":"http://127.0.0.1:9/x","headers":{"content-type":"application/json"},"body":"{\"n\":1}"}]}"#;
        Handoff::parse(body.as_bytes())
            .expect("valid")
            .requests
            .remove(0)
    }

    #[test]
    fn a_record_replays_as_a_handoff() {
        let request = request();
        let record = Record {
            id: "flush-1",
            request: &request,
            attempts: 3,
            last_error: Some("503 Service Unavailable"),
            in_flight: false,
        };
        for format in [LogFormat::Text, LogFormat::Json] {
            let line = line(format, &record, 0);
            assert!(!line.contains('\n'), "one line");
            let object: Value = serde_json::from_str(&line[line.find('{').expect("JSON")..])
                .expect("the record is JSON");
            assert_eq!(object["attempts"], 3);
            assert_eq!(object["lastError"], "503 Service Unavailable");
            let replay = format!(r#"{{"type":"handoff","requests":[{}]}}"#, object["request"]);
            let again = Handoff::parse(replay.as_bytes()).expect("replayable");
            assert_eq!(again.requests, std::slice::from_ref(&request));
        }
        assert!(line(LogFormat::Text, &record, 0).starts_with(MARKER));
        assert!(line(LogFormat::Json, &record, 0).contains(&format!("\"message\":\"{MARKER}\"")));
    }
}
