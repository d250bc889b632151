//! Sends Extensions API requests: a minimal HTTP/1.1 client over
//! `std::net::TcpStream`, one request per connection, and the four calls the
//! extension makes with it (`register`, `next_event`, `init_error`,
//! `exit_error`), each answer checked and described for the log.
//!
//! Hand-written rather than `ureq` (default features off): measured on a
//! static musl release build (opt-level "z", LTO, stripped), `ureq` 3 grows a
//! probe binary from 451,120 to 721,600 bytes (+60 %), against a layer budget
//! of 400 KiB zipped and a start-up target of about a millisecond. The API is
//! a loopback HTTP/1.1 server with four calls and tiny bodies: the client
//! needs a request writer (in `extensions_api.rs`), a response reader that
//! understands `Content-Length`, chunked bodies and close-delimited bodies,
//! and timeouts. That is this file.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use graceful_shutdown_protocol::lambda::extensions::HEADER_IDENTIFIER;
use graceful_shutdown_protocol::Event;

use crate::extensions_api::{Endpoint, Request};

/// Largest response accepted (events are a few hundred bytes).
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// Time limit for the short API calls (register, init/error, exit/error).
/// `/event/next` has none: it blocks until Lambda has an event.
const API_TIMEOUT: Duration = Duration::from_secs(5);

/// What Lambda answered to `/register`.
pub struct Registration {
    pub id: String,
    pub function_name: String,
}

/// `POST /register`; the identifier from the answer's header, the function's
/// name from its body (else from `AWS_LAMBDA_FUNCTION_NAME`).
pub fn register(api: &Endpoint, name: &str) -> Result<Registration, String> {
    let response = call(api, &api.register(name), Some(API_TIMEOUT))?;
    let id = response
        .header(HEADER_IDENTIFIER)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| format!("the answer to /register has no {HEADER_IDENTIFIER} header"))?
        .to_owned();
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
    let function_name = body["functionName"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok())
        .unwrap_or_default();
    Ok(Registration { id, function_name })
}

/// `GET /event/next`: waits as long as it takes, then parses the event.
pub fn next_event(api: &Endpoint, id: &str) -> Result<Event, String> {
    let response = call(api, &api.next_event(id), None)?;
    Event::parse(&response.body).map_err(|e| e.to_string())
}

/// `POST /init/error`.
pub fn init_error(api: &Endpoint, id: &str, error_type: &str, message: &str) -> Result<(), String> {
    call(
        api,
        &api.init_error(id, error_type, message),
        Some(API_TIMEOUT),
    )
    .map(|_| ())
}

/// `POST /exit/error`.
pub fn exit_error(api: &Endpoint, id: &str, error_type: &str, message: &str) -> Result<(), String> {
    call(
        api,
        &api.exit_error(id, error_type, message),
        Some(API_TIMEOUT),
    )
    .map(|_| ())
}

/// Send `request`; anything but a 2xx answer is an error, described for the log.
fn call(api: &Endpoint, request: &Request, timeout: Option<Duration>) -> Result<Response, String> {
    let describe =
        |e: ClientError| format!("{} {}: {e}", request.method.as_str(), api.url(request));
    let response = send(api, request, timeout).map_err(describe)?;
    if !(200..300).contains(&response.status) {
        return Err(format!(
            "{} {}: status {}: {}",
            request.method.as_str(),
            api.url(request),
            response.status,
            response.body_excerpt()
        ));
    }
    Ok(response)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body for a log line: UTF-8 (lossy), at most 200 characters.
    pub fn body_excerpt(&self) -> String {
        String::from_utf8_lossy(&self.body)
            .chars()
            .take(200)
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {authority}: {source}")]
    Connect {
        authority: String,
        source: std::io::Error,
    },
    #[error("connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the connection was closed before a complete response arrived ({0} bytes received)")]
    Closed(usize),
    #[error("malformed response: {0}")]
    Malformed(String),
}

/// Send `request` and read the whole response. `timeout` bounds connecting
/// and every read and write; `None` waits as long as it takes (`/event/next`).
pub fn send(
    endpoint: &Endpoint,
    request: &Request,
    timeout: Option<Duration>,
) -> Result<Response, ClientError> {
    let mut stream = connect(endpoint.authority(), timeout)?;
    stream.set_read_timeout(timeout)?;
    stream.set_write_timeout(timeout)?;
    let _ = stream.set_nodelay(true);
    stream.write_all(&request.to_http(endpoint))?;
    stream.flush()?;

    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(ClientError::Io(e)),
        };
        if n == 0 {
            return match parse_response(&buf, true)? {
                Some(response) => Ok(response),
                None => Err(ClientError::Closed(buf.len())),
            };
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > MAX_RESPONSE_BYTES {
            return Err(ClientError::Malformed(format!(
                "response larger than {MAX_RESPONSE_BYTES} bytes"
            )));
        }
        if let Some(response) = parse_response(&buf, false)? {
            return Ok(response);
        }
    }
}

