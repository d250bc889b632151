//! The wire encoding of reports: the HTTP/1.1 request that carries one
//! report body ([`crate::report`]) to the extension's loopback listener.

use crate::handoff::Handoff;
use crate::report::Report;
use crate::{limits, REPORT_PATH, SECRET_HEADER};

/// The complete HTTP/1.1 request that carries `report` to the extension.
///
/// Written out by hand rather than through an HTTP client: it is one fixed,
/// tiny request to loopback, and this keeps an HTTP client out of every
/// function that links the library. `Connection: close` keeps the exchange
/// to one request per connection.
pub fn encode_request(port: u16, secret: &str, report: &Report) -> String {
    encode_request_from(port, secret, report, None)
}

/// [`encode_request`] for a report sent by `worker` (a process id, or a
/// process and thread id: see "Several workers" in `docs/protocol.md`).
pub fn encode_request_from(
    port: u16,
    secret: &str,
    report: &Report,
    worker: Option<&str>,
) -> String {
    post(REPORT_PATH, port, secret, &report.to_json_from(worker))
}

/// One `POST` of a JSON `body` to `path` on the extension's loopback port.
fn post(path: &str, port: u16, secret: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\n\
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

/// The complete HTTP/1.1 request that hands `handoff` to the extension:
/// the same head as a report's, to `handoff.path` of `spec/limits.json`.
pub fn encode_handoff(port: u16, secret: &str, handoff: &Handoff) -> String {
    post(&limits().handoff.path, port, secret, &handoff.to_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_is_exact() {
        let req = encode_request(
            4471,
            "s3cr3t",
            &Report::ShutdownStarted {
                signal: "SIGTERM".into(),
            },
        );
        assert_eq!(
            req,
            "POST /v1/report HTTP/1.1\r\nHost: 127.0.0.1:4471\r\nContent-Type: application/json\r\n\
             x-graceful-shutdown-secret: s3cr3t\r\nContent-Length: 45\r\nConnection: close\r\n\r\n\
             {\"type\":\"shutdownStarted\",\"signal\":\"SIGTERM\"}"
        );
    }

    #[test]
    fn worker_goes_into_the_body_and_its_length() {
        let started = Report::Started {
            handler: "flush".into(),
            index: 0,
        };
        assert_eq!(
            encode_request_from(4471, "s3cr3t", &started, Some("4242")),
            "POST /v1/report HTTP/1.1\r\nHost: 127.0.0.1:4471\r\nContent-Type: application/json\r\n\
             x-graceful-shutdown-secret: s3cr3t\r\nContent-Length: 62\r\nConnection: close\r\n\r\n\
             {\"type\":\"started\",\"handler\":\"flush\",\"index\":0,\"worker\":\"4242\"}"
        );
        assert_eq!(
            encode_request_from(4471, "s3cr3t", &started, None),
            encode_request(4471, "s3cr3t", &started)
        );
    }
}
