//! A loopback HTTP endpoint that stands for the service a function writes
//! to: it answers every request `200` after a fixed delay, and counts them.
//! Bounded: at most `max_requests` connections, each read within a few
//! seconds, and the accepting thread ends when the endpoint is dropped.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a connection may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest request read (the bench's are well under 1 KiB).
const MAX_REQUEST_BYTES: usize = 64 * 1024;

#[derive(Debug)]
pub struct Endpoint {
    port: u16,
    received: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Endpoint {
    /// Listens on `127.0.0.1`, a port the kernel picks, and answers each of
    /// at most `max_requests` requests after `delay`.
    pub fn start(delay: Duration, max_requests: usize) -> anyhow::Result<Endpoint> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        let received = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, stopped) = (Arc::clone(&received), Arc::clone(&stop));
        std::thread::spawn(move || {
            for stream in listener.incoming().take(max_requests) {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let count = Arc::clone(&count);
                std::thread::spawn(move || serve(stream, delay, &count));
            }
        });
        Ok(Endpoint {
            port,
            received,
            stop,
        })
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Requests read whole so far.
    pub fn received(&self) -> usize {
        self.received.load(Ordering::SeqCst)
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        // Wakes the accepting thread, which then sees the flag and ends.
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
    }
}

/// Reads one request (head and `Content-Length` body), waits `delay`,
/// answers `200` and closes.
fn serve(mut stream: TcpStream, delay: Duration, count: &AtomicUsize) {
    if stream.set_read_timeout(Some(READ_TIMEOUT)).is_err() {
        return;
    }
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut chunk) else {
            return;
        };
        if n == 0 {
            return;
        }
        got.extend_from_slice(&chunk[..n]);
        if complete(&got) {
            break;
        }
        if got.len() > MAX_REQUEST_BYTES {
            return;
        }
    }
    count.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(delay);
    let body = "{}";
    let answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes());
    let _ = stream.flush();
}

/// Whether `got` holds a whole request: its head and as many body bytes as
/// its `Content-Length` says.
fn complete(got: &[u8]) -> bool {
    let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&got[..end]);
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    got.len() >= end + 4 + length
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_whole_with_its_body() {
        assert!(!complete(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n"));
        assert!(!complete(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{"));
        assert!(complete(b"POST / HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}"));
        assert!(complete(b"GET / HTTP/1.1\r\n\r\n"));
    }

    #[test]
    fn answers_after_its_delay_and_counts() {
        let endpoint = Endpoint::start(Duration::from_millis(50), 4).expect("endpoint");
        let mut stream =
            TcpStream::connect(endpoint.url("").trim_start_matches("http://").to_owned())
                .expect("connect");
        let began = std::time::Instant::now();
        stream
            .write_all(b"POST /w HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
            .expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
        assert!(began.elapsed() >= Duration::from_millis(50));
        assert_eq!(endpoint.received(), 1);
    }
}
