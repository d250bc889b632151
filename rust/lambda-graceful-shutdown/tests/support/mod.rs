//! Test support: loopback fakes of the Lambda Runtime and Extensions APIs and
//! of the extension's report listener, and a handle on a real function
//! process. Fakes stand in only for what Lambda provides; the function and
//! the extension under test are the real binaries.

#![allow(dead_code, unused_imports)]

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use graceful_shutdown_protocol::{Report, SECRET_HEADER};
use nix::sys::signal::Signal;
use tiny_http::{Header, Request, Response, Server};

pub const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub use graceful_shutdown_testkit::wait::{wait_for, wait_until, DEADLINE};
pub use graceful_shutdown_testkit::PortLease;

/// A binary built by cargo next to this test, or a clear failure saying how to build it.
pub fn built_binary(relative: &str, build_command: &str) -> PathBuf {
    graceful_shutdown_testkit::built(relative, build_command)
}

pub fn probe_binary() -> PathBuf {
    built_binary(
        "examples/probe",
        "cargo build -p lambda-graceful-shutdown --examples",
    )
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("header")
}

fn header_value(request: &Request, name: &str) -> Option<String> {
    request
        .headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str().to_owned())
}

fn body(request: &mut Request) -> String {
    let mut text = String::new();
    let _ = request.as_reader().read_to_string(&mut text);
    text
}

/// What the fake Lambda API has seen.
#[derive(Debug, Default)]
pub struct LambdaLog {
    pub next_calls: usize,
    pub responses: Vec<(String, String)>,
    pub errors: Vec<(String, String)>,
    pub registered: Vec<String>,
}

/// The Runtime API (`/2018-06-01/runtime/...`) and Extensions API
/// (`/2020-01-01/extension/...`) on one loopback port, like Lambda's.
/// `/invocation/next` serves queued events, then blocks; the extension's
/// `/event/next` blocks until [`FakeLambdaApi::send_shutdown`].
pub struct FakeLambdaApi {
    pub addr: String,
    pub log: Arc<Mutex<LambdaLog>>,
    events: Arc<Mutex<VecDeque<String>>>,
    shutdown: Arc<Mutex<Option<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeLambdaApi {
    pub fn start(events: Vec<String>) -> FakeLambdaApi {
        let server = Server::http("127.0.0.1:0").expect("bind fake Lambda API");
        let addr = server.server_addr().to_ip().expect("ip addr").to_string();
        let log = Arc::new(Mutex::new(LambdaLog::default()));
        let events = Arc::new(Mutex::new(VecDeque::from(events)));
        let shutdown = Arc::new(Mutex::new(None::<String>));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (log, events, shutdown, stop) =
                (log.clone(), events.clone(), shutdown.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut held_invocations = Vec::new();
                let mut held_extension_next = Vec::new();
                let mut request_id = 0_u32;
                while !stop.load(Ordering::SeqCst) {
                    if let Some(payload) = shutdown.lock().expect("lock").clone() {
                        for r in held_extension_next.drain(..) {
                            let _ = Request::respond(r, Response::from_string(payload.clone()));
                        }
                    }
                    let Ok(Some(mut request)) = server.recv_timeout(Duration::from_millis(5))
                    else {
                        continue;
                    };
                    let url = request.url().to_owned();
                    if url == "/2018-06-01/runtime/invocation/next" {
                        log.lock().expect("lock").next_calls += 1;
                        match events.lock().expect("lock").pop_front() {
                            Some(event) => {
                                request_id += 1;
                                let deadline = std::time::SystemTime::now()
                                    .duration_since(std::time::UNIX_EPOCH)
                                    .expect("clock")
                                    .as_millis()
                                    + 30_000;
                                let response = Response::from_string(event)
                                    .with_header(header(
                                        "Lambda-Runtime-Aws-Request-Id",
                                        &format!("req-{request_id}"),
                                    ))
                                    .with_header(header(
                                        "Lambda-Runtime-Deadline-Ms",
                                        &deadline.to_string(),
                                    ))
                                    .with_header(header(
                                        "Lambda-Runtime-Invoked-Function-Arn",
                                        "arn:aws:lambda:us-east-1:123456789012:function:probe",
                                    ))
                                    .with_header(header(
                                        "Lambda-Runtime-Trace-Id",
                                        "Root=1-00000000-000000000000000000000000",
                                    ))
                                    .with_header(header("Content-Type", "application/json"));
                                let _ = request.respond(response);
                            }
                            None => held_invocations.push(request),
                        }
                    } else if let Some(rest) = url.strip_prefix("/2018-06-01/runtime/invocation/") {
                        let text = body(&mut request);
                        let mut log = log.lock().expect("lock");
                        if let Some(id) = rest.strip_suffix("/response") {
                            log.responses.push((id.to_owned(), text));
                        } else {
                            log.errors.push((rest.to_owned(), text));
                        }
                        drop(log);
                        let _ = request.respond(Response::empty(202));
                    } else if url == "/2018-06-01/runtime/init/error" {
                        let text = body(&mut request);
                        log.lock().expect("lock").errors.push((url, text));
                        let _ = request.respond(Response::empty(202));
                    } else if url == "/2020-01-01/extension/register" {
                        let name =
                            header_value(&request, "Lambda-Extension-Name").unwrap_or_default();
                        log.lock().expect("lock").registered.push(name);
                        let response = Response::from_string(
                            r#"{"functionName":"probe","functionVersion":"$LATEST","handler":"probe"}"#,
                        )
                        .with_header(header("Lambda-Extension-Identifier", "extension-id-1"))
                        .with_header(header("Content-Type", "application/json"));
                        let _ = request.respond(response);
                    } else if url == "/2020-01-01/extension/event/next" {
                        held_extension_next.push(request);
                    } else {
                        let _ = request.respond(Response::empty(404));
                    }
                }
                drop(held_invocations);
            })
        };
        FakeLambdaApi {
            addr,
            log,
            events,
            shutdown,
            stop,
            thread: Some(thread),
        }
    }

    /// Wait until the function has asked for its first invocation (so its
    /// init, including `install()`, is over).
    pub fn wait_for_next_calls(&self, n: usize, limit: Duration) {
        wait_until(
            &format!("the function calls /invocation/next {n} time(s)"),
            limit,
            || self.log.lock().expect("lock").next_calls >= n,
            || format!("{:?}", self.log.lock().expect("lock")),
        );
    }

    /// Answer the extension's pending `/event/next` with SHUTDOWN.
    pub fn send_shutdown(&self, reason: &str, deadline_in: Duration) {
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            + deadline_in;
        *self.shutdown.lock().expect("lock") = Some(format!(
            r#"{{"eventType":"SHUTDOWN","shutdownReason":"{reason}","deadlineMs":{}}}"#,
            deadline.as_millis()
        ));
    }
}

