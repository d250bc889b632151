//! Several workers (Lambda Managed Instances): the real extension binary
//! against the loopback fake of the Extensions API, with reports from two
//! real processes, each naming itself with its `worker` (its pid), their
//! reports interleaved one by one, one of them SIGKILLed halfway.
//!
//! The worker processes are this test binary itself, started again with
//! `--exact` on the same test and a role in the environment: in that role
//! the test sends the next report of its script each time it reads a line
//! on stdin, and says so on stdout, so the parent decides the exact arrival
//! order and waits for each report's answer before the next (no sleeps).

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use graceful_shutdown_protocol::fixtures::{
    all_completed, finished, hello_from_pid, sigterm, started,
};
use graceful_shutdown_protocol::wire::encode_request_from;
use graceful_shutdown_protocol::Report;
use serde_json::Value;

use support::{now_ms, status_of, Options, Run};

/// Set in a worker process: `complete` or `cut` (its script, below).
const ROLE: &str = "WORKERS_TEST_ROLE";
const PORT: &str = "WORKERS_TEST_PORT";
const SECRET: &str = "WORKERS_TEST_SECRET";
const TEST_NAME: &str = "two_worker_processes_interleaved_one_killed_get_one_verdict_line";
/// How long any awaited event may take, on a loaded machine.
const DEADLINE: Duration = Duration::from_secs(30);

/// What a worker sends, in order. `complete`: both handlers and `allDone`;
/// `cut`: stops while `close-pool` runs (and is SIGKILLed there).
fn script(role: &str) -> Vec<Report> {
    let mut reports = vec![
        hello_from_pid(std::process::id(), &["flush", "close-pool"]),
        sigterm(),
        started("flush", 0),
    ];
    if role == "complete" {
        reports.extend([
            finished("flush", 0, 10),
            started("close-pool", 1),
            finished("close-pool", 1, 3),
            all_completed(2, 13),
        ]);
    } else {
        reports.extend([finished("flush", 0, 9), started("close-pool", 1)]);
    }
    reports
}

/// Send one report as `worker` the way a library does; the answer's status.
fn send(port: u16, secret: &str, report: &Report, worker: Option<&str>) -> u16 {
    send_bytes(
        port,
        encode_request_from(port, secret, report, worker).as_bytes(),
    )
}

fn send_bytes(port: u16, bytes: &[u8]) -> u16 {
    use std::io::Read;
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the report port");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(bytes).expect("send the report");
    let _ = s.shutdown(Shutdown::Write);
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    status_of(&String::from_utf8_lossy(&answer))
}

/// The worker role: one report per line read on stdin, then wait for the
/// end of stdin (`complete`) or for the SIGKILL (`cut`).
fn run_worker(role: &str) {
    let port: u16 = std::env::var(PORT)
        .ok()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let secret = std::env::var(SECRET).expect("secret");
    let worker = std::process::id().to_string();
    let mut lines = std::io::stdin().lines();
    for (i, report) in script(role).iter().enumerate() {
        if lines.next().is_none() {
            return;
        }
        let status = send(port, &secret, report, Some(&worker));
        assert_eq!(status, 202, "report {i} of {role}");
        println!("reported {i}");
    }
    // Until the parent closes stdin, or kills this process.
    for _ in lines {}
}

/// A worker process, SIGKILLed on drop if still running.
struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Its stdout, line by line, read by a thread.
    lines: Receiver<String>,
    sent: usize,
}

impl Worker {
    fn spawn(role: &str, run: &Run) -> Worker {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", TEST_NAME, "--nocapture", "--test-threads", "1"])
            .env(ROLE, role)
            .env(PORT, run.port.to_string())
            .env(SECRET, run.secret())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn a worker process");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Worker {
            child,
            stdin,
            lines,
            sent: 0,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Have it send its next report, and wait until the extension answered it.
    fn step(&mut self) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(b"next\n").expect("write to the worker");
        stdin.flush().expect("flush");
        let want = format!("reported {}", self.sent);
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                // The harness writes `test … ` before it, on the same line.
                Ok(line) if line.trim_end().ends_with(&want) => break,
                Ok(_) => {}
                Err(e) => panic!(
                    "worker {}: no `{want}` within {DEADLINE:?}: {e}",
                    self.pid()
                ),
            }
        }
        self.sent += 1;
    }

    /// Close its stdin and wait for it to exit 0.
    fn finish(mut self) {
        drop(self.stdin.take());
        let end = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                assert!(status.success(), "worker {} failed: {status}", self.pid());
                return;
            }
            assert!(Instant::now() < end, "worker did not exit");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn two_worker_processes_interleaved_one_killed_get_one_verdict_line() {
    if let Ok(role) = std::env::var(ROLE) {
        run_worker(&role);
        return;
    }
    let mut run = Run::start(Options::default());
    run.registered();
    run.waiting_for_events();
    let mut a = Worker::spawn("complete", &run);
    let mut b = Worker::spawn("cut", &run);
    let (pid_a, pid_b) = (a.pid(), b.pid());
    // A first, then strictly alternating, then B ahead by one, then A alone.
    for who in "ABABABBABAAA".chars() {
        match who {
            'A' => a.step(),
            _ => b.step(),
        }
    }
    assert_eq!((a.sent, b.sent), (7, 5));
    // B dies while `close-pool` runs, as Lambda's SIGKILL would cut it.
    b.child.kill().expect("SIGKILL the worker");
    let status = b.child.wait().expect("reap");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    a.finish();

    run.shutdown("spindown", now_ms() + 2_000);
    let exit = run.exit(DEADLINE);
    assert!(exit.status.success(), "{}", exit.stdout);
    assert_eq!(
        exit.verdict_line(),
        format!(
            "graceful-shutdown verdict: outcome=runtime_killed reason=spindown workers=2 handlers=3/4 \
             w1={pid_a} w1_outcome=completed w1_total_ms=13 w1.flush=ok(10ms) w1.close-pool=ok(3ms) \
             w2={pid_b} w2_outcome=runtime_killed w2.flush=ok(9ms) w2.close-pool=running \
             -- 1 of 2 workers completed; w2: the runtime was gone before its shutdown handlers \
             finished: 1 of 2 completed, cut off while running close-pool"
        )
    );
}

