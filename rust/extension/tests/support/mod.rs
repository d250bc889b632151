//! A loopback fake of the Lambda Extensions API, and a harness that runs the
//! real `graceful-shutdown` binary against it.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use graceful_shutdown_testkit::wait::DEADLINE;
use graceful_shutdown_testkit::{Output, PortLease, Proc};

pub const BIN: &str = env!("CARGO_BIN_EXE_graceful-shutdown");

/// How the fake answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Status, extra headers, body.
    Respond(u16, Vec<(String, String)>, String),
    /// Close the connection without answering.
    Close,
}

impl Reply {
    pub fn ok_json(body: &str) -> Reply {
        Reply::Respond(200, vec![], body.to_owned())
    }

    pub fn status(status: u16) -> Reply {
        Reply::Respond(
            status,
            vec![],
            String::from("{\"errorMessage\":\"fake failure\"}"),
        )
    }

    pub fn registered() -> Reply {
        Reply::Respond(
            200,
            vec![(
                String::from("Lambda-Extension-Identifier"),
                String::from("ext-id-42"),
            )],
            String::from(
                r#"{"functionName":"orders","functionVersion":"$LATEST","handler":"bootstrap","accountId":"123456789012"}"#,
            ),
        )
    }

    pub fn shutdown(reason: &str, deadline_ms: u64) -> Reply {
        Reply::ok_json(&format!(
            r#"{{"eventType":"SHUTDOWN","shutdownReason":"{reason}","deadlineMs":{deadline_ms}}}"#
        ))
    }
}

/// What `/event/next` does, call by call.
#[derive(Debug)]
pub enum Next {
    Now(Reply),
    /// Wait until the test sends the reply.
    Wait(Receiver<Reply>),
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// At `/register`: was the report port already accepting connections?
    pub port_open: bool,
    /// At `/register`: the secret file's content and mode, if it existed.
    pub secret_file: Option<(String, u32)>,
    pub at: Instant,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct FakeApi {
    pub addr: String,
    pub recorded: Arc<Mutex<Vec<Recorded>>>,
}

struct Script {
    register: Reply,
    next: Mutex<VecDeque<Next>>,
    report_port: u16,
    secret_file: PathBuf,
}

impl FakeApi {
    pub fn start(
        register: Reply,
        next: Vec<Next>,
        report_port: u16,
        secret_file: &Path,
    ) -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake API");
        let addr = listener.local_addr().expect("addr").to_string();
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Script {
            register,
            next: Mutex::new(next.into()),
            report_port,
            secret_file: secret_file.to_owned(),
        });
        let rec = Arc::clone(&recorded);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let rec = Arc::clone(&rec);
                let script = Arc::clone(&script);
                thread::spawn(move || serve(stream, &rec, &script));
            }
        });
        FakeApi { addr, recorded }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.recorded.lock().expect("lock").clone()
    }

    pub fn paths(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.path).collect()
    }

    /// Wait until a request to `path` has been received.
    pub fn wait_for(&self, path: &str, timeout: Duration) -> Option<Recorded> {
        self.wait_for_nth(path, 1, timeout)
    }

    /// Wait until `n` requests to `path` have been received; the `n`th.
    pub fn wait_for_nth(&self, path: &str, n: usize, timeout: Duration) -> Option<Recorded> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(r) = self
                .requests()
                .into_iter()
                .filter(|r| r.path == path)
                .nth(n - 1)
            {
                return Some(r);
            }
            if Instant::now() >= end {
                return None;
            }
            thread::sleep(Duration::from_millis(1));
        }
    }
}

fn serve(mut stream: TcpStream, recorded: &Mutex<Vec<Recorded>>, script: &Script) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some((method, path, headers, body)) = read_request(&mut stream) else {
        return;
    };
    let mut rec = Recorded {
        method,
        path: path.clone(),
        headers,
        body,
        port_open: false,
        secret_file: None,
        at: Instant::now(),
    };
    if path.ends_with("/register") {
        rec.port_open = TcpStream::connect(("127.0.0.1", script.report_port)).is_ok();
        rec.secret_file = std::fs::read_to_string(&script.secret_file).ok().map(|s| {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&script.secret_file)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0);
            (s, mode)
        });
    }
    recorded.lock().expect("lock").push(rec);
    let reply = if path.ends_with("/register") {
        script.register.clone()
    } else if path.ends_with("/event/next") {
        let next = script.next.lock().expect("lock").pop_front();
        match next {
            Some(Next::Now(reply)) => reply,
            Some(Next::Wait(rx)) => match rx.recv() {
                Ok(reply) => reply,
                Err(_) => return,
            },
            // Nothing scripted: block like Lambda would, until the test ends.
            None => {
                thread::sleep(Duration::from_secs(60));
                return;
            }
        }
    } else if path.ends_with("/init/error") || path.ends_with("/exit/error") {
        Reply::Respond(202, vec![], String::from("{\"status\":\"OK\"}"))
    } else {
        Reply::status(404)
    };
    match reply {
        Reply::Close => {
            let _ = stream.shutdown(Shutdown::Both);
        }
        Reply::Respond(status, headers, body) => {
            let mut out = format!("HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n");
            for (n, v) in headers {
                out.push_str(&format!("{n}: {v}\r\n"));
            }
            out.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
            let _ = stream.write_all(out.as_bytes());
        }
    }
}

