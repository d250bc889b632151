//! Judging one request on the report port: a small, size-capped HTTP/1.1
//! request parser and the protocol's answers (`docs/protocol.md`).
//!
//! Hand-written rather than `tiny_http`: the port takes exactly one request
//! shape (`POST /v1/report`, a JSON body of at most 4 KiB), must cap the
//! head and the body before reading them, and must check the secret before
//! reading the body; a general server adds size and a thread pool for none of
//! that. Pure: it sees the bytes received so far and says what to do next.

use graceful_shutdown_protocol::{
    limits, Handoff, WorkerReport, MAX_REPORT_BYTES, REPORT_PATH, SECRET_HEADER,
};

use crate::secret::Secret;

/// Largest request head (request line and headers) read before refusing.
pub const MAX_HEAD_BYTES: usize = 8192;

/// A refusal: the status to answer and why, for the answer and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub reason: String,
}

/// What to do with the bytes received so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Read more (the peer has not closed yet).
    NeedMore,
    /// Answer 202 and store the report, with the worker that sent it.
    Accept(WorkerReport),
    /// A handoff to take (or refuse, over the limits held): `docs/protocol.md`, Handoff.
    Handoff(Handoff),
    /// Answer with the refusal's status and log it.
    Refuse(Refusal),
    /// The extension's own drain probe (see `listener::drain`): every
    /// connection accepted before it has been handled. Close without answer.
    Drained,
}

/// First bytes of the drain probe, followed by the secret and CRLF. Only a
/// process that knows the secret can send it, and all it does is close.
pub const DRAIN_PREFIX: &[u8] = b"GRACEFUL-SHUTDOWN-DRAIN ";

/// The parts of the request line and head that the protocol looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub headers: Vec<(&'a str, &'a str)>,
    /// Bytes of the head including the blank line.
    pub len: usize,
}

impl Head<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

fn refuse(status: u16, reason: impl Into<String>) -> Step {
    Step::Refuse(Refusal {
        status,
        reason: reason.into(),
    })
}

/// Parse the head, if it is all there. `Err` is the refusal for a head that
/// is not HTTP/1.x or is too large.
pub fn parse_head(buf: &[u8]) -> Result<Option<Head<'_>>, Refusal> {
    let limit = buf.len().min(MAX_HEAD_BYTES + 4);
    let Some(end) = buf[..limit].windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > MAX_HEAD_BYTES {
            return Err(Refusal {
                status: 400,
                reason: format!("request head larger than {MAX_HEAD_BYTES} bytes"),
            });
        }
        return Ok(None);
    };
    let bad = |what: String| Refusal {
        status: 400,
        reason: what,
    };
    let text = std::str::from_utf8(&buf[..end])
        .map_err(|_| bad(String::from("request head is not UTF-8")))?;
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (method, path, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(p), Some(v), None) if !m.is_empty() && !p.is_empty() => (m, p, v),
        _ => {
            return Err(bad(format!(
                "not an HTTP request line: {:?}",
                excerpt(request_line)
            )))
        }
    };
    if !matches!(version, "HTTP/1.1" | "HTTP/1.0") {
        return Err(bad(format!("unsupported protocol {:?}", excerpt(version))));
    }
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(bad(format!("malformed header line {:?}", excerpt(line))));
        };
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(bad(format!("malformed header name {:?}", excerpt(name))));
        }
        headers.push((name, value.trim()));
    }
    Ok(Some(Head {
        method,
        path,
        headers,
        len: end + 4,
    }))
}