/// Reports of `worker`: a clean run of one handler taking `ms`.
fn clean(port: u16, secret: &str, worker: Option<&str>, name: &str, ms: u64) {
    for report in [
        hello_from_pid(std::process::id(), &[name]),
        sigterm(),
        started(name, 0),
        finished(name, 0, ms),
        all_completed(1, ms),
    ] {
        assert_eq!(send(port, secret, &report, worker), 202);
    }
}

#[test]
fn one_named_worker_gets_the_single_process_line() {
    let mut run = Run::start(Options::default());
    run.registered();
    run.waiting_for_events();
    let secret = run.secret();
    clean(run.port, &secret, Some("4242"), "flush", 4);
    run.shutdown("spindown", now_ms() + 2_000);
    let exit = run.exit(DEADLINE);
    assert_eq!(
        exit.verdict_line(),
        "graceful-shutdown verdict: outcome=completed reason=spindown handlers=1/1 total_ms=4 \
         flush=ok(4ms) -- all 1 shutdown handlers completed in 4 ms"
    );
}

#[test]
fn several_workers_in_json_with_metrics_and_a_bad_worker_refused() {
    let mut run = Run::start(Options {
        env: vec![
            ("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into()),
            ("GRACEFUL_SHUTDOWN_METRICS".into(), "emf".into()),
        ],
        ..Options::default()
    });
    run.registered();
    run.waiting_for_events();
    let secret = run.secret();
    let body = r#"{"type":"shutdownStarted","signal":"SIGTERM","worker":[1]}"#;
    let bad = format!(
        "POST /v1/report HTTP/1.1\r\nContent-Type: application/json\r\n\
         x-graceful-shutdown-secret: {secret}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    assert_eq!(send_bytes(run.port, bad.as_bytes()), 400);
    clean(run.port, &secret, Some("88/1"), "flush", 2);
    // The second worker said hello and nothing more.
    assert_eq!(
        send(
            run.port,
            &secret,
            &hello_from_pid(std::process::id(), &["flush"]),
            Some("88/2")
        ),
        202
    );
    run.shutdown("spindown", now_ms() + 2_000);
    let exit = run.exit(DEADLINE);
    assert!(exit.status.success());
    // (The fake API's own check that the port is open is refused too: it sends nothing.)
    let refused = exit.lines_containing("\"report refused\"");
    let about_worker: Vec<&&str> = refused.iter().filter(|l| l.contains("worker")).collect();
    assert_eq!(about_worker.len(), 1, "{}", exit.stdout);
    assert!(
        about_worker[0].contains("\"reason\":\"report body is not a valid report: worker: expected a string, got an array\""),
        "{}",
        about_worker[0]
    );
    assert!(about_worker[0].contains("\"status\":400"));
    let verdict: Value = serde_json::from_str(exit.verdict_line()).expect("one JSON object");
    assert_eq!(verdict["message"], "graceful-shutdown verdict");
    assert_eq!(verdict["level"], "WARN");
    assert_eq!(verdict["outcome"], "runtime_killed");
    assert_eq!(
        verdict["workers"],
        serde_json::json!([
            {"label":"w1","worker":"88/1","outcome":"completed","totalMs":2,"signal":"SIGTERM"},
            {"label":"w2","worker":"88/2","outcome":"runtime_killed"}
        ])
    );
    assert_eq!(
        verdict["handlers"],
        serde_json::json!([
            {"name":"flush","status":"ok","durationMs":2,"worker":"w1"},
            {"name":"flush","status":"not_started","worker":"w2"}
        ])
    );
    let emf: Vec<Value> = exit
        .stdout
        .lines()
        .filter(|l| l.contains("\"CloudWatchMetrics\""))
        .map(|l| serde_json::from_str(l).expect("EMF line is JSON"))
        .collect();
    assert_eq!(emf.len(), 1, "{}", exit.stdout);
    assert_eq!(
        (
            emf[0]["Workers"].as_u64(),
            emf[0]["WorkersCutOff"].as_u64(),
            emf[0]["HandlersOk"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
}
