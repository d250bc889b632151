//! The handoff (`docs/protocol.md`, Handoff): requests a shutdown handler
//! could not finish in the runtime's share, handed to the extension, which
//! sends them after the runtime has gone and dead-letters to the log what it
//! cannot deliver. One `POST` to `handoff.path` on the extension's port.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use graceful_shutdown_protocol::wire::encode_handoff;
use graceful_shutdown_protocol::{limits, Handoff, HandoffError, HandoffRequest};

use crate::attach::read_secret;
use crate::fallback;
use crate::Config;

/// What became of a handoff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handed {
    /// The extension took it: `accepted` requests of this handoff, `held` in all.
    Taken { accepted: usize, held: usize },
    /// It was refused: by the extension (`status`, its message), or by the
    /// library before sending (`status` `None`: not attached, too large, no answer).
    Refused {
        status: Option<u16>,
        message: String,
    },
}

impl Handed {
    /// Whether the extension took it.
    pub fn is_taken(&self) -> bool {
        matches!(self, Handed::Taken { .. })
    }
}

/// Hand `requests` to the shutdown layer, which sends them after the runtime
/// has gone (use it from a shutdown handler for what does not fit the
/// handlers' budget). Settings as [`Config::from_env`] reads them. A refusal
/// is logged (naming the status and the extension's message) and returned;
/// nothing here panics or fails the handler.
///
/// ```no_run
/// # async fn flush() -> Result<(), lambda_graceful_shutdown::HandoffError> {
/// use lambda_graceful_shutdown::{aws_json_request, handoff};
/// let put = aws_json_request(
///     "dynamodb",
///     "DynamoDB_20120810.BatchWriteItem",
///     r#"{"RequestItems":{"writes":[]}}"#,
/// )?;
/// let handed = handoff(vec![put]).await;
/// assert!(handed.is_taken());
/// # Ok(()) }
/// ```
pub async fn handoff(requests: Vec<HandoffRequest>) -> Handed {
    let config = Config::from_lookup(|name| std::env::var(name).ok()).0;
    // A blocking loopback exchange, bounded by `library.handoffTimeoutMs`.
    tokio::task::spawn_blocking(move || handoff_with(&config, requests))
        .await
        .unwrap_or_else(|e| Handed::Refused {
            status: None,
            message: format!("handoff: the sending task failed: {e}"),
        })
}

/// [`handoff`] with explicit settings, blocking (tests, and code outside tokio).
pub fn handoff_with(config: &Config, requests: Vec<HandoffRequest>) -> Handed {
    let handed = send(config, requests);
    if let Handed::Refused { status, message } = &handed {
        let status = status.map_or_else(|| String::from("not sent"), |s| s.to_string());
        let line = format!("graceful-shutdown: handoff refused ({status}): {message}");
        if fallback::has_subscriber() {
            tracing::warn!("{line}");
        } else {
            fallback::to_stderr(&line);
        }
    }
    handed
}

fn refused(message: impl Into<String>) -> Handed {
    Handed::Refused {
        status: None,
        message: message.into(),
    }
}

fn send(config: &Config, requests: Vec<HandoffRequest>) -> Handed {
    let secret = match read_secret(&config.secret_file) {
        Ok(secret) => secret,
        Err(why) => {
            return refused(format!(
                "handoff: the shutdown layer is not attached ({why}); nothing can finish these requests"
            ))
        }
    };
    let handoff = Handoff {
        worker: None,
        requests,
    };
    let request = encode_handoff(config.port, &secret, &handoff);
    let max = limits().handoff.max_body_bytes;
    let body = handoff.to_json().len();
    if body > max {
        return refused(format!(
            "handoff: body of {body} bytes; handoff.maxBodyBytes is {max}"
        ));
    }
    let timeout = Duration::from_millis(limits().library.handoff_timeout_ms);
    match exchange(config.port, request.as_bytes(), timeout) {
        Ok(answer) => parse_answer(&answer),
        Err(e) => refused(format!(
            "handoff: no answer from the extension on 127.0.0.1:{} within {} ms: {e}",
            config.port,
            timeout.as_millis()
        )),
    }
}

/// Send `request`, read the whole answer, all within `timeout`.
fn exchange(port: u16, request: &[u8], timeout: Duration) -> std::io::Result<Vec<u8>> {
    let end = Instant::now() + timeout;
    let left = || {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "timed out",
            ))
        } else {
            Ok(left)
        }
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, left()?)?;
    stream.set_write_timeout(Some(left()?))?;
    stream.write_all(request)?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 2048];
    while answer.len() < 16 * 1024 {
        stream.set_read_timeout(Some(left()?))?;
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(answer)
}

