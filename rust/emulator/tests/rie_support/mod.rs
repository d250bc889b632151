//! Running one function under AWS's Runtime Interface Emulator (the
//! open-source Lambda core), reusable by any end-to-end test: the RIE runs in
//! private mount and PID namespaces (`unshare --mount --pid --fork`), with a
//! tmpfs on `/opt` and the layer's `extensions/` bind-mounted on
//! `/opt/extensions` (the RIE starts `/opt/extensions/*`), the runtime command
//! run from the function directory, one invocation posted to its invoke API,
//! then SIGTERM to the RIE (reset reason `SandboxTerminated`) or an invocation
//! that outlives the function timeout (`Timeout`). The RIE's debug log and
//! the processes' output come back as lines. Needs root, `unshare`
//! (util-linux) and the `aws-lambda-rie` binary (`scripts/rie-compare.sh`
//! installs the pinned one).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::common::{free_port, target_dir};

/// The RIE version `scripts/rie-compare.sh` pins (its `VERSION=` line), so
/// that the pin is written in one place.
pub fn pinned_version() -> Option<&'static str> {
    include_str!("../../../../scripts/rie-compare.sh")
        .lines()
        .find_map(|l| l.strip_prefix("VERSION="))
        .map(str::trim)
}

/// `AWS_LAMBDA_RIE`, the pinned version under `target/rie/`, `PATH`, or `$GOPATH/bin`.
pub fn rie_binary() -> PathBuf {
    let pinned = pinned_version().and_then(|v| {
        target_dir()
            .parent()
            .map(|t| t.join("rie").join(v).join("aws-lambda-rie"))
    });
    let candidates = std::env::var_os("AWS_LAMBDA_RIE")
        .map(PathBuf::from)
        .into_iter()
        .chain(pinned)
        .chain(std::env::var_os("PATH").into_iter().flat_map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("aws-lambda-rie"))
                .collect::<Vec<_>>()
        }))
        .chain(std::env::var_os("GOPATH").map(|g| PathBuf::from(g).join("bin/aws-lambda-rie")))
        .chain(std::env::var_os("HOME").map(|h| PathBuf::from(h).join("go/bin/aws-lambda-rie")));
    for c in candidates {
        if c.is_file() {
            return c;
        }
    }
    panic!(
        "aws-lambda-rie not found: run scripts/rie-compare.sh, or set AWS_LAMBDA_RIE to the binary"
    );
}

/// How the environment ends under the RIE.
#[derive(Debug, Clone, Copy)]
pub enum Ending {
    /// The invocation outlives the function timeout (1 s): the RIE resets with reason `Timeout`.
    InvokeTimeout,
    /// SIGTERM to the RIE once the invocation is answered: it resets with reason `SandboxTerminated`.
    Terminate,
}

