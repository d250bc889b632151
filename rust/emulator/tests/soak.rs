//! Bounded soak: 10,000 invocations through the emulator with the real shutdown
//! layer attached, then the shutdown phase. The extension's and the emulator's
//! resident memory must stay flat, and the verdict must still be right.

mod common;

use std::time::{Duration, Instant};

use common::{built, free_port, rt, Staged};
use graceful_shutdown_emulator::{
    render, Emulator, EventKind, InvokeOutcome, Scenario, ShutdownReason, RUNTIME,
};
use graceful_shutdown_protocol::{ENV_PORT, ENV_SECRET_FILE};

const INVOCATIONS: u64 = 10_000;
const SAMPLE_EVERY: u64 = 1_000;
/// The whole loop must finish within this, or the test fails (never hangs).
const TIME_BOUND: Duration = Duration::from_secs(90);
/// Growth allowed between the warm sample (after the first 2,000) and the end.
const EXTENSION_GROWTH_KIB: u64 = 256;
const EMULATOR_GROWTH_KIB: u64 = 512;

/// Resident set size of a process, in KiB, from /proc.
fn rss_kib(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS for process {pid}"))
}

#[test]
fn ten_thousand_invocations_then_shutdown_with_flat_memory() {
    let staged = Staged::new()
        .bootstrap(&built(
            "examples/probe",
            "cargo build -p lambda-graceful-shutdown --examples",
        ))
        .extension(
            "graceful-shutdown",
            &built(
                "graceful-shutdown",
                "cargo build -p graceful-shutdown-extension",
            ),
        );
    let scenario = Scenario::new(staged.function_dir())
        .layer(staged.layer_dir())
        .env("PROBE_HANDLERS", "flush:ok")
        .env(ENV_PORT, free_port().to_string())
        .env(ENV_SECRET_FILE, staged.file("secret").display().to_string());

    let (timeline, samples, elapsed) = rt().block_on(async move {
        let mut em = Emulator::start(scenario).await.expect("start");
        em.init().await.expect("init");
        let ext_pid = em.extension_pids()[0].1.to_string();
        // Per-invocation events would make the timeline itself grow: leave them out.
        em.recorder().set_quiet_invocations(true);
        let started = Instant::now();
        let mut samples: Vec<(u64, u64, u64)> = Vec::new();
        for i in 1..=INVOCATIONS {
            assert!(
                started.elapsed() < TIME_BOUND,
                "soak exceeded {TIME_BOUND:?} after {i} invocations"
            );
            let payload = format!(r#"{{"n":{i}}}"#).into_bytes();
            match em.invoke(payload).await {
                InvokeOutcome::Response(_) => {}
                other => panic!("invocation {i}: {other:?}"),
            }
            if i % SAMPLE_EVERY == 0 {
                samples.push((i, rss_kib(&ext_pid), rss_kib("self")));
            }
        }
        let elapsed = started.elapsed();
        em.shutdown(ShutdownReason::Spindown).await;
        (em.finish().await, samples, elapsed)
    });
    let text = render(&timeline);
    eprintln!("soak: {INVOCATIONS} invocations in {elapsed:?}");
    for (i, ext, emu) in &samples {
        eprintln!("soak: after {i:>6}: extension RSS {ext} KiB, emulator RSS {emu} KiB");
    }
    assert_eq!(samples.len() as u64, INVOCATIONS / SAMPLE_EVERY);
    let warm = samples[1];
    let last = samples[samples.len() - 1];
    assert!(
        last.1 <= warm.1 + EXTENSION_GROWTH_KIB,
        "extension RSS grew from {} to {} KiB over {} invocations",
        warm.1,
        last.1,
        last.0 - warm.0
    );
    assert!(
        last.2 <= warm.2 + EMULATOR_GROWTH_KIB,
        "emulator RSS grew from {} to {} KiB over {} invocations",
        warm.2,
        last.2,
        last.0 - warm.0
    );
    // The shutdown after the soak is still Lambda's, and the verdict still right.
    assert_eq!(timeline.signals(RUNTIME), vec!["SIGTERM"], "{text}");
    assert!(
        timeline
            .find("graceful-shutdown", |k| matches!(
                k,
                EventKind::ShutdownEvent { .. }
            ))
            .is_some(),
        "{text}"
    );
    let verdict = timeline
        .verdict_line()
        .unwrap_or_else(|| panic!("no verdict:\n{text}"));
    assert!(
        verdict.contains("outcome=completed reason=spindown handlers=1/1"),
        "{verdict}"
    );
    assert!(
        timeline.events.len() < 100,
        "quiet invocations keep the timeline flat: {} events",
        timeline.events.len()
    );
}
