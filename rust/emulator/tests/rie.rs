//! Fidelity against AWS's Runtime Interface Emulator (the open-source Lambda
//! core): the same function and extension run under both, and the order of
//! what happens must match. Needs the `aws-lambda-rie` binary (found through
//! `AWS_LAMBDA_RIE`, the version `scripts/rie-compare.sh` pins under
//! `target/rie/`, `PATH` or `$GOPATH/bin`), `unshare` and root: the RIE scans
//! `/opt/extensions`, so it runs in a private mount namespace with the staged
//! layer bind-mounted there. Built only with `--features rie`
//! (`scripts/rie-compare.sh` installs the pinned RIE and runs it;
//! `scripts/test.d/40-rie.sh` runs that in the test suite).
//! Two sets of scenarios: the shutdown layer with the function library (the
//! `probe` example), and the official `lambda_runtime` and `lambda-extension`
//! crates (`tests/fixtures/official-*`), unmodified.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;

use nix::sys::signal::Signal;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    built, free_port, official_extension, official_function, rt, serial, target_dir, Staged,
};
use graceful_shutdown_emulator::{
    Emulator, EventKind, Faults, Scenario, Timeline, PLATFORM, RUNTIME,
};
use graceful_shutdown_protocol::{ENV_PORT, ENV_SECRET_FILE};

/// The RIE version `scripts/rie-compare.sh` pins (its `VERSION=` line), so
/// that the pin is written in one place.
fn pinned_version() -> Option<&'static str> {
    include_str!("../../../scripts/rie-compare.sh")
        .lines()
        .find_map(|l| l.strip_prefix("VERSION="))
        .map(str::trim)
}

fn rie_binary() -> PathBuf {
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

/// What both emulators must agree on, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// An external extension registered: its name and events, space-separated.
    ExtensionRegistered {
        name: String,
        events: String,
    },
    SigtermToRuntime,
    KillRuntimeWithoutSigterm,
    HandlersStarted,
    /// The platform turned to the extensions (SHUTDOWN to the subscribed ones,
    /// SIGKILL to the others).
    ShutdownToExtensions,
    /// An extension not subscribed to SHUTDOWN was killed instead.
    KilledWithoutShutdown(String),
    /// An extension that got SHUTDOWN had not exited by the deadline.
    KilledAtDeadline(String),
    Verdict(String),
    /// A line the official extension fixture printed, without its ids and times.
    Fixture(String),
}

fn registered(name: &str, events: &str) -> Step {
    Step::ExtensionRegistered {
        name: name.to_owned(),
        events: events.to_owned(),
    }
}

/// Steps from the extension's and the runtime's log lines, common to both.
fn step_of_log(line: &str) -> Option<Step> {
    if line.starts_with("fixture-extension: INVOKE ") {
        // The request id and deadline differ between the two runs.
        Some(Step::Fixture("fixture-extension: INVOKE".to_owned()))
    } else if line.starts_with("fixture-extension: SHUTDOWN ") {
        let kept = line.split(" deadlineMs=").next().unwrap_or(line);
        Some(Step::Fixture(kept.to_owned()))
    } else if line.contains("graceful-shutdown: running shutdown handlers") {
        Some(Step::HandlersStarted)
    } else if let Some(v) = line.strip_prefix("graceful-shutdown verdict: ") {
        // outcome, reason and handler results; timings differ run to run.
        let head = v.split(" -- ").next().unwrap_or(v);
        let kept: Vec<&str> = head
            .split_whitespace()
            .filter(|t| !t.starts_with("total_ms="))
            .map(|t| t.split('(').next().unwrap_or(t))
            .collect();
        Some(Step::Verdict(kept.join(" ")))
    } else {
        None
    }
}