impl Drop for FakeLambdaApi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One report as the fake extension listener received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    /// The number of its connection, in accept order.
    pub connection: u64,
    pub report: Report,
}

#[derive(Debug, Default)]
struct Connections {
    /// Connections accepted so far.
    accepted: u64,
    /// Numbers of the connections handled so far.
    handled: Vec<u64>,
}

/// Stands in for the extension's report listener: checks the secret, keeps
/// what it accepts, counts what it refuses. Like the extension, it numbers
/// connections as it accepts them and keeps the reports in that order,
/// whatever order their threads end in.
pub struct FakeReportListener {
    pub port: u16,
    pub received: Arc<Mutex<Vec<Received>>>,
    pub refused: Arc<AtomicUsize>,
    connections: Arc<Mutex<Connections>>,
}

impl FakeReportListener {
    pub fn start() -> FakeReportListener {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind fake report listener");
        let port = listener.local_addr().expect("addr").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(Mutex::new(Connections::default()));
        {
            let (received, refused, connections) =
                (received.clone(), refused.clone(), connections.clone());
            // Ends with the test process: accepting blocks, and costs nothing.
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    let number = {
                        let mut c = connections.lock().expect("lock");
                        c.accepted += 1;
                        c.accepted
                    };
                    let (received, refused, connections) =
                        (received.clone(), refused.clone(), connections.clone());
                    std::thread::spawn(move || {
                        serve_report(stream, number, &received, &refused);
                        connections.lock().expect("lock").handled.push(number);
                    });
                }
            });
        }
        FakeReportListener {
            port,
            received,
            refused,
            connections,
        }
    }

    /// Send `report` with the right secret, as the library would; wait for the answer.
    pub fn send_own(&self, report: &Report) {
        use std::io::{Read, Write};
        let request = graceful_shutdown_protocol::wire::encode_request(self.port, SECRET, report);
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
        stream.write_all(request.as_bytes()).expect("write");
        let mut answer = [0_u8; 12];
        stream.read_exact(&mut answer).expect("an answer");
        assert!(
            answer.starts_with(b"HTTP/1.1 202"),
            "{:?}",
            String::from_utf8_lossy(&answer)
        );
    }

    /// Wait until every connection accepted so far has been handled. Once
    /// the function has exited, every report it wrote is then in.
    pub fn settle(&self) {
        let upto = self.connections.lock().expect("lock").accepted;
        // Connections still in the kernel's accept queue: one of the test's
        // own comes after them, and is accepted after them.
        use std::io::Write;
        let mut probe = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        let _ = probe.write_all(b"\r\n\r\n");
        drop(probe);
        wait_until(
            "the fake listener has handled every connection",
            DEADLINE,
            || {
                let c = self.connections.lock().expect("lock");
                c.accepted > upto && (1..=c.accepted).all(|n| c.handled.contains(&n))
            },
            || format!("{:?}", self.connections.lock().expect("lock")),
        );
    }

    /// The reports, in the order their connections were accepted.
    pub fn reports(&self) -> Vec<Report> {
        let mut list = self.received.lock().expect("lock").clone();
        list.sort_by_key(|r| r.connection);
        list.into_iter().map(|r| r.report).collect()
    }

    /// Wait until a report matching `pick` has arrived; returns when it did.
    pub fn wait_for(&self, what: &str, limit: Duration, pick: impl Fn(&Report) -> bool) -> Instant {
        wait_for(
            &format!("a {what} report"),
            limit,
            || {
                self.received
                    .lock()
                    .expect("lock")
                    .iter()
                    .find(|r| pick(&r.report))
                    .map(|r| r.at)
            },
            || format!("got {:?}", self.reports()),
        )
    }
}

