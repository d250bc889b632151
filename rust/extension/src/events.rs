//! Events from `GET /event/next`. The extension subscribes to `SHUTDOWN`
//! only; `INVOKE` is understood anyway, and any other `eventType` is kept, not
//! rejected. Parsing never panics: fields that Lambda is known to vary
//! (`shutdownReason` in any case, `deadlineMs` in the past) are taken as
//! they come.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// One event, tagged by `eventType`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "eventType")]
pub enum Event {
    #[serde(rename = "SHUTDOWN", alias = "shutdown", alias = "Shutdown")]
    Shutdown {
        #[serde(rename = "shutdownReason", default)]
        reason: ShutdownReason,
        /// Absolute Unix epoch milliseconds; `None` when absent or not a number.
        #[serde(rename = "deadlineMs", default, deserialize_with = "lenient_ms")]
        deadline_ms: Option<u64>,
    },
    #[serde(rename = "INVOKE", alias = "invoke", alias = "Invoke")]
    Invoke {
        #[serde(rename = "requestId", default, deserialize_with = "lenient_string")]
        request_id: Option<String>,
        #[serde(rename = "deadlineMs", default, deserialize_with = "lenient_ms")]
        deadline_ms: Option<u64>,
    },
    /// An `eventType` this version does not know, kept by name.
    #[serde(untagged)]
    Unknown {
        #[serde(rename = "eventType", deserialize_with = "any_as_string")]
        event_type: String,
    },
}

/// Why the environment shuts down. Documented upper-case, sent lower-case;
/// compared without case, and values not listed here are kept as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShutdownReason {
    Spindown,
    Timeout,
    Failure,
    Other(String),
}

impl Default for ShutdownReason {
    fn default() -> Self {
        ShutdownReason::Other(String::from("unknown"))
    }
}

impl ShutdownReason {
    pub fn parse(raw: &str) -> ShutdownReason {
        match raw.trim().to_ascii_lowercase().as_str() {
            "spindown" => ShutdownReason::Spindown,
            "timeout" => ShutdownReason::Timeout,
            "failure" => ShutdownReason::Failure,
            "" => ShutdownReason::default(),
            _ => ShutdownReason::Other(raw.trim().to_owned()),
        }
    }

    /// The name for logs and the verdict: the known reasons in lower case,
    /// any other as sent (the verdict also makes it safe to log).
    pub fn as_str(&self) -> &str {
        match self {
            ShutdownReason::Spindown => "spindown",
            ShutdownReason::Timeout => "timeout",
            ShutdownReason::Failure => "failure",
            ShutdownReason::Other(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for ShutdownReason {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = any_as_string(d)?;
        Ok(ShutdownReason::parse(&raw))
    }
}

/// Why an event body could not be used at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event is not a JSON object with an \"eventType\": {0}")]
pub struct EventError(String);

impl Event {
    /// Parse one `/event/next` body. Never panics, whatever the bytes.
    pub fn parse(body: &[u8]) -> Result<Event, EventError> {
        let event: Event = serde_json::from_slice(body).map_err(|e| EventError(e.to_string()))?;
        match &event {
            // A known type in an unusual case (`Shutdown`, `sHUTDOWN`): upper-case it and parse again.
            Event::Unknown { event_type }
                if ["SHUTDOWN", "INVOKE"]
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(event_type)) =>
            {
                let mut obj: serde_json::Map<String, Value> =
                    serde_json::from_slice(body).map_err(|e| EventError(e.to_string()))?;
                let upper = event_type.to_ascii_uppercase();
                obj.insert("eventType".into(), Value::String(upper));
                serde_json::from_value(Value::Object(obj)).map_err(|e| EventError(e.to_string()))
            }
            _ => Ok(event),
        }
    }
}

/// Any number, saturated into `u64` milliseconds (negative is 0: long past);
/// anything else is `None`.
fn lenient_ms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_i64().map(|i| i.max(0) as u64))
            .or_else(|| {
                n.as_f64().map(|f| {
                    if f.is_finite() && f > 0.0 {
                        f as u64
                    } else {
                        0
                    }
                })
            }),
        _ => None,
    })
}

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

