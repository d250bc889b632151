//! The runtime domain at shutdown: as in Lambda, the runtime is gone only
//! when every process it started is gone, not only its main process; at the
//! end of the runtime's share, every process left in the domain is SIGKILLed
//! (also one that left the runtime's process group: the environment's cgroup
//! still holds it), and the timeline names them. Real processes: a Python
//! function on the real awslambdaric whose module starts children that
//! outlive the client.

mod common;

use std::time::Duration;

use common::{built, free_port, rt, serial, Staged};
use graceful_shutdown_emulator::{
    Emulator, EventKind, RunReport, Scenario, Timeline, PLATFORM, RUNTIME,
};
use graceful_shutdown_protocol::{ENV_PORT, ENV_SECRET_FILE};

const EXTENSION: &str = "graceful-shutdown";

/// A child that takes `linger` seconds after SIGTERM to exit (or, with
/// `setsid`, leaves the runtime's process group and never sees the SIGTERM);
/// it says when it starts and when it exits, on the runtime's stderr.
fn child_code(tag: &str, linger: f64, setsid: bool) -> String {
    format!(
        r#"
import os, signal, sys, time
if {setsid}:
    os.setsid()
def on_term(signum, frame):
    print("{tag} got SIGTERM", file=sys.stderr, flush=True)
    time.sleep({linger})
    print("{tag} exiting", file=sys.stderr, flush=True)
    os._exit(0)
signal.signal(signal.SIGTERM, on_term)
print("{tag} pid %d pgid %d" % (os.getpid(), os.getpgid(0)), file=sys.stderr, flush=True)
print("ready", flush=True)
# Bounded: no process of a test outlives it for long, whatever happens.
time.sleep(120)
"#,
        setsid = if setsid { "True" } else { "False" }
    )
}

/// The function's module: starts the children at import and waits until
/// each is ready; the handler answers with nothing.
fn app(children: &[String]) -> String {
    let mut text = String::from("import subprocess, sys\nCHILDREN = []\n");
    for code in children {
        // Init ends once the child has its SIGTERM handler (it says so on its stdout).
        text.push_str(&format!(
            "CHILDREN.append(subprocess.Popen([sys.executable, '-c', {code:?}], stdout=subprocess.PIPE))\n\
             assert CHILDREN[-1].stdout.readline() == b'ready\\n'\n"
        ));
    }
    text.push_str("def handler(event, context):\n    return {'ok': True}\n");
    text
}

fn run(children: &[String], share: Duration) -> (RunReport, Staged) {
    let staged = Staged::new().extension(
        EXTENSION,
        &built(
            "graceful-shutdown",
            "cargo build -p graceful-shutdown-extension",
        ),
    );
    let fn_dir = staged.function_dir();
    std::fs::write(fn_dir.join("app.py"), app(children)).expect("write app.py");
    let mut scenario = Scenario::new(&fn_dir)
        .managed_runtime("python3.12", "app.handler")
        .layer(staged.layer_dir())
        .env(ENV_PORT, free_port().to_string())
        .env(ENV_SECRET_FILE, staged.file("secret").display().to_string());
    scenario.runtime_share = share;
    scenario.shutdown_phase = share + Duration::from_millis(2000);
    let report = rt().block_on(Emulator::run(scenario)).expect("run");
    (report, staged)
}

fn note_at(t: &Timeline, needle: &str) -> Option<(f64, String)> {
    t.of(PLATFORM).find_map(|e| match &e.kind {
        EventKind::Note { message } if message.contains(needle) => Some((e.at_ms, message.clone())),
        _ => None,
    })
}

fn at(t: &Timeline, source: &str, pred: impl Fn(&EventKind) -> bool) -> f64 {
    t.find(source, pred)
        .unwrap_or_else(|| panic!("no such event from {source}\n{}", render(t)))
        .at_ms
}

fn line_at(t: &Timeline, needle: &str) -> f64 {
    t.line_containing(needle)
        .unwrap_or_else(|| panic!("no line {needle:?}\n{}", render(t)))
        .at_ms
}

/// The pid a child printed at its start.
fn pid_of(t: &Timeline, tag: &str) -> i32 {
    let line = &t
        .line_containing(&format!("{tag} pid "))
        .unwrap_or_else(|| panic!("{tag} did not start\n{}", render(t)))
        .line;
    line.split_whitespace()
        .nth(2)
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {line:?}"))
}