/// One run under the RIE.
#[derive(Debug, Clone)]
pub struct RieRun {
    /// The function directory: the runtime's working directory.
    pub function_dir: PathBuf,
    /// A directory of extension executables, mounted on `/opt/extensions`.
    pub extensions: Option<PathBuf>,
    /// The runtime's command line; `[function_dir/bootstrap]` when empty.
    pub command: Vec<String>,
    /// Environment for the RIE, which passes it on to the runtime and the extensions.
    pub env: Vec<(String, String)>,
    /// The invocation's payload.
    pub payload: String,
    pub ending: Ending,
    /// Where to write the script and the log.
    pub work_dir: PathBuf,
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Runs the RIE; returns its log (its own debug lines and the processes' output).
pub fn run_rie(r: &RieRun) -> Vec<String> {
    let rie = rie_binary();
    let port = free_port();
    let api_port = free_port();
    let script = r.work_dir.join("rie.sh");
    let mount_layer = match &r.extensions {
        Some(dir) => format!(
            "mount --bind {} /opt/extensions\n",
            quote(&dir.display().to_string())
        ),
        None => String::new(),
    };
    let command = if r.command.is_empty() {
        vec![r.function_dir.join("bootstrap").display().to_string()]
    } else {
        r.command.clone()
    };
    let command: Vec<String> = command.iter().map(|a| quote(a)).collect();
    std::fs::write(
        &script,
        format!(
            "set -e\nmount -t tmpfs tmpfs /opt\nmkdir -p /opt/extensions\n{mount_layer}cd {}\nexec {} --log-level debug \
             --runtime-interface-emulator-address 127.0.0.1:{port} --runtime-api-address 127.0.0.1:{api_port} {}\n",
            quote(&r.function_dir.display().to_string()),
            quote(&rie.display().to_string()),
            command.join(" ")
        ),
    )
    .expect("script");
    // The log is written by the RIE and by the runtime itself (it inherits
    // the RIE's stdout). On a disk busy with a build's writeback, one write
    // of the runtime can block for longer than the RIE's whole shutdown
    // share, and the line the comparison looks for never comes: so the log
    // lives in memory (tmpfs) when the machine has one, and is copied beside
    // the script afterwards.
    let live = LiveLog::new(&r.work_dir);
    let log_path = live.path.clone();
    let log = std::fs::File::create(&log_path).expect("log");
    let mut cmd = Command::new("unshare");
    // Private mount and PID namespaces: /opt is replaced only in there, and the
    // RIE's signals can reach nothing outside (it runs as PID 1 of its own).
    cmd.args([
        "--mount",
        "--propagation",
        "private",
        "--pid",
        "--fork",
        "--kill-child=SIGTERM",
        "--mount-proc",
        "sh",
    ])
    .arg(&script)
    .env_clear()
    .env("PATH", "/usr/bin:/bin")
    // The RIE counts an on-demand init into the first invocation's timeout:
    // 1 s only where the timeout is the point, room for a slow start elsewhere.
    .env(
        "AWS_LAMBDA_FUNCTION_TIMEOUT",
        match r.ending {
            Ending::InvokeTimeout => "1",
            Ending::Terminate => "30",
        },
    )
    .envs(r.env.iter().map(|(k, v)| (k, v)))
    .stdin(Stdio::null())
    .stdout(log.try_clone().expect("dup"))
    .stderr(log)
    .process_group(0);
    let mut child = cmd
        .spawn()
        .expect("unshare (util-linux) is needed, and root for mount");
    wait_for_port(port, Duration::from_secs(10));
    // unshare --fork ignores SIGTERM while it waits: signal the RIE itself (its child).
    let rie_pid = child_of(child.id());
    let answer = post(port, &r.payload);
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "RIE answered: {answer}\n--- log:\n{}",
        std::fs::read_to_string(&log_path).unwrap_or_default()
    );
    match r.ending {
        Ending::InvokeTimeout => assert!(answer.contains("Task timed out"), "{answer}"),
        Ending::Terminate => {
            // An idle environment: the runtime is back in /invocation/next
            // (its second call), as in the emulator before its shutdown.
            wait_for_lines(&log_path, NEXT_INVOCATION, 2, Duration::from_secs(20));
            signal_exact(rie_pid, Signal::SIGTERM);
        }
    }
    // The shutdown phase lasts at most 2 s.
    let until = Instant::now() + Duration::from_secs(4);
    loop {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        if text.contains("Waiting for runtime domain processes termination")
            || Instant::now() > until
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(100));
    // SIGTERM makes the RIE exit (after a reset with nothing left to stop);
    // SIGKILL to it (PID 1 of its namespace) only if it hangs.
    signal_exact(rie_pid, Signal::SIGTERM);
    let until = Instant::now() + Duration::from_secs(3);
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > until {
            signal_exact(rie_pid, Signal::SIGKILL);
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = std::fs::read_to_string(&log_path).expect("read log");
    let _ = std::fs::write(r.work_dir.join("rie.log"), &text);
    text.lines().map(str::to_owned).collect()
}

/// The RIE's debug line for a runtime's `GET /invocation/next`.
const NEXT_INVOCATION: &str = "GET /2018-06-01/runtime/invocation/next";

/// Waits until `needle` occurs on `count` lines of the log, or panics with
/// the log after `limit`.
fn wait_for_lines(log: &Path, needle: &str, count: usize, limit: Duration) {
    let until = Instant::now() + limit;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.lines().filter(|l| l.contains(needle)).count() >= count {
            return;
        }
        assert!(
            Instant::now() < until,
            "the RIE's log did not show {needle:?} {count} times within {limit:?}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The RIE's log file, on tmpfs (`/dev/shm`) when there is one; removed on drop.
struct LiveLog {
    dir: Option<PathBuf>,
    path: PathBuf,
}

impl LiveLog {
    fn new(work_dir: &Path) -> Self {
        let shm = Path::new("/dev/shm");
        if shm.is_dir() {
            if let Ok(dir) = tempfile::Builder::new()
                .prefix("graceful-shutdown-rie-")
                .tempdir_in(shm)
            {
                let dir = dir.keep();
                return Self {
                    path: dir.join("rie.log"),
                    dir: Some(dir),
                };
            }
        }
        Self {
            dir: None,
            path: work_dir.join("rie.log"),
        }
    }
}

impl Drop for LiveLog {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn post(port: u16, body: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the RIE");
    s.set_read_timeout(Some(Duration::from_secs(20))).ok();
    let req = format!(
        "POST /2015-03-31/functions/function/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("send");
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
}

fn wait_for_port(port: u16, limit: Duration) {
    let until = Instant::now() + limit;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < until,
            "the RIE did not listen on {port} within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The (single) child process of `pid`, from /proc.
fn child_of(pid: u32) -> u32 {
    let path = format!("/proc/{pid}/task/{pid}/children");
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(first) = text.split_whitespace().next().and_then(|p| p.parse().ok()) {
            return first;
        }
        assert!(Instant::now() < until, "unshare {pid} started no child");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Signals exactly one process, by id (never a group, never through a shell
/// command whose argument parsing could widen the target).
fn signal_exact(pid: u32, signal: Signal) {
    let pid = i32::try_from(pid).expect("pid");
    assert!(pid > 1, "refusing to signal pid {pid}");
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
}

pub fn dir_of(p: &Path) -> String {
    p.display().to_string()
}
