//! The lifecycle emulator backend: one case, run through the emulator
//! library step by step (init, the case's invocations, the shutdown phase),
//! with the real shutdown layer, a leased port and a fresh secret file.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use graceful_shutdown_emulator::{
    Emulator, InvokeOutcome, Scenario, ShutdownReason, Timeline, RUNTIME,
};
use graceful_shutdown_protocol::{ENV_PORT, ENV_SECRET_FILE, EXTENSION_NAME, VERDICT_MARKER};
use graceful_shutdown_testkit::PortLease;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::cases::Case;
use crate::check::{Observed, SentSignal};
use crate::probe::Probe;
use crate::Settings;

/// How long the driver waits for something it needs to see (a handler's
/// first line, a signal delivered): generous, for a loaded machine.
const WAIT: Duration = Duration::from_secs(30);

/// Signals the driver sends the runtime itself, each once `PROBE_OUTPUT`
/// shows the line it waits for.
#[derive(Debug, Clone)]
struct SignalPlan {
    signal: Signal,
    count: u32,
    /// The line (or, when `prefix`, the start of a line) to wait for.
    after: String,
    prefix: bool,
}

fn plan(case: &Case, settings: &Settings) -> Option<SignalPlan> {
    if case.extra_sigterms > 0 {
        // Once the first handler has started, so that they reach a runtime
        // busy with its handlers (the emulator's command line has no such fault).
        return Some(SignalPlan {
            signal: Signal::SIGTERM,
            count: case.extra_sigterms,
            after: "start ".to_owned(),
            prefix: true,
        });
    }
    settings.kill_runtime_after.as_ref().map(|line| SignalPlan {
        signal: Signal::SIGKILL,
        count: 1,
        after: line.clone(),
        prefix: false,
    })
}

/// The scenario of `case`: the probe, the layer, the case's settings and
/// environment (the driver's settings, then the probe's variables, then the case's own).
pub fn scenario(
    case: &Case,
    settings: &Settings,
    scratch: &Path,
    port: u16,
) -> anyhow::Result<Scenario> {
    let mut s = Scenario::new(settings.probe.function_dir(scratch)?);
    if let Probe::Managed {
        runtime, handler, ..
    } = &settings.probe
    {
        s = s.managed_runtime(runtime, handler);
    }
    if case.layer {
        s = s.layer(&settings.layer);
    }
    for e in &case.events {
        s = s.event(e.as_bytes().to_vec());
    }
    s = s.invocations(case.invocations);
    s.timeout = Duration::from_millis(case.timeout_ms);
    s.runtime_share = Duration::from_millis(case.runtime_share_ms);
    s.shutdown_phase = Duration::from_millis(case.shutdown_ms);
    // The case's memory size over the command line's; the longer init limit
    // of the two (a limit is a margin for a slow machine, not what a case checks).
    if let Some(mb) = case.memory_mb.or(settings.memory_mb) {
        s = s.memory(mb);
    }
    if let Some(ms) = case.init_timeout_ms.max(settings.init_timeout_ms) {
        s.init_cap = Duration::from_millis(ms);
    }
    for (k, v) in &settings.env {
        s = s.env(k, v);
    }
    for (k, v) in probe_env(case, scratch, port) {
        s = s.env(k, v);
    }
    for (k, v) in &case.env.0 {
        s = s.env(k, v);
    }
    Ok(s)
}

/// The probe's own variables: its handlers and output file, and the
/// layer's port and secret file, fresh for this case.
pub fn probe_env(case: &Case, scratch: &Path, port: u16) -> Vec<(String, String)> {
    vec![
        ("PROBE_HANDLERS".to_owned(), case.handlers.clone()),
        (
            "PROBE_OUTPUT".to_owned(),
            scratch.join("probe-output.txt").display().to_string(),
        ),
        (ENV_PORT.to_owned(), port.to_string()),
        (
            ENV_SECRET_FILE.to_owned(),
            scratch.join("secret").display().to_string(),
        ),
    ]
}