fn connect(authority: &str, timeout: Option<Duration>) -> Result<TcpStream, ClientError> {
    let err = |source| ClientError::Connect {
        authority: authority.to_owned(),
        source,
    };
    let Some(timeout) = timeout else {
        return TcpStream::connect(authority).map_err(err);
    };
    let mut last = std::io::Error::new(ErrorKind::NotFound, "address resolves to nothing");
    for addr in authority.to_socket_addrs().map_err(err)? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(err(last))
}

/// Parse a response from the bytes received so far. `Ok(None)`: more bytes
/// are needed. `eof`: the peer closed, so a body without a length ends here.
/// Pure and panic-free, whatever the bytes.
pub fn parse_response(buf: &[u8], eof: bool) -> Result<Option<Response>, ClientError> {
    let Some(head_end) = find(buf, b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| ClientError::Malformed(String::from("response head is not UTF-8")))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let code = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(ClientError::Malformed(format!(
            "status line {status_line:?}"
        )));
    }
    let status: u16 = code
        .parse()
        .ok()
        .filter(|c| (100..=999).contains(c))
        .ok_or_else(|| ClientError::Malformed(format!("status line {status_line:?}")))?;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| ClientError::Malformed(format!("header line {line:?}")))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let rest = &buf[head_end + 4..];
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _): &&(String, String)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let chunked =
        header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        match decode_chunked(rest)? {
            Some(body) => body,
            None if eof => return Err(ClientError::Closed(buf.len())),
            None => return Ok(None),
        }
    } else if let Some(len) = header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| ClientError::Malformed(format!("Content-Length {len:?}")))?;
        if len > MAX_RESPONSE_BYTES {
            return Err(ClientError::Malformed(format!(
                "Content-Length {len} is too large"
            )));
        }
        if rest.len() < len {
            return if eof {
                Err(ClientError::Closed(buf.len()))
            } else {
                Ok(None)
            };
        }
        rest[..len].to_vec()
    } else if status == 204 || status == 304 || (100..200).contains(&status) {
        Vec::new()
    } else if eof {
        rest.to_vec()
    } else {
        return Ok(None);
    };
    Ok(Some(Response {
        status,
        headers,
        body,
    }))
}

/// Decode a chunked body. `Ok(None)` while the terminating chunk has not arrived.
fn decode_chunked(mut rest: &[u8]) -> Result<Option<Vec<u8>>, ClientError> {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = find(rest, b"\r\n") else {
            return Ok(None);
        };
        let size_text = std::str::from_utf8(&rest[..line_end]).unwrap_or("");
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| ClientError::Malformed(format!("chunk size {size_text:?}")))?;
        if size > MAX_RESPONSE_BYTES {
            return Err(ClientError::Malformed(format!("chunk of {size} bytes")));
        }
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(Some(body));
        }
        if rest.len() < size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn content_length_body() {
        let raw =
            b"HTTP/1.1 200 OK\r\nLambda-Extension-Identifier: abc\r\nContent-Length: 2\r\n\r\n{}";
        let r = parse_response(raw, false).expect("ok").expect("complete");
        assert_eq!(
            (
                r.status,
                r.header("lambda-extension-identifier"),
                &r.body[..]
            ),
            (200, Some("abc"), &b"{}"[..])
        );
        assert_eq!(
            parse_response(&raw[..raw.len() - 1], false).expect("ok"),
            None
        );
        assert!(matches!(
            parse_response(&raw[..raw.len() - 1], true),
            Err(ClientError::Closed(_))
        ));
    }

    #[test]
    fn chunked_and_close_delimited_bodies() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        let r = parse_response(raw, false).expect("ok").expect("complete");
        assert_eq!(r.body, b"abcde");
        assert_eq!(parse_response(&raw[..30], false).expect("ok"), None);
        let raw = b"HTTP/1.0 500 Internal Server Error\r\n\r\noops";
        assert_eq!(parse_response(raw, false).expect("ok"), None);
        let r = parse_response(raw, true).expect("ok").expect("complete");
        assert_eq!((r.status, r.body_excerpt()), (500, String::from("oops")));
    }

    #[test]
    fn garbage_is_malformed() {
        assert!(matches!(
            parse_response(b"SSH-2.0\r\n\r\n", true),
            Err(ClientError::Malformed(_))
        ));
        assert!(matches!(
            parse_response(b"HTTP/1.1 2x0 OK\r\n\r\n", true),
            Err(ClientError::Malformed(_))
        ));
        assert!(matches!(
            parse_response(b"HTTP/1.1 200 OK\r\nnocolon\r\n\r\n", true),
            Err(ClientError::Malformed(_))
        ));
        assert!(matches!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", true),
            Err(ClientError::Malformed(_))
        ));
        assert_eq!(parse_response(b"", true).expect("ok"), None);
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400), eof in any::<bool>()) {
            let _ = parse_response(&bytes, eof);
            let mut with_head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            with_head.extend_from_slice(&bytes);
            let _ = parse_response(&with_head, eof);
        }
    }
}
