//! Lambda retires idle environments: the shutdown phase begins only once the
//! runtime waits in `/invocation/next` after its last answer (and every
//! INVOKE-subscribed extension in `/event/next`), and after `Scenario::idle`.

mod common;

use std::time::Duration;

use common::{built, free_port, rt, serial, Staged};
use graceful_shutdown_emulator::{
    render, Emulator, EventKind, Freeze, Scenario, Timeline, PLATFORM, RUNTIME,
};
use graceful_shutdown_protocol::{ENV_PORT, ENV_SECRET_FILE};

/// A hand-written runtime (Python's standard library only) that answers each
/// invocation, then waits `LATE_MS` before it calls `/invocation/next` again;
/// it prints when it does, and prints and exits on SIGTERM.
const LATE_RUNTIME: &str = r#"#!/usr/bin/env python3
import os, signal, sys, time, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
late = int(os.environ["LATE_MS"]) / 1000.0
def on_term(sig, frame):
    print("got SIGTERM", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
first = True
while True:
    if not first:
        time.sleep(late)  # the behaviour under test: a runtime slow to come back
    first = False
    print("calling next", flush=True)
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        r.read()
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=b'"ok"', method="POST")).read()
    print("answered", flush=True)
"#;

fn staged() -> Staged {
    use std::os::unix::fs::PermissionsExt;
    let staged = Staged::new().extension(
        "graceful-shutdown",
        &built(
            "graceful-shutdown",
            "cargo build -p graceful-shutdown-extension",
        ),
    );
    let bootstrap = staged.function_dir().join("bootstrap");
    std::fs::write(&bootstrap, LATE_RUNTIME).expect("write bootstrap");
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    staged
}

fn scenario(staged: &Staged, late_ms: u64) -> Scenario {
    Scenario::new(staged.function_dir())
        .layer(staged.layer_dir())
        .env("LATE_MS", late_ms.to_string())
        .env(ENV_PORT, free_port().to_string())
        .env(ENV_SECRET_FILE, staged.file("secret").display().to_string())
}

fn at(t: &Timeline, source: &str, pred: impl Fn(&EventKind) -> bool) -> f64 {
    t.find(source, pred)
        .unwrap_or_else(|| panic!("no such event from {source}:\n{}", render(t)))
        .at_ms
}

fn last_line_at(t: &Timeline, needle: &str) -> f64 {
    t.logs
        .iter()
        .filter(|l| l.source == RUNTIME && l.line == needle)
        .map(|l| l.at_ms)
        .next_back()
        .unwrap_or_else(|| panic!("no {needle:?} line:\n{}", render(t)))
}

#[test]
fn a_runtime_that_calls_next_late_gets_its_sigterm_only_after_it_did() {
    let _one = serial();
    let staged = staged();
    let late_ms = 400;
    let idle = Duration::from_millis(60);
    let s = scenario(&staged, late_ms).invocations(2).idle(idle);
    let report = rt().block_on(Emulator::run(s)).expect("run");
    let t = &report.timeline;
    let text = render(t);
    assert!(report.lifecycle_ok(), "{text}");

    let answered = t
        .of(RUNTIME)
        .filter(|e| matches!(e.kind, EventKind::Response { .. }))
        .map(|e| e.at_ms)
        .last()
        .expect("a response");
    let called_next = last_line_at(t, "calling next");
    let idle_at = t
        .of(PLATFORM)
        .filter(|e| matches!(e.kind, EventKind::Idle { .. }))
        .map(|e| e.at_ms)
        .last()
        .expect("idle");
    let phase = at(t, PLATFORM, |k| {
        matches!(k, EventKind::ShutdownPhase { .. })
    });
    let sigterm = at(
        t,
        RUNTIME,
        |k| matches!(k, EventKind::Signal { signal } if signal == "SIGTERM"),
    );

    assert!(
        called_next >= answered + late_ms as f64 - 1.0,
        "the runtime came back late: {text}"
    );
    assert!(
        idle_at >= answered + late_ms as f64 - 1.0,
        "idle only once the runtime is back in next: {text}"
    );
    assert!(
        phase >= idle_at + idle.as_millis() as f64 * 0.9,
        "then it stays idle for the idle time: {text}"
    );
    assert!(sigterm >= phase, "{text}");
    assert!(
        sigterm >= answered + late_ms as f64,
        "no SIGTERM while the runtime was still busy: {text}"
    );
    assert!(t.lines_of(RUNTIME).any(|l| l == "got SIGTERM"), "{text}");
    assert_eq!(t.exit_of(RUNTIME), Some((Some(0), None)), "{text}");
}

#[test]
fn without_invocations_the_environment_is_idle_after_init_and_frozen_until_the_sigterm() {
    let _one = serial();
    let staged = staged();
    let s = scenario(&staged, 0).idle(Duration::from_millis(30));
    let t = rt().block_on(async move {
        let mut em = Emulator::start(s).await.expect("start");
        em.init().await.expect("init");
        em.shutdown(graceful_shutdown_emulator::ShutdownReason::Spindown)
            .await;
        em.finish().await
    });
    let text = render(&t);
    let idle_at = at(&t, PLATFORM, |k| matches!(k, EventKind::Idle { .. }));
    let frozen = at(&t, PLATFORM, |k| matches!(k, EventKind::Frozen { .. }));
    let thawed = at(&t, PLATFORM, |k| matches!(k, EventKind::Thawed { .. }));
    let sigterm = at(
        &t,
        RUNTIME,
        |k| matches!(k, EventKind::Signal { signal } if signal == "SIGTERM"),
    );
    assert!(
        idle_at <= frozen && frozen <= thawed && thawed <= sigterm,
        "{text}"
    );
    assert!(t.lines_of(RUNTIME).any(|l| l == "got SIGTERM"), "{text}");
}

#[test]
fn a_runtime_that_never_comes_back_is_shut_down_after_the_function_timeout() {
    let _one = serial();
    let staged = staged();
    // The runtime never comes back within the timeout: the shutdown phase
    // still begins (Lambda does not wait forever), and the timeline says why.
    let s = scenario(&staged, 5_000).invocations(1).freeze(Freeze::Off);
    let s = Scenario {
        timeout: Duration::from_millis(500),
        ..s
    };
    let report = rt().block_on(Emulator::run(s)).expect("run");
    let t = &report.timeline;
    let text = render(t);
    assert!(report.lifecycle_ok(), "{text}");
    assert!(
        t.find(
            PLATFORM,
            |k| matches!(k, EventKind::Note { message } if message.starts_with("not idle"))
        )
        .is_some(),
        "{text}"
    );
    assert!(
        t.find(PLATFORM, |k| matches!(k, EventKind::Idle { .. }))
            .is_none(),
        "{text}"
    );
    assert_eq!(t.signals(RUNTIME), vec!["SIGTERM"], "{text}");
}