/// The lines of a `PROBE_OUTPUT` file (none when it was never written).
pub fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Runs `case` in the emulator; returns what it showed.
pub fn run(case: &Case, settings: &Settings, scratch: &Path) -> anyhow::Result<Observed> {
    // Held until the run is over: no other test is handed this port meanwhile.
    let lease = PortLease::take();
    let scenario = scenario(case, settings, scratch, lease.port())?;
    let output = scratch.join("probe-output.txt");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let plan = plan(case, settings);
    let (lifecycle_ok, timeline, sent) = rt.block_on(async {
        let mut em = Emulator::start(scenario.clone()).await?;
        let init = em.init().await;
        let mut answered = init.is_ok();
        let mut reason = ShutdownReason::Spindown;
        if init.is_ok() {
            for i in 0..scenario.invocation_count() {
                let outcome = em.invoke(scenario.payload(i)).await;
                let stop = match outcome {
                    InvokeOutcome::Timeout => Some(ShutdownReason::Timeout),
                    InvokeOutcome::RuntimeExited => Some(ShutdownReason::Failure),
                    _ => None,
                };
                if stop.is_some() {
                    answered = false;
                }
                if let Some(r) = stop {
                    reason = r;
                    break;
                }
            }
        } else {
            reason = ShutdownReason::Failure;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let signaller = match (&plan, em.runtime_pid()) {
            (Some(plan), Some(pid)) => {
                let (plan, output, start, stop) = (
                    plan.clone(),
                    output.clone(),
                    em.recorder().start(),
                    stop.clone(),
                );
                Some(std::thread::spawn(move || {
                    send_signals(&plan, pid, &output, start, &stop)
                }))
            }
            (Some(_), None) => {
                return Err(anyhow::anyhow!(
                    "the runtime was gone before the shutdown phase: no signal could be sent"
                ))
            }
            _ => None,
        };
        em.shutdown(reason).await;
        let timeline = em.finish().await;
        stop.store(true, Ordering::Relaxed);
        let sent = match signaller {
            Some(h) => h
                .join()
                .map_err(|_| anyhow::anyhow!("the signalling thread panicked"))?,
            None => Ok(Vec::new()),
        };
        anyhow::Ok((answered, timeline, sent))
    })?;
    drop(lease);
    let mut seen = observed(&timeline, read_lines(&output));
    seen.lifecycle_ok = Some(lifecycle_ok);
    match sent {
        Ok(sent) => seen.sent = sent,
        Err(why) => seen.problems.push(why),
    }
    Ok(seen)
}

/// What the timeline shows, for the checks.
pub fn observed(t: &Timeline, output: Vec<String>) -> Observed {
    Observed {
        lifecycle_ok: None,
        runtime_lines: t.lines_of(RUNTIME).map(str::to_owned).collect(),
        verdict_line: t
            .lines_of(EXTENSION_NAME)
            .find(|l| l.contains(VERDICT_MARKER))
            .map(str::to_owned),
        timeline: Some(t.clone()),
        output,
        sent: Vec::new(),
        log: Vec::new(),
        problems: Vec::new(),
    }
}

fn ms_since(start: Instant) -> f64 {
    (start.elapsed().as_micros() as f64 / 100.0).round() / 10.0
}

/// Waits (bounded) for the plan's line in `output`, then sends its signals
/// to `pid`, each SIGTERM only once the previous one was delivered (no
/// longer pending), so that none merge.
fn send_signals(
    plan: &SignalPlan,
    pid: u32,
    output: &Path,
    start: Instant,
    stop: &AtomicBool,
) -> Result<Vec<SentSignal>, String> {
    let deadline = Instant::now() + WAIT;
    let seen = |lines: &[String]| {
        lines.iter().any(|l| {
            if plan.prefix {
                l.starts_with(&plan.after)
            } else {
                *l == plan.after
            }
        })
    };
    while !seen(&read_lines(output)) {
        if stop.load(Ordering::Relaxed) {
            return Err(format!(
                "the run ended before the probe wrote {:?}: {} not sent",
                plan.after, plan.signal
            ));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the probe never wrote {:?} within {WAIT:?}",
                plan.after
            ));
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    let target = Pid::from_raw(i32::try_from(pid).map_err(|e| e.to_string())?);
    let mut sent = Vec::new();
    for n in 0..plan.count {
        kill(target, plan.signal).map_err(|e| {
            format!(
                "the runtime was gone before {} number {} ({e})",
                plan.signal,
                n + 1
            )
        })?;
        sent.push(SentSignal {
            at_ms: ms_since(start),
            signal: plan.signal.as_str().to_owned(),
        });
        while plan.signal == Signal::SIGTERM && pending(pid, plan.signal) {
            if Instant::now() > deadline {
                return Err(format!("{} stayed pending", plan.signal));
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    Ok(sent)
}

/// Whether `signal` is pending for the process (or its thread group).
fn pending(pid: u32, signal: Signal) -> bool {
    let bit = 1u64 << (signal as i32 - 1);
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map(|status| {
            status.lines().any(|l| {
                ["SigPnd:", "ShdPnd:"].iter().any(|p| {
                    l.strip_prefix(p)
                        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
                        .is_some_and(|mask| mask & bit != 0)
                })
            })
        })
        .unwrap_or(false)
}
