//! `probe`: a fault-injection Lambda function for end-to-end tests of the
//! shutdown phase. Built on the official `lambda_runtime` crate and this
//! library; configured entirely by environment variables.
//!
//! # Contract
//!
//! Environment:
//!
//! - `PROBE_HANDLERS`: comma-separated `name:behaviour` list, registered in
//!   this order (default `flush:ok`). Behaviours:
//!   - `ok`: returns `Ok` at once;
//!   - `sleep=<ms>`: sleeps that many milliseconds, then returns `Ok`;
//!   - `error`: returns an error (`injected error in <name>`);
//!   - `panic`: panics (`injected panic in <name>`);
//!   - `handoff`: hands off one `POST` to `PROBE_HANDOFF_URL` with the body
//!     `{"handler":"<name>","pad":"x..."}`, padded to `PROBE_HANDOFF_BYTES`
//!     (default: no pad), with the library's `handoff`; appends
//!     `handoff <name> taken` or `handoff <name> refused <status> <message>`;
//!   - `forged`: sends a handoff to the extension's port with a wrong
//!     secret, as a request forgery would; appends `forged <name> <status>`.
//!
//!   A malformed list is refused at start: one line on stderr naming
//!   `PROBE_HANDLERS` and the bad item, exit status 2.
//! - `PROBE_OUTPUT`: file to append lines to (unset: no file). Each handler
//!   appends `start <name>` when it starts, and `<name>` when it completes its
//!   work successfully (`ok`, or after its sleep). Each invocation appends
//!   `invoke <n>` (n counts from 1) when it starts.
//! - `PROBE_CONCURRENT=1`: run the handlers concurrently.
//! - `PROBE_NO_SUBSCRIBER=1`: set no `tracing` subscriber (the library's
//!   cold-start warnings then go to stderr).
//! - `PROBE_NO_LIBRARY=1`: do not install the library: a plain
//!   `lambda_runtime` function (SIGTERM kills it with the default action).
//! - `PROBE_IGNORE_SIGTERM=1`: do not install the library, and ignore
//!   SIGTERM: the signal is caught and discarded (tokio's safe signal
//!   listener; the effect of `SIG_IGN` without `unsafe`), so only SIGKILL
//!   ends the process. Simulates a runtime that ignores SIGTERM.
//! - `GRACEFUL_SHUTDOWN_*`: the library's own settings (port, budget, secret
//!   file), plus the usual Lambda variables `lambda_runtime` needs.
//!
//! Invocation events (JSON):
//!
//! - `{"action":"crash"}`: `std::process::abort()` (SIGABRT);
//! - `{"action":"exit","code":N}`: `std::process::exit(N)`;
//! - `{"action":"sleep","ms":N}`: sleeps N ms, then answers with the event;
//! - anything else: answers with the event itself (echo).
//!
//! `1` and `true` both switch a flag on.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

/// What a handler does when it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Ok,
    Sleep(u64),
    Error,
    Panic,
    Handoff,
    Forged,
}

/// Parse `PROBE_HANDLERS`. The error names the variable and the bad item.
fn parse_handlers(raw: &str) -> Result<Vec<(String, Behaviour)>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            let bad = |why: &str| {
                format!("PROBE_HANDLERS: {why} in {item:?}; expected name:ok, name:sleep=<ms>, name:error, name:panic, name:handoff or name:forged")
            };
            let (name, behaviour) = item.split_once(':').ok_or_else(|| bad("missing ':'"))?;
            if name.is_empty() {
                return Err(bad("empty handler name"));
            }
            let behaviour = match behaviour {
                "ok" => Behaviour::Ok,
                "error" => Behaviour::Error,
                "panic" => Behaviour::Panic,
                "handoff" => Behaviour::Handoff,
                "forged" => Behaviour::Forged,
                other => match other.strip_prefix("sleep=").map(str::parse::<u64>) {
                    Some(Ok(ms)) => Behaviour::Sleep(ms),
                    _ => return Err(bad("unknown behaviour")),
                },
            };
            Ok((name.to_owned(), behaviour))
        })
        .collect()
}

fn flag(name: &str) -> bool {
    matches!(std::env::var(name).as_deref(), Ok("1") | Ok("true"))
}

/// Appends whole lines to `PROBE_OUTPUT`, if set. `O_APPEND` keeps each
/// short line intact even when concurrent handlers write at once.
#[derive(Debug, Clone)]
struct Output(Option<Arc<PathBuf>>);

impl Output {
    fn line(&self, text: &str) {
        let Some(path) = &self.0 else { return };
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path.as_path())
            .and_then(|mut f| f.write_all(format!("{text}\n").as_bytes()));
        if let Err(e) = written {
            eprintln!(
                "probe: cannot append to PROBE_OUTPUT {}: {e}",
                path.display()
            );
        }
    }
}