/// Judge the request from the bytes received so far. `eof`: the peer has
/// stopped sending (closed, or the read deadline passed). Checks in order:
/// path (404), method (405), secret (401), content type (415), length
/// (400 without one, 413 over the limit, before reading the body), body (400).
pub fn evaluate(buf: &[u8], eof: bool, secret: &Secret) -> Step {
    if let Some(rest) = buf.strip_prefix(DRAIN_PREFIX) {
        let want = secret.as_str().len() + 2;
        if rest.len() >= want
            && secret.matches(&rest[..want - 2])
            && &rest[want - 2..want] == b"\r\n"
        {
            return Step::Drained;
        }
        if rest.len() < want && !eof {
            return Step::NeedMore;
        }
    }
    let head = match parse_head(buf) {
        Err(refusal) => return Step::Refuse(refusal),
        Ok(None) if eof => {
            return refuse(
                400,
                format!(
                    "incomplete request head ({} bytes) before the connection ended",
                    buf.len()
                ),
            )
        }
        Ok(None) => return Step::NeedMore,
        Ok(Some(head)) => head,
    };
    let path = head.path.split('?').next().unwrap_or("");
    let handoff_path = limits().handoff.path.as_str();
    let is_handoff = path == handoff_path;
    if path != REPORT_PATH && !is_handoff {
        return refuse(
            404,
            format!(
                "no such path {:?}; reports go to {REPORT_PATH}, handoffs to {handoff_path}",
                excerpt(head.path)
            ),
        );
    }
    if head.method != "POST" {
        return refuse(
            405,
            format!(
                "method {:?} on {path}; only POST is allowed",
                excerpt(head.method)
            ),
        );
    }
    match head.header(SECRET_HEADER) {
        None => return refuse(401, format!("missing {SECRET_HEADER} header")),
        Some(v) if !secret.matches(v.as_bytes()) => {
            return refuse(401, format!("wrong {SECRET_HEADER}"))
        }
        Some(_) => {}
    }
    let content_type = head.header("content-type").unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return refuse(
            415,
            format!(
                "content type {:?}; expected application/json",
                excerpt(content_type)
            ),
        );
    }
    if head.header("transfer-encoding").is_some() {
        return refuse(
            400,
            "Transfer-Encoding is not supported; send Content-Length",
        );
    }
    let Some(length) = head.header("content-length") else {
        return refuse(400, "missing Content-Length");
    };
    let Ok(length) = length.parse::<usize>() else {
        return refuse(400, format!("bad Content-Length {:?}", excerpt(length)));
    };
    if is_handoff && length > limits().handoff.max_body_bytes {
        return refuse(
            413,
            format!(
                "handoff: body of {length} bytes; handoff.maxBodyBytes is {}",
                limits().handoff.max_body_bytes
            ),
        );
    }
    if !is_handoff && length > MAX_REPORT_BYTES {
        return refuse(
            413,
            format!("body of {length} bytes; the limit is {MAX_REPORT_BYTES}"),
        );
    }
    let body = &buf[head.len.min(buf.len())..];
    if body.len() < length {
        if eof {
            return refuse(
                400,
                format!("body ended after {} of {length} bytes", body.len()),
            );
        }
        return Step::NeedMore;
    }
    if is_handoff {
        return match Handoff::parse(&body[..length]) {
            Ok(handoff) => Step::Handoff(handoff),
            Err(e) => refuse(400, e.0),
        };
    }
    match WorkerReport::parse(&body[..length]) {
        Ok(report) => Step::Accept(report),
        Err(e) => refuse(400, e.to_string()),
    }
}

/// Whether the request in `buf` (its head at least) is for the handoff path.
pub fn targets_handoff(buf: &[u8]) -> bool {
    matches!(parse_head(buf), Ok(Some(head))
        if head.path.split('?').next() == Some(limits().handoff.path.as_str()))
}

/// The largest request the listener reads: a head and a handoff body.
pub fn max_request_bytes() -> usize {
    MAX_HEAD_BYTES + MAX_REPORT_BYTES.max(limits().handoff.max_body_bytes) + 64
}

/// A short, printable excerpt of peer-supplied text for log lines.
fn excerpt(s: &str) -> String {
    s.chars().take(64).collect()
}

