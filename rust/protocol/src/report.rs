//! Reports: what the function library tells the extension, one JSON object
//! per `POST /v1/report` on `127.0.0.1:$GRACEFUL_SHUTDOWN_PORT`.

use serde::{Deserialize, Serialize};

use crate::{MAX_REPORT_BYTES, REPORT_PATH, SECRET_HEADER};

/// Name a handler was registered with.
pub type HandlerName = String;

/// One progress report. Tagged by `type`; field names are camelCase.
/// Unknown types deserialize to [`Report::Unknown`] so that an older
/// extension keeps working with a newer library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Report {
    /// Sent once at cold start: the library is in use, with these handlers.
    Hello {
        pid: u32,
        handlers: Vec<HandlerName>,
        timeout_ms: u32,
        concurrent: bool,
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
}

/// The complete HTTP/1.1 request that carries `report` to the extension.
///
/// Written out by hand rather than through an HTTP client: it is one fixed,
/// tiny request to loopback, and this keeps an HTTP client out of every
/// function that links the library. `Connection: close` keeps the exchange
/// to one request per connection.
pub fn encode_request(port: u16, secret: &str, report: &Report) -> String {
    let body = report.to_json();
    format!(
        "POST {REPORT_PATH} HTTP/1.1\r\n\
         Host: 127.0.0.1:{port}\r\n\
         Content-Type: application/json\r\n\
         {SECRET_HEADER}: {secret}\r\n\
         Content-Length: {}\r\n\
         Connection: close\r\n\
         \r\n\
         {body}",
        body.len()
    )
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
        assert!(matches!(Report::parse(b"{\"type\":\"finished\""), Err(ReportError::Malformed(_))));
        assert!(matches!(Report::parse(b"{\"handler\":\"x\"}"), Err(ReportError::Malformed(_))));
        let big = vec![b' '; MAX_REPORT_BYTES + 1];
        assert_eq!(Report::parse(&big), Err(ReportError::TooLarge(MAX_REPORT_BYTES + 1)));
    }

    #[test]
    fn request_is_exact() {
        let req = encode_request(4471, "s3cr3t", &Report::ShutdownStarted { signal: "SIGTERM".into() });
        assert_eq!(
            req,
            "POST /v1/report HTTP/1.1\r\nHost: 127.0.0.1:4471\r\nContent-Type: application/json\r\n\
             x-graceful-shutdown-secret: s3cr3t\r\nContent-Length: 45\r\nConnection: close\r\n\r\n\
             {\"type\":\"shutdownStarted\",\"signal\":\"SIGTERM\"}"
        );
    }

    proptest! {
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