fn render(t: &Timeline) -> String {
    graceful_shutdown_emulator::render(t)
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(')').map(|(_, r)| r.trim_start().to_owned()))
        .is_some_and(|r| !r.starts_with('Z') && !r.starts_with('X'))
}

#[test]
fn shutdown_waits_for_a_child_that_outlives_the_runtime() {
    let _one = serial();
    let (report, _staged) = run(
        &[child_code("lingering-child", 0.4, false)],
        Duration::from_millis(2500),
    );
    let t = &report.timeline;
    assert!(report.lifecycle_ok(), "{}", render(t));
    let child = pid_of(t, "lingering-child");

    // The client dies of the SIGTERM at once; its child takes 400 ms more.
    let runtime_exit = at(t, RUNTIME, |k| matches!(k, EventKind::Exited { .. }));
    let (waiting_at, waiting) = note_at(t, "waiting for the runtime domain's processes")
        .unwrap_or_else(|| panic!("no wait for the domain\n{}", render(t)));
    assert!(
        waiting.contains(&format!("pid {child} ")),
        "the wait names the child {child}: {waiting}"
    );
    assert!(waiting_at >= runtime_exit, "{}", render(t));
    let child_exit = line_at(t, "lingering-child exiting");
    let (gone_at, _) = note_at(t, "every process of the runtime domain is gone")
        .unwrap_or_else(|| panic!("the domain never emptied\n{}", render(t)));
    assert!(gone_at >= child_exit, "{}", render(t));
    // Only then the extension gets SHUTDOWN, and nobody was SIGKILLed.
    let shutdown_event = at(t, EXTENSION, |k| {
        matches!(k, EventKind::ShutdownEvent { .. })
    });
    assert!(shutdown_event >= gone_at, "{}", render(t));
    assert_eq!(t.signals(RUNTIME), vec!["SIGTERM"], "{}", render(t));
    assert!(
        note_at(t, "SIGKILL to the runtime domain").is_none(),
        "{}",
        render(t)
    );
    assert!(!alive(child));
}

#[test]
fn every_process_left_in_the_runtime_domain_is_killed_at_the_end_of_the_share() {
    let _one = serial();
    let share = Duration::from_millis(600);
    let (report, _staged) = run(
        &[
            child_code("stubborn-child", 120.0, false),
            child_code("detached-child", 120.0, true),
        ],
        share,
    );
    let t = &report.timeline;
    assert!(report.lifecycle_ok(), "{}", render(t));
    let stubborn = pid_of(t, "stubborn-child");
    let detached = pid_of(t, "detached-child");
    assert!(
        t.line_containing("stubborn-child got SIGTERM").is_some(),
        "{}",
        render(t)
    );
    assert!(
        t.line_containing("detached-child got SIGTERM").is_none(),
        "a child in its own session gets no SIGTERM from the process group\n{}",
        render(t)
    );

    let phase = at(t, PLATFORM, |k| {
        matches!(k, EventKind::ShutdownPhase { .. })
    });
    let (killed_at, killed) = note_at(
        t,
        "SIGKILL to the runtime domain (at the end of the runtime's share)",
    )
    .unwrap_or_else(|| panic!("nothing killed\n{}", render(t)));
    for pid in [stubborn, detached] {
        assert!(
            killed.contains(&format!("pid {pid} ")),
            "the kill names {pid}: {killed}"
        );
    }
    // At the share's end, not before; then SHUTDOWN to the extension.
    assert!(
        killed_at - phase >= share.as_millis() as f64 - 1.0,
        "killed {} ms into the phase\n{}",
        killed_at - phase,
        render(t)
    );
    assert_eq!(
        t.signals(RUNTIME),
        vec!["SIGTERM", "SIGKILL"],
        "{}",
        render(t)
    );
    let shutdown_event = at(t, EXTENSION, |k| {
        matches!(k, EventKind::ShutdownEvent { .. })
    });
    assert!(shutdown_event >= killed_at, "{}", render(t));
    // Gone by the end of the run, both of them.
    for pid in [stubborn, detached] {
        assert!(!alive(pid), "pid {pid} outlived the run\n{}", render(t));
    }
}