/// The answer for `status`: a one-line text body and `Connection: close`.
/// The answer to a handoff taken: `{"accepted":N,"held":M}`.
pub fn handoff_taken(accepted: usize, held: usize) -> Vec<u8> {
    let body = format!("{{\"accepted\":{accepted},\"held\":{held}}}\n");
    format!(
        "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

pub fn response(status: u16, message: &str) -> Vec<u8> {
    let phrase = match status {
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let allow = if status == 405 { "Allow: POST\r\n" } else { "" };
    let body = format!("{message}\n");
    format!(
        "HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain; charset=utf-8\r\n{allow}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use graceful_shutdown_protocol::wire::{encode_request, encode_request_from};
    use graceful_shutdown_protocol::Report;
    use proptest::prelude::*;

    fn secret() -> Secret {
        Secret::from_value("0123456789abcdef".repeat(4))
    }

    fn status(buf: &[u8]) -> u16 {
        match evaluate(buf, true, &secret()) {
            Step::Accept(_) | Step::Handoff(_) => 202,
            Step::Refuse(r) => r.status,
            Step::NeedMore => 0,
            Step::Drained => 1,
        }
    }

    fn good() -> String {
        encode_request(
            4471,
            secret().as_str(),
            &Report::ShutdownStarted {
                signal: "SIGTERM".into(),
            },
        )
    }

    #[test]
    fn the_library_request_is_accepted() {
        assert_eq!(
            evaluate(good().as_bytes(), false, &secret()),
            Step::Accept(WorkerReport::anonymous(Report::ShutdownStarted {
                signal: "SIGTERM".into()
            }))
        );
    }

    #[test]
    fn a_worker_report_is_accepted_with_its_worker_and_a_bad_worker_refused() {
        let report = Report::ShutdownStarted {
            signal: "SIGTERM".into(),
        };
        let sent = encode_request_from(4471, secret().as_str(), &report, Some("88/2"));
        assert_eq!(
            evaluate(sent.as_bytes(), false, &secret()),
            Step::Accept(WorkerReport {
                worker: Some("88/2".into()),
                report
            })
        );
        let body = r#"{"type":"shutdownStarted","signal":"SIGTERM","worker":{"pid":1}}"#;
        let bad = format!(
            "POST /v1/report HTTP/1.1\r\nContent-Type: application/json\r\n\
             x-graceful-shutdown-secret: {}\r\nContent-Length: {}\r\n\r\n{body}",
            secret().as_str(),
            body.len()
        );
        match evaluate(bad.as_bytes(), false, &secret()) {
            Step::Refuse(r) => {
                assert_eq!(r.status, 400);
                assert!(
                    r.reason
                        .contains("worker: expected a string, got an object"),
                    "{}",
                    r.reason
                );
            }
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_handoff_is_routed_with_its_own_limit_and_its_refusals_name_the_field() {
        use graceful_shutdown_protocol::wire::encode_handoff;
        let body =
            r#"{"type":"handoff","requests":[{"method":"POST","url":"http://127.0.0.1:9/"}]}"#;
        let handoff = Handoff::parse(body.as_bytes()).expect("valid");
        let sent = encode_handoff(4471, secret().as_str(), &handoff);
        assert_eq!(
            evaluate(sent.as_bytes(), false, &secret()),
            Step::Handoff(handoff)
        );
        assert!(targets_handoff(sent.as_bytes()));
        let bad = sent.replace("http://127", "hxxp://127");
        match evaluate(bad.as_bytes(), false, &secret()) {
            Step::Refuse(r) => {
                assert_eq!(r.status, 400);
                assert!(
                    r.reason.starts_with("requests[0].url: expected an http"),
                    "{}",
                    r.reason
                );
            }
            other => panic!("not refused: {other:?}"),
        }
        // Larger than a report may be, within a handoff's limit: read on.
        let big = sent.replace(
            &format!("Content-Length: {}", body.len()),
            &format!("Content-Length: {}", MAX_REPORT_BYTES * 4),
        );
        assert_eq!(evaluate(big.as_bytes(), false, &secret()), Step::NeedMore);
        let too_big = sent.replace(
            &format!("Content-Length: {}", body.len()),
            &format!("Content-Length: {}", limits().handoff.max_body_bytes + 1),
        );
        match evaluate(too_big.as_bytes(), false, &secret()) {
            Step::Refuse(r) => {
                assert_eq!(r.status, 413);
                assert!(r.reason.contains("handoff.maxBodyBytes"), "{}", r.reason);
            }
            other => panic!("not refused: {other:?}"),
        }
        let forged = sent.replace(secret().as_str(), &"f".repeat(64));
        assert_eq!(status(forged.as_bytes()), 401);
        assert!(targets_handoff(forged.as_bytes()));
    }

    #[test]
    fn partial_requests_need_more_until_the_end() {
        let g = good();
        for cut in [0, 10, 60, g.len() - 1] {
            assert_eq!(
                evaluate(&g.as_bytes()[..cut], false, &secret()),
                Step::NeedMore,
                "cut {cut}"
            );
            assert_eq!(status(&g.as_bytes()[..cut]), 400, "truncated at {cut}");
        }
    }

    #[test]
    fn every_refusal_has_its_status() {
        let s = secret();
        let g = good();
        let with = |from: &str, to: &str| g.replacen(from, to, 1);
        assert_eq!(
            status(with("POST /v1/report", "POST /v2/report").as_bytes()),
            404
        );
        assert_eq!(
            status(with("POST /v1/report", "GET /v1/report").as_bytes()),
            405
        );
        assert_eq!(
            status(with("POST /v1/report", "PUT /v1/report").as_bytes()),
            405
        );
        assert_eq!(status(with(s.as_str(), &"f".repeat(64)).as_bytes()), 401);
        assert_eq!(status(with(s.as_str(), "short").as_bytes()), 401);
        assert_eq!(
            status(with("x-graceful-shutdown-secret", "x-other").as_bytes()),
            401
        );
        assert_eq!(
            status(with("application/json", "text/plain").as_bytes()),
            415
        );
        assert_eq!(
            status(with("Content-Type: application/json\r\n", "").as_bytes()),
            415
        );
        assert_eq!(
            status(with("Content-Length: 45", "Content-Length: 4097").as_bytes()),
            413
        );
        assert_eq!(
            status(with("Content-Length: 45", "Content-Length: x").as_bytes()),
            400
        );
        assert_eq!(status(with("Content-Length: 45\r\n", "").as_bytes()), 400);
        assert_eq!(status(with("SIGTERM", "SIGTERX").as_bytes()), 202);
        assert_eq!(status(with("\"signal\"", "\"signxl\"").as_bytes()), 400);
        assert_eq!(status(with("HTTP/1.1", "HTTP/2.0").as_bytes()), 400);
        assert_eq!(
            status(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"),
            400
        );
        assert_eq!(status(&[b'A'; MAX_HEAD_BYTES + 10]), 400);
        assert_eq!(
            status(with("application/json", "Application/JSON; charset=utf-8").as_bytes()),
            202
        );
    }

    #[test]
    fn unauthenticated_bodies_are_never_parsed() {
        // Wrong secret and a body that is not even JSON: the answer is 401, not 400.
        let g = good()
            .replacen(secret().as_str(), &"0".repeat(64), 1)
            .replace("SIGTERM", "\u{1}\u{1}");
        assert_eq!(status(g.as_bytes()), 401);
    }

    #[test]
    fn drain_probe_needs_the_secret() {
        let probe = [DRAIN_PREFIX, secret().as_str().as_bytes(), b"\r\n"].concat();
        assert_eq!(evaluate(&probe, false, &secret()), Step::Drained);
        assert_eq!(evaluate(&probe[..30], false, &secret()), Step::NeedMore);
        let forged = [DRAIN_PREFIX, "f".repeat(64).as_bytes(), b"\r\n\r\n"].concat();
        assert_eq!(status(&forged), 400);
    }

    #[test]
    fn answers_are_well_formed() {
        let r = String::from_utf8(response(405, "only POST")).expect("utf8");
        assert!(r.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"), "{r}");
        assert!(r.contains("Allow: POST\r\n"));
        assert!(
            r.ends_with("Content-Length: 10\r\nConnection: close\r\n\r\nonly POST\n"),
            "{r}"
        );
    }

    proptest! {
        #[test]
        fn never_panics_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..1200), eof in any::<bool>()) {
            let _ = evaluate(&bytes, eof, &secret());
        }

        #[test]
        fn never_panics_on_mangled_requests(cut in 0usize..400, at in 0usize..400, byte in any::<u8>()) {
            let mut g = good().into_bytes();
            let at = at % g.len();
            g[at] = byte;
            let cut = cut.min(g.len());
            let _ = evaluate(&g[..cut], true, &secret());
            let _ = evaluate(&g, false, &secret());
        }
    }
}