/// The RIE's own (debug) log lines for the platform's steps, as its
/// `internal/lambda/rapid/shutdown.go` and `rapi/handler/agentregister.go`
/// write them at the pinned version.
fn step_of_rie_line(line: &str) -> Option<Step> {
    if let Some(rest) = line.split("(rapid) External agent ").nth(1) {
        // `External agent NAME (ID) registered, subscribed to [INVOKE SHUTDOWN]`
        let name = rest.split(" (").next()?;
        let events = rest
            .split(" registered, subscribed to [")
            .nth(1)?
            .strip_suffix(']')?;
        Some(registered(name, events))
    } else if let Some(rest) = line.split("(rapid) Agent ").nth(1) {
        // `Agent NAME (ID) is not registered for the shutdown event, so just killing it.`
        rest.contains("is not registered for the shutdown event, so just killing it")
            .then(|| {
                Step::KilledWithoutShutdown(rest.split(" (").next().unwrap_or(rest).to_owned())
            })
    } else if let Some(rest) = line.split("(rapid) Deadline: the agent extension-").nth(1) {
        // `Deadline: the agent extension-NAME-GENERATION did not exit after deadline ...`
        let process = rest.split(" did not exit").next()?;
        let name = process.rsplit_once('-').map_or(process, |(n, _)| n);
        Some(Step::KilledAtDeadline(name.to_owned()))
    } else if line.contains("(rapid) Shutting down the runtime.") {
        Some(Step::SigtermToRuntime)
    } else if line.contains("(rapid) SIGKILLing the runtime as no agents are registered.") {
        Some(Step::KillRuntimeWithoutSigterm)
    } else if line.contains("(rapid) Shutting down the agents.") {
        Some(Step::ShutdownToExtensions)
    } else {
        step_of_log(line)
    }
}