fn any_as_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn shutdown(reason: ShutdownReason, deadline_ms: Option<u64>) -> Event {
        Event::Shutdown {
            reason,
            deadline_ms,
        }
    }

    #[test]
    fn shutdown_as_lambda_sends_it() {
        assert_eq!(
            Event::parse(br#"{"eventType":"SHUTDOWN","shutdownReason":"spindown","deadlineMs":1700000000123}"#),
            Ok(shutdown(ShutdownReason::Spindown, Some(1_700_000_000_123)))
        );
    }

    #[test]
    fn reason_in_any_case_and_unknown_reasons_are_kept() {
        for (raw, want) in [
            ("SPINDOWN", ShutdownReason::Spindown),
            ("Timeout", ShutdownReason::Timeout),
            ("failure", ShutdownReason::Failure),
            ("FAILURE", ShutdownReason::Failure),
            (
                "Sandbox_Terminated",
                ShutdownReason::Other("Sandbox_Terminated".into()),
            ),
        ] {
            let body =
                format!(r#"{{"eventType":"SHUTDOWN","shutdownReason":"{raw}","deadlineMs":5}}"#);
            assert_eq!(
                Event::parse(body.as_bytes()),
                Ok(shutdown(want, Some(5))),
                "{raw}"
            );
        }
        assert_eq!(
            ShutdownReason::Other("Sandbox_Terminated".into()).as_str(),
            "Sandbox_Terminated"
        );
        assert_eq!(ShutdownReason::parse("TIMEOUT").as_str(), "timeout");
    }

    #[test]
    fn missing_or_odd_fields_still_make_a_shutdown() {
        assert_eq!(
            Event::parse(br#"{"eventType":"SHUTDOWN"}"#),
            Ok(shutdown(ShutdownReason::Other("unknown".into()), None))
        );
        assert_eq!(
            Event::parse(br#"{"eventType":"shutdown","shutdownReason":7,"deadlineMs":"soon"}"#),
            Ok(shutdown(ShutdownReason::Other("7".into()), None))
        );
        assert_eq!(
            Event::parse(
                br#"{"eventType":"SHUTDOWN","shutdownReason":"timeout","deadlineMs":-40}"#
            ),
            Ok(shutdown(ShutdownReason::Timeout, Some(0)))
        );
        assert_eq!(
            Event::parse(br#"{"eventType":"SHUTDOWN","shutdownReason":null,"deadlineMs":12.9}"#),
            Ok(shutdown(ShutdownReason::Other("unknown".into()), Some(12)))
        );
        assert_eq!(
            Event::parse(br#"{"eventType":"SHUTDOWN","deadlineMs":1e300}"#),
            Ok(shutdown(
                ShutdownReason::Other("unknown".into()),
                Some(u64::MAX)
            ))
        );
    }

    #[test]
    fn deadline_in_the_past_is_kept_as_sent() {
        assert_eq!(
            Event::parse(br#"{"eventType":"SHUTDOWN","shutdownReason":"spindown","deadlineMs":0}"#),
            Ok(shutdown(ShutdownReason::Spindown, Some(0)))
        );
    }

    #[test]
    fn invoke_and_unknown_event_types() {
        assert_eq!(
            Event::parse(br#"{"eventType":"INVOKE","requestId":"r-1","deadlineMs":9,"invokedFunctionArn":"arn"}"#),
            Ok(Event::Invoke { request_id: Some("r-1".into()), deadline_ms: Some(9) })
        );
        assert_eq!(
            Event::parse(br#"{"eventType":"RESTORE","x":1}"#),
            Ok(Event::Unknown {
                event_type: "RESTORE".into()
            })
        );
        assert_eq!(
            Event::parse(br#"{"eventType":"sHutDown","shutdownReason":"Spindown"}"#),
            Ok(shutdown(ShutdownReason::Spindown, None))
        );
        assert_eq!(
            Event::parse(br#"{"eventType":42}"#),
            Ok(Event::Unknown {
                event_type: "42".into()
            })
        );
    }

    #[test]
    fn malformed_and_truncated_bodies_are_errors() {
        for bad in [
            &b""[..],
            b"{",
            b"{\"eventType\":\"SHUTDOWN\",\"deadlineMs\":1",
            b"null",
            b"[]",
            b"\"SHUTDOWN\"",
            b"{\"shutdownReason\":\"spindown\"}",
            b"\xff\xfe",
        ] {
            assert!(
                Event::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Event::parse(&bytes);
        }

        #[test]
        fn parse_never_panics_on_event_like_json(
            ty in "(SHUTDOWN|shutdown|INVOKE|invoke|[A-Za-z]{0,10})",
            reason in "[A-Za-z_]{0,12}",
            deadline in "(-?(0|[1-9][0-9]{0,24})(\\.[0-9]{1,3})?|\"[0-9a-z]{0,5}\"|null|true|\\[\\]|\\{\\})",
            cut in 0usize..120,
        ) {
            let body = format!(r#"{{"eventType":"{ty}","shutdownReason":"{reason}","deadlineMs":{deadline}}}"#);
            let _ = Event::parse(body.as_bytes());
            let _ = Event::parse(&body.as_bytes()[..cut.min(body.len())]);
            if ty.eq_ignore_ascii_case("shutdown") {
                let parsed = Event::parse(body.as_bytes());
                prop_assert!(matches!(parsed, Ok(Event::Shutdown { .. })), "{:?}", parsed);
            }
        }
    }
}