/// Read one request, keep the report if it is a good one, answer.
fn serve_report(
    mut stream: std::net::TcpStream,
    connection: u64,
    received: &Mutex<Vec<Received>>,
    refused: &AtomicUsize,
) {
    use std::io::{BufRead, Read, Write};
    let _ = stream.set_read_timeout(Some(DEADLINE));
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = std::io::BufReader::new(clone);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
        return; // the test's own settle probe, or nothing
    }
    let path_ok = line.split(' ').nth(1) == Some("/v1/report");
    let (mut length, mut secret_ok) = (0_usize, false);
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() {
            return;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((n, v)) = h.split_once(':') {
            let (n, v) = (n.trim(), v.trim());
            if n.eq_ignore_ascii_case("content-length") {
                length = v.parse().unwrap_or(0);
            } else if n.eq_ignore_ascii_case(SECRET_HEADER) {
                secret_ok = v == SECRET;
            }
        }
    }
    let mut body = vec![0_u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let at = Instant::now();
    let status = match (path_ok, secret_ok, Report::parse(&body)) {
        (true, true, Ok(report)) => {
            received.lock().expect("lock").push(Received {
                at,
                connection,
                report,
            });
            "202 Accepted"
        }
        _ => {
            refused.fetch_add(1, Ordering::SeqCst);
            "401 Unauthorized"
        }
    };
    let _ = stream.write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes());
}

/// A function's private temporary directory: secret file, output file, logs.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    /// Write the secret file, as the extension would.
    pub fn write_secret(&self) -> PathBuf {
        let path = self.path("secret");
        std::fs::write(&path, SECRET).expect("write secret");
        path
    }
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }
    pub fn lines(&self, name: &str) -> Vec<String> {
        self.read(name).lines().map(str::to_owned).collect()
    }
    /// Wait until file `name` has a whole line satisfying `pick`; returns it.
    pub fn wait_for_line(&self, name: &str, what: &str, pick: impl Fn(&str) -> bool) -> String {
        wait_for(
            what,
            DEADLINE,
            || {
                let text = self.read(name);
                let whole = text.rfind('\n').map_or("", |end| &text[..end]);
                whole.lines().find(|l| pick(l)).map(str::to_owned)
            },
            || format!("{name}:\n{}", self.read(name)),
        )
    }
    /// Wait until file `name` has at least `n` whole lines satisfying `pick`.
    pub fn wait_for_lines(&self, name: &str, what: &str, n: usize, pick: impl Fn(&str) -> bool) {
        wait_until(
            what,
            DEADLINE,
            || {
                let text = self.read(name);
                let whole = text.rfind('\n').map_or("", |end| &text[..end]);
                whole.lines().filter(|l| pick(l)).count() >= n
            },
            || format!("{name}:\n{}", self.read(name)),
        );
    }
}

/// Environment every function process gets: the Lambda variables
/// `lambda_runtime` needs, and nothing inherited from the test's environment.
pub fn lambda_command(
    binary: &Path,
    api: &FakeLambdaApi,
    scratch: &Scratch,
    log_name: &str,
) -> Command {
    let mut cmd = Command::new(binary);
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
        .env("AWS_LAMBDA_FUNCTION_NAME", "probe")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test-stream")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/probe")
        .env("AWS_LAMBDA_LOG_LEVEL", "debug")
        .stdin(Stdio::null())
        .stdout(
            std::fs::File::create(scratch.path(&format!("{log_name}.out"))).expect("stdout file"),
        )
        .stderr(
            std::fs::File::create(scratch.path(&format!("{log_name}.err"))).expect("stderr file"),
        );
    cmd
}

/// A running process (in a process group of its own); the group is killed
/// on drop.
pub struct Process(pub graceful_shutdown_testkit::Proc);

impl Process {
    pub fn spawn(mut cmd: Command) -> Process {
        let name = cmd.get_program().to_string_lossy().into_owned();
        Process(graceful_shutdown_testkit::Proc::spawn(&name, &mut cmd))
    }

    pub fn id(&self) -> u32 {
        self.0.id()
    }

    pub fn signal(&self, signal: Signal) {
        self.0.signal(signal);
    }

    /// Wait for the exit; returns the status and when it was seen.
    pub fn wait_exit(&mut self, limit: Duration) -> (ExitStatus, Instant) {
        self.0.wait_exit(limit)
    }

    pub fn is_running(&mut self) -> bool {
        self.0.is_running()
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