/// The same steps from our timeline: events and log lines merged in time order.
fn steps_of_timeline(t: &Timeline) -> Vec<Step> {
    let mut rows: Vec<(f64, u8, Option<Step>)> = Vec::new();
    let mut in_phase = false;
    let mut turned_to_extensions = false;
    let mut got_shutdown: Vec<&str> = Vec::new();
    for e in &t.events {
        // The first SHUTDOWN or SIGKILL to an extension in the shutdown phase
        // is where the RIE logs "Shutting down the agents.".
        let to_extension = in_phase
            && e.source != RUNTIME
            && e.source != PLATFORM
            && matches!(
                &e.kind,
                EventKind::ShutdownEvent { .. } | EventKind::Signal { .. }
            );
        if to_extension && !turned_to_extensions {
            turned_to_extensions = true;
            rows.push((e.at_ms, 0, Some(Step::ShutdownToExtensions)));
        }
        let step = match &e.kind {
            EventKind::ShutdownPhase { .. } => {
                in_phase = true;
                None
            }
            EventKind::Registered {
                events,
                internal: false,
            } => Some(registered(&e.source, &events.join(" "))),
            EventKind::Signal { signal } if e.source == RUNTIME && signal == "SIGTERM" => {
                Some(Step::SigtermToRuntime)
            }
            EventKind::Note { message } if message.starts_with("no extension registered") => {
                Some(Step::KillRuntimeWithoutSigterm)
            }
            EventKind::ShutdownEvent { .. } if to_extension => {
                got_shutdown.push(&e.source);
                None
            }
            EventKind::Signal { signal } if to_extension && signal == "SIGKILL" => {
                Some(if got_shutdown.contains(&e.source.as_str()) {
                    Step::KilledAtDeadline(e.source.clone())
                } else {
                    Step::KilledWithoutShutdown(e.source.clone())
                })
            }
            _ => None,
        };
        rows.push((e.at_ms, 0, step));
    }
    for l in &t.logs {
        rows.push((l.at_ms, 1, step_of_log(&l.line)));
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    rows.into_iter().filter_map(|r| r.2).collect()
}

/// How the environment ends under the RIE.
#[derive(Debug, Clone, Copy)]
enum Ending {
    /// The invocation outlives the function timeout: the RIE resets with reason `Timeout`.
    InvokeTimeout,
    /// SIGTERM to the RIE: it resets with reason `SandboxTerminated`.
    Terminate,
}

struct Setup {
    staged: Staged,
    env: Vec<(String, String)>,
    with_layer: bool,
}

fn setup(with_layer: bool) -> Setup {
    let mut staged = Staged::new().bootstrap(&built(
        "examples/probe",
        "cargo build -p graceful-shutdown --examples",
    ));
    if with_layer {
        staged = staged.extension(
            "graceful-shutdown",
            &built(
                "graceful-shutdown",
                "cargo build -p graceful-shutdown-extension",
            ),
        );
    }
    let env = vec![
        (
            "PROBE_HANDLERS".to_owned(),
            "flush:ok,close-pool:ok".to_owned(),
        ),
        (ENV_PORT.to_owned(), free_port().to_string()),
        (
            ENV_SECRET_FILE.to_owned(),
            staged.file("secret").display().to_string(),
        ),
    ];
    Setup {
        staged,
        env,
        with_layer,
    }
}

const FIXTURE: &str = "official-extension-fixture";

/// The official crates' fixtures: the function as `bootstrap`, the extension
/// in the layer, configured by `FIXTURE_*` variables (see the fixture).
fn setup_official(env: &[(&str, &str)]) -> Setup {
    let staged = Staged::new()
        .bootstrap(&official_function())
        .extension(FIXTURE, &official_extension());
    Setup {
        staged,
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        with_layer: true,
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

/// Runs the RIE in a private mount namespace with the layer at /opt/extensions.
fn run_rie(s: &Setup, ending: Ending, payload: &str) -> Vec<String> {
    let rie = rie_binary();
    let port = free_port();
    let api_port = free_port();
    let script = s.staged.file("rie.sh");
    let mount_layer = if s.with_layer {
        format!(
            "mount --bind '{}' /opt/extensions\n",
            s.staged.layer_dir().join("extensions").display()
        )
    } else {
        String::new()
    };
    std::fs::write(
        &script,
        format!(
            "set -e\nmount -t tmpfs tmpfs /opt\nmkdir -p /opt/extensions\n{mount_layer}exec '{}' --log-level debug \
             --runtime-interface-emulator-address 127.0.0.1:{port} --runtime-api-address 127.0.0.1:{api_port} '{}'\n",
            rie.display(),
            s.staged.function_dir().join("bootstrap").display()
        ),
    )
    .expect("script");
    let log_path = s.staged.file("rie.log");
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
    .env("AWS_LAMBDA_FUNCTION_TIMEOUT", "1")
    .envs(s.env.iter().map(|(k, v)| (k, v)))
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
    let answer = post(port, payload);
    assert!(answer.starts_with("HTTP/1.1 200"), "RIE answered: {answer}");
    match ending {
        Ending::InvokeTimeout => assert!(answer.contains("Task timed out"), "{answer}"),
        Ending::Terminate => {
            std::thread::sleep(Duration::from_millis(200));
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
    std::fs::read_to_string(&log_path)
        .expect("read log")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn run_ours(s: &Setup, faults: Faults, payload: &str, timeout: Duration) -> Timeline {
    let mut scenario = Scenario::new(s.staged.function_dir()).event(payload.as_bytes().to_vec());
    if s.with_layer {
        scenario = scenario.layer(s.staged.layer_dir());
    }
    scenario.env = s.env.clone();
    scenario.timeout = timeout;
    scenario.faults = faults;
    rt().block_on(Emulator::run(scenario))
        .expect("run")
        .timeline
}

fn compare(rie_lines: &[String], ours: &Timeline) -> Vec<Step> {
    let theirs: Vec<Step> = rie_lines
        .iter()
        .filter_map(|l| step_of_rie_line(l))
        .collect();
    let mine = steps_of_timeline(ours);
    assert_eq!(
        mine,
        theirs,
        "the order differs.\n--- RIE log:\n{}\n--- our timeline:\n{}",
        rie_lines.join("\n"),
        graceful_shutdown_emulator::render(ours)
    );
    mine
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

fn dir_of(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn an_invoke_timeout_shuts_down_in_the_same_order_as_the_rie() {
    let _g = serial();
    let s = setup(true);
    let payload = r#"{"action":"sleep","ms":3000}"#;
    let rie = run_rie(&s, Ending::InvokeTimeout, payload);
    // The RIE sends its reset reason as is (`Timeout`); so do we, through the fault knob.
    let faults = Faults {
        shutdown_reason: Some("Timeout".to_owned()),
        ..Faults::default()
    };
    let ours = run_ours(&s, faults, payload, Duration::from_millis(1000));
    let steps = compare(&rie, &ours);
    assert_eq!(
        steps,
        vec![
            registered("graceful-shutdown", "SHUTDOWN"),
            Step::SigtermToRuntime,
            Step::HandlersStarted,
            Step::ShutdownToExtensions,
            Step::Verdict(
                "outcome=completed reason=timeout handlers=2/2 flush=ok close-pool=ok".to_owned()
            ),
        ],
        "in {}",
        dir_of(s.staged.path())
    );
}

#[test]
fn a_terminated_sandbox_shuts_down_in_the_same_order_as_the_rie() {
    let _g = serial();
    let s = setup(true);
    let rie = run_rie(&s, Ending::Terminate, "{}");
    let faults = Faults {
        shutdown_reason: Some("SandboxTerminated".to_owned()),
        ..Faults::default()
    };
    let ours = run_ours(&s, faults, "{}", Duration::from_secs(3));
    let steps = compare(&rie, &ours);
    assert_eq!(
        steps.first(),
        Some(&registered("graceful-shutdown", "SHUTDOWN"))
    );
    // An undocumented reason is kept as sent.
    assert_eq!(
        steps.last(),
        Some(&Step::Verdict(
            "outcome=completed reason=SandboxTerminated handlers=2/2 flush=ok close-pool=ok"
                .to_owned()
        ))
    );
}

#[test]
fn without_an_extension_both_kill_the_runtime_without_sigterm() {
    let _g = serial();
    let s = setup(false);
    let rie = run_rie(&s, Ending::Terminate, "{}");
    let ours = run_ours(&s, Faults::default(), "{}", Duration::from_secs(3));
    let steps = compare(&rie, &ours);
    assert_eq!(
        steps,
        vec![Step::KillRuntimeWithoutSigterm],
        "no handler ran under either"
    );
}

#[test]
fn the_official_crates_shut_down_in_the_same_order_as_the_rie() {
    let _g = serial();
    let s = setup_official(&[
        ("FIXTURE_EVENTS", "INVOKE,SHUTDOWN"),
        ("FIXTURE_EXIT_ON_SHUTDOWN", "1"),
    ]);
    let payload = r#"{"hello":"world"}"#;
    let rie = run_rie(&s, Ending::Terminate, payload);
    let faults = Faults {
        shutdown_reason: Some("SandboxTerminated".to_owned()),
        ..Faults::default()
    };
    let ours = run_ours(&s, faults, payload, Duration::from_secs(3));
    let steps = compare(&rie, &ours);
    assert_eq!(
        steps,
        vec![
            registered(FIXTURE, "INVOKE SHUTDOWN"),
            Step::Fixture("fixture-extension: INVOKE".to_owned()),
            Step::SigtermToRuntime,
            Step::ShutdownToExtensions,
            Step::Fixture("fixture-extension: SHUTDOWN reason=SandboxTerminated".to_owned()),
        ],
        "in {}",
        dir_of(s.staged.path())
    );
    // Neither gives the extension the runtime-only variables.
    let clean = "fixture-extension: runtime-only variables seen: []";
    assert!(rie.iter().any(|l| l == clean), "{}", rie.join("\n"));
    assert!(ours.lines_of(FIXTURE).any(|l| l == clean));
    assert_eq!(ours.exit_of(FIXTURE), Some((Some(0), None)));
}

#[test]
fn an_official_extension_that_stays_after_shutdown_is_killed_at_the_deadline_by_both() {
    let _g = serial();
    // SHUTDOWN only; after SHUTDOWN the official crate calls /event/next again
    // and blocks there, so the deadline's SIGKILL ends it.
    let s = setup_official(&[("FIXTURE_EVENTS", "SHUTDOWN")]);
    let payload = r#"{"sleepMs":3000}"#;
    let rie = run_rie(&s, Ending::InvokeTimeout, payload);
    let faults = Faults {
        shutdown_reason: Some("Timeout".to_owned()),
        ..Faults::default()
    };
    let ours = run_ours(&s, faults, payload, Duration::from_millis(1000));
    let steps = compare(&rie, &ours);
    assert_eq!(
        steps,
        vec![
            registered(FIXTURE, "SHUTDOWN"),
            Step::SigtermToRuntime,
            Step::ShutdownToExtensions,
            Step::Fixture("fixture-extension: SHUTDOWN reason=Timeout".to_owned()),
            Step::KilledAtDeadline(FIXTURE.to_owned()),
        ],
        "in {}",
        dir_of(s.staged.path())
    );
}

#[test]
fn an_extension_subscribed_to_invoke_only_is_killed_without_shutdown_by_both() {
    let _g = serial();
    let s = setup_official(&[("FIXTURE_EVENTS", "INVOKE")]);
    let rie = run_rie(&s, Ending::Terminate, "{}");
    let faults = Faults {
        shutdown_reason: Some("SandboxTerminated".to_owned()),
        ..Faults::default()
    };
    let ours = run_ours(&s, faults, "{}", Duration::from_secs(3));
    let steps = compare(&rie, &ours);
    assert_eq!(
        steps,
        vec![
            registered(FIXTURE, "INVOKE"),
            Step::Fixture("fixture-extension: INVOKE".to_owned()),
            Step::SigtermToRuntime,
            Step::ShutdownToExtensions,
            Step::KilledWithoutShutdown(FIXTURE.to_owned()),
        ],
        "in {}",
        dir_of(s.staged.path())
    );
}
