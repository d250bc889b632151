//! Events from the Extensions API's `GET /event/next`, and the one
//! [`ShutdownReason`]. The shutdown extension subscribes to `SHUTDOWN` only;
//! `INVOKE` is understood anyway, and any other `eventType` is kept, not
//! rejected. Parsing never panics: fields that Lambda is known to vary
//! (`shutdownReason` in any case, `deadlineMs` in the past) are taken as
//! they come.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::lambda::extensions::{EVENT_INVOKE, EVENT_SHUTDOWN};
use crate::text::fit;

/// Longest shutdown reason kept (bytes, escaped as JSON): Lambda's are short words.
pub const MAX_REASON_BYTES: usize = 64;

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
/// compared without case. Values not listed here are kept as sent, made
/// safe to log: control characters become `?`, and the text is cut to
/// [`MAX_REASON_BYTES`]. A missing or empty reason is `unknown`.
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
    /// The reasons Lambda documents.
    pub const KNOWN: [ShutdownReason; 3] = [
        ShutdownReason::Spindown,
        ShutdownReason::Timeout,
        ShutdownReason::Failure,
    ];

    pub fn parse(raw: &str) -> ShutdownReason {
        let raw = raw.trim();
        if let Some(known) = Self::KNOWN
            .iter()
            .find(|k| raw.eq_ignore_ascii_case(k.as_str()))
        {
            return known.clone();
        }
        if raw.is_empty() {
            return ShutdownReason::default();
        }
        let clean: String = raw
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        ShutdownReason::Other(fit(&clean, MAX_REASON_BYTES))
    }

    /// The name for logs and the verdict: the known reasons in lower case,
    /// any other as kept by [`ShutdownReason::parse`].
    pub fn as_str(&self) -> &str {
        match self {
            ShutdownReason::Spindown => "spindown",
            ShutdownReason::Timeout => "timeout",
            ShutdownReason::Failure => "failure",
            ShutdownReason::Other(s) => s,
        }
    }
}

impl From<&str> for ShutdownReason {
    fn from(raw: &str) -> ShutdownReason {
        ShutdownReason::parse(raw)
    }
}

impl fmt::Display for ShutdownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Any JSON value: a string as it is, anything else as its JSON text.
impl<'de> Deserialize<'de> for ShutdownReason {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = any_as_string(d)?;
        Ok(ShutdownReason::parse(&raw))
    }
}

/// As [`ShutdownReason::as_str`].
impl Serialize for ShutdownReason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
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
                if [EVENT_SHUTDOWN, EVENT_INVOKE]
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
    fn known_reasons_are_lower_cased_and_others_kept_as_sent() {
        for (sent, kept) in [
            ("SPINDOWN", "spindown"),
            (" Timeout ", "timeout"),
            ("failure", "failure"),
            ("Sandbox_Terminated", "Sandbox_Terminated"),
            ("", "unknown"),
            ("two\nlines", "two?lines"),
        ] {
            assert_eq!(ShutdownReason::parse(sent).as_str(), kept, "{sent:?}");
            assert_eq!(ShutdownReason::from(sent).to_string(), kept, "{sent:?}");
        }
        let long = ShutdownReason::parse(&"Ü".repeat(100));
        assert!(
            long.as_str().len() <= MAX_REASON_BYTES && long.as_str().starts_with("ÜÜ"),
            "{long}"
        );
        assert_eq!(
            serde_json::to_string(&ShutdownReason::parse("SPINDOWN")).ok(),
            Some(String::from("\"spindown\""))
        );
        assert_eq!(
            serde_json::from_str::<ShutdownReason>("\"Out Of Memory\"").ok(),
            Some(ShutdownReason::Other("Out Of Memory".into()))
        );
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