async fn run_handler(name: String, behaviour: Behaviour, out: Output) -> Result<(), Error> {
    out.line(&format!("start {name}"));
    match behaviour {
        Behaviour::Ok => {}
        Behaviour::Sleep(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
        Behaviour::Error => return Err(format!("injected error in {name}").into()),
        Behaviour::Panic => panic!("injected panic in {name}"),
        Behaviour::Handoff => {
            let url = std::env::var("PROBE_HANDOFF_URL").unwrap_or_default();
            let pad = std::env::var("PROBE_HANDOFF_BYTES")
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            let body = serde_json::json!({"handler": name, "pad": "x".repeat(pad)}).to_string();
            let request = lambda_graceful_shutdown::HandoffRequest {
                id: Some(format!("{name}-1")),
                method: "POST".into(),
                url,
                headers: vec![("content-type".into(), "application/json".into())],
                body: body.into_bytes(),
                sign: None,
            };
            match lambda_graceful_shutdown::handoff(vec![request]).await {
                lambda_graceful_shutdown::Handed::Taken { .. } => {
                    out.line(&format!("handoff {name} taken"));
                }
                lambda_graceful_shutdown::Handed::Refused { status, message } => {
                    let status = status.map_or_else(|| "-".to_owned(), |s| s.to_string());
                    out.line(&format!("handoff {name} refused {status} {message}"));
                }
            }
        }
        Behaviour::Forged => {
            let status = forged_handoff().unwrap_or_else(|e| format!("error {e}"));
            out.line(&format!("forged {name} {status}"));
        }
    }
    out.line(&name);
    Ok(())
}

/// A handoff with a wrong secret to the extension's port: the status line's code.
fn forged_handoff() -> std::io::Result<String> {
    use std::io::Read;
    let port = std::env::var("GRACEFUL_SHUTDOWN_PORT").unwrap_or_else(|_| "4471".into());
    let body =
        r#"{"type":"handoff","requests":[{"method":"POST","url":"http://127.0.0.1:9/forged"}]}"#;
    let request = format!(
        "POST /v1/handoff HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         x-graceful-shutdown-secret: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        "0".repeat(64),
        body.len()
    );
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port.parse().unwrap_or(4471)))?;
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    stream.write_all(request.as_bytes())?;
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    Ok(answer.split(' ').nth(1).unwrap_or("none").to_owned())
}

async fn invoke(
    event: LambdaEvent<Value>,
    count: Arc<AtomicUsize>,
    out: Output,
) -> Result<Value, Error> {
    let n = count.fetch_add(1, Ordering::SeqCst) + 1;
    out.line(&format!("invoke {n}"));
    let payload = event.payload;
    match payload.get("action").and_then(Value::as_str) {
        Some("crash") => std::process::abort(),
        Some("exit") => {
            let code = payload.get("code").and_then(Value::as_i64).unwrap_or(1);
            std::process::exit(i32::try_from(code).unwrap_or(1));
        }
        Some("sleep") => {
            let ms = payload.get("ms").and_then(Value::as_u64).unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        _ => {}
    }
    Ok(payload)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    if !flag("PROBE_NO_SUBSCRIBER") {
        lambda_runtime::tracing::init_default_subscriber();
    }

    let raw = std::env::var("PROBE_HANDLERS").unwrap_or_else(|_| String::from("flush:ok"));
    let handlers = match parse_handlers(&raw) {
        Ok(h) => h,
        Err(message) => {
            eprintln!("probe: {message}");
            std::process::exit(2);
        }
    };
    let out = Output(std::env::var_os("PROBE_OUTPUT").map(|p| Arc::new(PathBuf::from(p))));

    if flag("PROBE_IGNORE_SIGTERM") {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::spawn(async move {
            while term.recv().await.is_some() {
                tracing::info!("probe: SIGTERM ignored (PROBE_IGNORE_SIGTERM=1)");
            }
        });
    } else if !flag("PROBE_NO_LIBRARY") {
        let mut shutdown = lambda_graceful_shutdown::GracefulShutdown::from_env()
            .concurrent(flag("PROBE_CONCURRENT"));
        for (name, behaviour) in handlers {
            let out = out.clone();
            shutdown =
                shutdown.on_shutdown(name.clone(), move || run_handler(name, behaviour, out));
        }
        shutdown.install();
    }

    let count = Arc::new(AtomicUsize::new(0));
    lambda_runtime::run(service_fn(move |event| {
        invoke(event, count.clone(), out.clone())
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_handler_list() {
        assert_eq!(
            parse_handlers("flush:ok, slow:sleep=500,bad:error,boom:panic"),
            Ok(vec![
                ("flush".to_owned(), Behaviour::Ok),
                ("slow".to_owned(), Behaviour::Sleep(500)),
                ("bad".to_owned(), Behaviour::Error),
                ("boom".to_owned(), Behaviour::Panic),
            ])
        );
        assert_eq!(parse_handlers(""), Ok(vec![]));
        for bad in ["flush", ":ok", "a:sleep=x", "a:nap"] {
            let e = parse_handlers(bad).expect_err(bad);
            assert!(e.starts_with("PROBE_HANDLERS: "), "{e}");
        }
    }
}
