//! `bench-handoff-function`: the function of the bench's handoff rows
//! (`bench/README.md`, The handoff), on the official `lambda_runtime` crate
//! and the Rust function library, as a user's function would be.
//!
//! One shutdown handler, `flush`, which hands off `BENCH_HANDOFF_REQUESTS`
//! small `POST`s to `BENCH_HANDOFF_URL` in one call of the library's
//! `handoff`, timed from the call to its return, and writes on stdout (which
//! the emulator stamps):
//!
//! - `bench-handoff handoff_us=<µs> accepted=<n>`, or
//!   `bench-handoff refused status=<status> <message>`;
//! - with `BENCH_DIRECT_IN_HANDLER=1`, then `bench-handoff direct start` and,
//!   if it ends before the runtime does, `bench-handoff direct_us=<µs> status=<status>`:
//!   the first of the same requests POSTed to the endpoint by the handler
//!   itself, what a user writes without the handoff.
//!
//! An invocation `{"action":"direct"}` POSTs that same request directly and
//! answers `{"directUs":<µs>,"status":<status>}`: the direct write timed
//! whole, outside the runtime's share of the shutdown phase. Any other
//! event is echoed.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use lambda_graceful_shutdown::{handoff, GracefulShutdown, Handed, HandoffRequest};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

/// A direct write gives up after this long (the endpoints answer within a second).
const DIRECT_TIMEOUT: Duration = Duration::from_secs(5);

fn url() -> String {
    std::env::var("BENCH_HANDOFF_URL").unwrap_or_default()
}

fn body(i: usize) -> String {
    json!({"item": i, "note": "bench handoff"}).to_string()
}

/// Request `i` (from 1) of the handoff: a small JSON `POST`.
fn request(i: usize) -> HandoffRequest {
    HandoffRequest {
        id: Some(format!("bench-{i}")),
        method: "POST".into(),
        url: url(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: body(i).into_bytes(),
        sign: None,
    }
}

/// `http://host:port/path` → (`host:port`, `/path`).
fn split_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("BENCH_HANDOFF_URL: expected http://host:port/path, got {url:?}"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    Ok((authority.to_owned(), path.to_owned()))
}

/// POSTs request 1's body to the endpoint over one plain HTTP/1.1
/// connection and reads the whole answer: its status code and the time taken.
fn post_directly() -> Result<(u128, u16), String> {
    let (authority, path) = split_url(&url())?;
    let body = body(1);
    let began = Instant::now();
    let mut stream = TcpStream::connect(&authority).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(DIRECT_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(DIRECT_TIMEOUT)))
        .map_err(|e| e.to_string())?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\ncontent-type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream
        .write_all(format!("{head}{body}").as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .map_err(|e| format!("read: {e}"))?;
    let us = began.elapsed().as_micros();
    let status = String::from_utf8_lossy(&answer)
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| "no status line in the answer".to_owned())?;
    Ok((us, status))
}

async fn direct() -> Result<(u128, u16), String> {
    tokio::task::spawn_blocking(post_directly)
        .await
        .map_err(|e| e.to_string())?
}

async fn flush() -> Result<(), Error> {
    let count = std::env::var("BENCH_HANDOFF_REQUESTS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1);
    let requests: Vec<HandoffRequest> = (1..=count).map(request).collect();
    let began = Instant::now();
    let handed = handoff(requests).await;
    let us = began.elapsed().as_micros();
    match handed {
        Handed::Taken { accepted, .. } => {
            println!("bench-handoff handoff_us={us} accepted={accepted}");
        }
        Handed::Refused { status, message } => {
            let status = status.map_or_else(|| "-".to_owned(), |s| s.to_string());
            println!("bench-handoff refused status={status} {message}");
        }
    }
    if matches!(std::env::var("BENCH_DIRECT_IN_HANDLER").as_deref(), Ok("1")) {
        println!("bench-handoff direct start");
        let (us, status) = direct().await?;
        println!("bench-handoff direct_us={us} status={status}");
    }
    Ok(())
}

async fn invoke(event: LambdaEvent<Value>) -> Result<Value, Error> {
    if event.payload.get("action").and_then(Value::as_str) == Some("direct") {
        let (us, status) = direct().await?;
        return Ok(json!({"directUs": us, "status": status}));
    }
    Ok(event.payload)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    GracefulShutdown::from_env()
        .on_shutdown("flush", flush)
        .install();
    lambda_runtime::run(service_fn(invoke)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_a_loopback_url() {
        assert_eq!(
            split_url("http://127.0.0.1:8080/write"),
            Ok(("127.0.0.1:8080".to_owned(), "/write".to_owned()))
        );
        assert_eq!(
            split_url("http://127.0.0.1:8080"),
            Ok(("127.0.0.1:8080".to_owned(), "/".to_owned()))
        );
        assert!(split_url("https://example.com/").is_err());
    }
}
