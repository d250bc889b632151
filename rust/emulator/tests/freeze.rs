//! Lambda freezes an idle environment: a function's background timer does
//! not tick while it is frozen, and ticks again once it is thawed. Here with
//! a Python function on its real client (awslambdaric) whose thread counts
//! ticks every 50 ms; the handler returns the count, so the assertion is
//! made through the function's own output. And the per-environment cgroups
//! never outlive the run.

mod common;

use std::time::Duration;

use common::{built, free_port, rt, serial, Staged};
use graceful_shutdown_emulator::cgroup::{own_groups, CGROUP_ROOT};
use graceful_shutdown_emulator::{
    render, Emulator, EventKind, Freeze, InvokeOutcome, Scenario, ShutdownReason, Timeline,
    PLATFORM,
};
use graceful_shutdown_protocol::{ENV_PORT, ENV_SECRET_FILE};
use serde_json::Value;

const TICKING: &str = r#"
import threading, time
ticks = 0
def tick():
    global ticks
    while True:
        time.sleep(0.05)
        ticks += 1
threading.Thread(target=tick, daemon=True).start()
def handler(event, context):
    start = ticks
    time.sleep(event.get("sleep", 0))
    return {"start": start, "end": ticks}
"#;

/// How long the environment stays idle between the two invocations.
const IDLE: Duration = Duration::from_millis(1000);

fn staged() -> Staged {
    let staged = Staged::new().extension(
        "graceful-shutdown",
        &built(
            "graceful-shutdown",
            "cargo build -p graceful-shutdown-extension",
        ),
    );
    std::fs::write(staged.function_dir().join("app.py"), TICKING).expect("write app.py");
    staged
}

fn json(o: InvokeOutcome) -> Value {
    match o {
        InvokeOutcome::Response(b) => serde_json::from_slice(&b).expect("JSON"),
        other => panic!("not a response: {other:?}"),
    }
}

/// Two invocations with the environment idle for `IDLE` between them;
/// returns both answers and the timeline.
fn idle_between_invocations(freeze: Freeze) -> (Value, Value, Timeline) {
    let staged = staged();
    let s = Scenario::new(staged.function_dir())
        .managed_runtime("python3.12", "app.handler")
        .layer(staged.layer_dir())
        .env(ENV_PORT, free_port().to_string())
        .env(ENV_SECRET_FILE, staged.file("secret").display().to_string())
        .freeze(freeze);
    rt().block_on(async move {
        let mut em = Emulator::start(s).await.expect("start");
        em.init().await.expect("init");
        let first = json(em.invoke(br#"{"sleep":0}"#.to_vec()).await);
        // The scenario under test: nothing happens for a second.
        tokio::time::sleep(IDLE).await;
        let second = json(em.invoke(br#"{"sleep":0.5}"#.to_vec()).await);
        em.shutdown(ShutdownReason::Spindown).await;
        (first, second, em.finish().await)
    })
}

fn ticks(v: &Value, field: &str) -> i64 {
    v[field]
        .as_i64()
        .unwrap_or_else(|| panic!("no {field} in {v}"))
}

fn freezer_writable() -> bool {
    let probe = std::path::Path::new(CGROUP_ROOT).join("freezer/lambda-emulator-probe");
    let ok = std::fs::create_dir(&probe).is_ok();
    let _ = std::fs::remove_dir(&probe);
    ok
}

fn frozen_methods(t: &Timeline) -> Vec<String> {
    t.of(PLATFORM)
        .filter_map(|e| match &e.kind {
            EventKind::Frozen { method } => Some(method.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_background_timer_does_not_tick_while_frozen_and_does_after_thaw() {
    let _one = serial();
    for (freeze, method) in [
        (
            Freeze::Auto,
            if freezer_writable() {
                "cgroup freezer"
            } else {
                "SIGSTOP to the process groups"
            },
        ),
        (Freeze::Signals, "SIGSTOP to the process groups"),
    ] {
        let (first, second, t) = idle_between_invocations(freeze);
        let text = render(&t);
        let while_idle = ticks(&second, "start") - ticks(&first, "end");
        assert!(
            while_idle <= 2,
            "{freeze:?}: {while_idle} ticks while frozen for {} ms ({first} then {second}):\n{text}",
            IDLE.as_millis()
        );
        let after_thaw = ticks(&second, "end") - ticks(&second, "start");
        assert!(
            after_thaw >= 5,
            "{freeze:?}: the timer ticks again once thawed ({second}):\n{text}"
        );
        let methods = frozen_methods(&t);
        assert!(
            !methods.is_empty() && methods.iter().all(|m| m == method),
            "{methods:?}\n{text}"
        );
        assert!(
            own_groups().is_empty(),
            "cgroups left behind: {:?}",
            own_groups()
        );
    }
}

#[test]
fn without_freezing_the_timer_ticks_while_idle() {
    let _one = serial();
    let (first, second, t) = idle_between_invocations(Freeze::Off);
    let text = render(&t);
    let while_idle = ticks(&second, "start") - ticks(&first, "end");
    assert!(
        while_idle >= 10,
        "{while_idle} ticks in {} ms idle, unfrozen:\n{text}",
        IDLE.as_millis()
    );
    assert!(frozen_methods(&t).is_empty(), "{text}");
}

#[test]
fn cgroups_are_removed_when_a_run_is_dropped_half_way() {
    let _one = serial();
    if !freezer_writable() {
        eprintln!("the cgroup freezer is not writable here: nothing to leave behind");
        return;
    }
    let staged = staged();
    let s = Scenario::new(staged.function_dir())
        .managed_runtime("python3.12", "app.handler")
        .layer(staged.layer_dir())
        .env(ENV_PORT, free_port().to_string())
        .env(ENV_SECRET_FILE, staged.file("secret").display().to_string())
        .memory(512);
    rt().block_on(async move {
        let mut em = Emulator::start(s).await.expect("start");
        em.init().await.expect("init");
        assert!(matches!(
            em.invoke(b"{}".to_vec()).await,
            InvokeOutcome::Response(_)
        ));
        assert_eq!(
            own_groups().len(),
            2,
            "a freezer and a cpu group while it runs"
        );
        drop(em); // frozen, never shut down or finished
    });
    assert!(
        own_groups().is_empty(),
        "cgroups left behind: {:?}",
        own_groups()
    );
}