type Parsed = (String, String, Vec<(String, String)>, String);

fn read_request(stream: &mut TcpStream) -> Option<Parsed> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.trim_end().split(' ');
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (n, v) = h.split_once(':')?;
        let (n, v) = (n.trim().to_ascii_lowercase(), v.trim().to_owned());
        if n == "content-length" {
            length = v.parse().ok()?;
        }
        headers.push((n, v));
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    Some((
        method,
        path,
        headers,
        String::from_utf8_lossy(&body).into_owned(),
    ))
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A loopback port no other test is handed while this process runs.
pub fn free_port() -> u16 {
    graceful_shutdown_testkit::port()
}

/// One run of the extension against a fake API.
pub struct Run {
    pub api: FakeApi,
    pub port: u16,
    pub secret_file: PathBuf,
    /// Just before the process was spawned.
    pub started: Instant,
    proc: Proc,
    stdout: Output,
    shutdown_tx: Option<Sender<Reply>>,
    _dir: tempfile::TempDir,
    // Held until the extension is gone.
    _port: PortLease,
}

pub struct Exit {
    pub status: ExitStatus,
    pub stdout: String,
    /// Every request the fake API received.
    pub requests: Vec<Recorded>,
    /// When the exit was observed.
    pub at: Instant,
}

impl Exit {
    pub fn request(&self, path: &str) -> Option<&Recorded> {
        self.requests.iter().find(|r| r.path == path)
    }

    pub fn lines_containing(&self, needle: &str) -> Vec<&str> {
        self.stdout.lines().filter(|l| l.contains(needle)).collect()
    }

    /// The single verdict line; fails the test if there is not exactly one.
    pub fn verdict_line(&self) -> &str {
        let lines = self.lines_containing("graceful-shutdown verdict");
        assert_eq!(
            lines.len(),
            1,
            "exactly one verdict line expected; stdout:\n{}",
            self.stdout
        );
        lines[0]
    }
}

pub struct Options {
    pub register: Reply,
    /// Replies to `/event/next` before the one the test triggers with [`Run::shutdown`].
    pub next_before: Vec<Next>,
    /// Whether the last `/event/next` waits for [`Run::shutdown`].
    pub wait_for_shutdown: bool,
    pub env: Vec<(String, String)>,
    /// Variables whose values are raw bytes (not necessarily UTF-8).
    pub env_bytes: Vec<(String, Vec<u8>)>,
    /// A program that runs the binary (qemu-user for another architecture's build).
    pub runner: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            register: Reply::registered(),
            next_before: Vec::new(),
            wait_for_shutdown: true,
            env: Vec::new(),
            env_bytes: Vec::new(),
            runner: None,
        }
    }
}

impl Run {
    pub fn start(options: Options) -> Run {
        Run::start_binary(Path::new(BIN), options)
    }