/// `202` with `{"accepted":N,"held":M}`, or the refusal and its message.
fn parse_answer(answer: &[u8]) -> Handed {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse::<u16>().ok());
    let Some(status) = status else {
        return refused(format!(
            "handoff: not an HTTP answer: {:?}",
            head.chars().take(64).collect::<String>()
        ));
    };
    let body = body.trim();
    if status == 202 {
        let number = |key: &str| {
            let at = body.find(&format!("\"{key}\":"))? + key.len() + 3;
            let digits: String = body[at..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        };
        return Handed::Taken {
            accepted: number("accepted").unwrap_or(0),
            held: number("held").unwrap_or(0),
        };
    }
    Handed::Refused {
        status: Some(status),
        message: body.to_owned(),
    }
}

/// [`HandoffRequest::aws_json`] with the region and endpoint from the
/// process environment (`AWS_REGION`, `AWS_ENDPOINT_URL_<SERVICE>`, ...): a
/// call of an AWS JSON-protocol API, signed by the layer.
pub fn aws_json_request(
    service: &str,
    target: &str,
    body: &str,
) -> Result<HandoffRequest, HandoffError> {
    HandoffRequest::aws_json(service, target, body, None, |name| std::env::var(name).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn config(port: u16, secret_file: std::path::PathBuf) -> Config {
        Config {
            port,
            secret_file,
            ..Config::default()
        }
    }

    fn request() -> HandoffRequest {
        HandoffRequest::aws_json(
            "sqs",
            "AmazonSQS.SendMessageBatch",
            "{}",
            Some("eu-west-1"),
            |_| None,
        )
        .expect("valid")
    }

    /// One connection: read the request, answer `answer`, give back what was read.
    fn answer_once(answer: &'static str) -> (u16, std::thread::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            let mut got = Vec::new();
            let mut chunk = [0u8; 4096];
            // Until the body is whole (the request says its length).
            loop {
                let n = stream.read(&mut chunk).expect("read");
                got.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&got);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("Content-Length: "))
                        .and_then(|v| v.parse().ok())
                        .expect("length");
                    if body.len() >= length {
                        break;
                    }
                }
            }
            stream.write_all(answer.as_bytes()).expect("answer");
            got
        });
        (port, server)
    }

    #[test]
    fn a_taken_handoff_sends_the_exact_request_and_reads_the_counts() {
        let dir = tempfile::tempdir().expect("dir");
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "s3cr3t").expect("secret");
        let (port, server) = answer_once(
            "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 25\r\nConnection: close\r\n\r\n{\"accepted\":1,\"held\":3}\n",
        );
        let handed = handoff_with(&config(port, secret), vec![request()]);
        assert_eq!(
            handed,
            Handed::Taken {
                accepted: 1,
                held: 3
            }
        );
        let sent = String::from_utf8(server.join().expect("server")).expect("UTF-8");
        let expected = encode_handoff(
            port,
            "s3cr3t",
            &Handoff {
                worker: None,
                requests: vec![request()],
            },
        );
        assert_eq!(sent, expected);
    }

    #[test]
    fn a_refusal_is_returned_with_the_status_and_message() {
        let dir = tempfile::tempdir().expect("dir");
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "s3cr3t").expect("secret");
        let (port, server) = answer_once(
            "HTTP/1.1 501 Not Implemented\r\nContent-Length: 20\r\nConnection: close\r\n\r\nhandoff: use handoff\n",
        );
        let handed = handoff_with(&config(port, secret), vec![request()]);
        server.join().expect("server");
        assert_eq!(
            handed,
            Handed::Refused {
                status: Some(501),
                message: "handoff: use handoff".into()
            }
        );
    }

    #[test]
    fn without_the_layer_or_over_the_limit_nothing_is_sent() {
        let dir = tempfile::tempdir().expect("dir");
        let missing = config(1, dir.path().join("absent"));
        let Handed::Refused {
            status: None,
            message,
        } = handoff_with(&missing, vec![request()])
        else {
            panic!("not refused");
        };
        assert!(message.contains("not attached"), "{message}");
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "s3cr3t").expect("secret");
        let big = HandoffRequest {
            body: vec![b'x'; limits().handoff.max_body_bytes],
            ..request()
        };
        // Port 1: nothing listens there, and nothing is sent anyway.
        let Handed::Refused {
            status: None,
            message,
        } = handoff_with(&config(1, secret), vec![big])
        else {
            panic!("not refused");
        };
        assert!(message.contains("handoff.maxBodyBytes"), "{message}");
    }

    #[test]
    fn a_silent_extension_is_a_refusal_within_the_limit() {
        let dir = tempfile::tempdir().expect("dir");
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "s3cr3t").expect("secret");
        // Accepts (the kernel's backlog), never answers.
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let started = Instant::now();
        let handed = handoff_with(&config(port, secret), vec![request()]);
        let limit = Duration::from_millis(limits().library.handoff_timeout_ms);
        assert!(
            matches!(handed, Handed::Refused { status: None, .. }),
            "{handed:?}"
        );
        assert!(started.elapsed() >= limit, "waited the limit");
        drop(listener);
    }
}