    /// Run `binary` (a release build, say) instead of the test build.
    pub fn start_binary(binary: &Path, options: Options) -> Run {
        let dir = tempfile::tempdir().expect("tempdir");
        let secret_file = dir.path().join("graceful-shutdown.secret");
        let lease = PortLease::take();
        let port = lease.port();
        let mut next = options.next_before;
        let shutdown_tx = if options.wait_for_shutdown {
            let (tx, rx) = mpsc::channel();
            next.push(Next::Wait(rx));
            Some(tx)
        } else {
            None
        };
        let api = FakeApi::start(options.register, next, port, &secret_file);
        let mut cmd = match &options.runner {
            Some(runner) => {
                let mut cmd = Command::new(runner);
                cmd.arg(binary);
                cmd
            }
            None => Command::new(binary),
        };
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
            .env("GRACEFUL_SHUTDOWN_PORT", port.to_string())
            .env("GRACEFUL_SHUTDOWN_SECRET_FILE", &secret_file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in &options.env {
            cmd.env(k, v);
        }
        for (k, v) in &options.env_bytes {
            use std::os::unix::ffi::OsStrExt;
            cmd.env(k, std::ffi::OsStr::from_bytes(v));
        }
        let started = Instant::now();
        let mut proc = Proc::spawn(&binary.display().to_string(), &mut cmd);
        let stdout = proc.take_stdout().expect("stdout is piped");
        Run {
            api,
            port,
            secret_file,
            started,
            proc,
            stdout,
            shutdown_tx,
            _dir: dir,
            _port: lease,
        }
    }

    /// Wait for `/register`, which comes after the port is bound and the secret written.
    pub fn registered(&self) -> Recorded {
        self.api
            .wait_for("/2020-01-01/extension/register", DEADLINE)
            .unwrap_or_else(|| panic!("the extension never registered; stdout:\n{}", self.stdout()))
    }

    /// Wait for `POST /init/error` with the registered identifier; its
    /// `Lambda-Extension-Function-Error-Type` (also the body's `errorType`)
    /// and `errorMessage`.
    pub fn init_error(&self) -> (String, String) {
        let err = self
            .api
            .wait_for("/2020-01-01/extension/init/error", DEADLINE)
            .unwrap_or_else(|| panic!("no /init/error; stdout:\n{}", self.stdout()));
        assert_eq!(err.method, "POST");
        assert_eq!(err.header("lambda-extension-identifier"), Some("ext-id-42"));
        let error_type = err
            .header("lambda-extension-function-error-type")
            .unwrap_or_default()
            .to_owned();
        let body: serde_json::Value = serde_json::from_str(&err.body).expect("JSON error body");
        assert_eq!(
            body["errorType"],
            error_type.as_str(),
            "the body names the same error type"
        );
        let message = body["errorMessage"]
            .as_str()
            .expect("errorMessage")
            .to_owned();
        (error_type, message)
    }

    /// Wait until the extension is blocked in `/event/next`.
    pub fn waiting_for_events(&self) {
        self.waiting_for_event(1);
    }

    /// Wait until the extension has asked for its `n`th event.
    pub fn waiting_for_event(&self, n: usize) {
        self.api
            .wait_for_nth("/2020-01-01/extension/event/next", n, DEADLINE)
            .unwrap_or_else(|| {
                panic!(
                    "the extension never asked for events; stdout:\n{}",
                    self.stdout()
                )
            });
    }

    pub fn pid(&self) -> u32 {
        self.proc.id()
    }

    pub fn secret(&self) -> String {
        std::fs::read_to_string(&self.secret_file).expect("secret file")
    }

    pub fn stdout(&self) -> String {
        self.stdout.text()
    }

    /// Wait until the output read so far contains `needle` (it is read from
    /// a pipe by a thread, which may lag behind the process on a busy machine).
    pub fn stdout_contains(&self, needle: &str, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        loop {
            if self.stdout().contains(needle) {
                return true;
            }
            if Instant::now() > end {
                return false;
            }
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// Send raw bytes to the report port, half-close, read the whole answer.
    pub fn send_raw(&self, bytes: &[u8]) -> String {
        let mut s =
            TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the report port");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let _ = s.write_all(bytes);
        let _ = s.shutdown(Shutdown::Write);
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// Send a report the way the function library does; return the status.
    pub fn report(&self, report: &graceful_shutdown_protocol::Report) -> u16 {
        let req =
            graceful_shutdown_protocol::wire::encode_request(self.port, &self.secret(), report);
        status_of(&self.send_raw(req.as_bytes()))
    }

    /// Answer the pending `/event/next` with a SHUTDOWN.
    pub fn shutdown(&mut self, reason: &str, deadline_ms: u64) {
        self.reply_next(Reply::shutdown(reason, deadline_ms));
    }

    pub fn reply_next(&mut self, reply: Reply) {
        self.shutdown_tx
            .take()
            .expect("the run was started with wait_for_shutdown")
            .send(reply)
            .expect("fake API is waiting");
    }

    /// Wait for the process to exit (killing it after `timeout`), and for
    /// the end of its output.
    pub fn exit(mut self, timeout: Duration) -> Exit {
        let end = Instant::now() + timeout;
        loop {
            if let Some(status) = self.proc.try_exit() {
                let at = Instant::now();
                return Exit {
                    status,
                    stdout: self.stdout.wait_closed(DEADLINE),
                    requests: self.api.requests(),
                    at,
                };
            }
            if Instant::now() > end {
                self.proc.kill();
                panic!(
                    "the extension did not exit within {timeout:?}; stdout:\n{}",
                    self.stdout()
                );
            }
            thread::sleep(Duration::from_micros(200));
        }
    }
}

/// The status code of an HTTP answer (0 if there is none).
pub fn status_of(answer: &str) -> u16 {
    answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}
