//! Start, memory and the shutdown phase: `runs` rounds, each running every
//! extension once (one invocation), in rotating order; the shutdown layer
//! runs in both its flavours, so that the handoff flavour's figures stand
//! beside the default layer's, taken in the same rounds.

use anyhow::{bail, Context};

use super::{metric, shutdown_phase_ms};
use crate::budget::Budget;
use crate::lifecycle::{self, Function};
use crate::report::Metric;
use crate::subjects::Subject;
use crate::timings;

/// Samples of one subject, one per run.
#[derive(Debug, Default, Clone)]
struct Series {
    start: Vec<f64>,
    register: Vec<f64>,
    rss_mib: Vec<f64>,
    cpu: Vec<f64>,
    waited: Vec<f64>,
    margin: Vec<f64>,
}

/// Samples of the shutdown phase of a subject that logs a verdict (the
/// shutdown layer's flavours); empty for the others.
#[derive(Debug, Default, Clone)]
struct ShutdownSeries {
    to_handler: Vec<f64>,
    to_verdict: Vec<f64>,
    report_to_verdict: Vec<f64>,
}

pub async fn run(
    subjects: &[Subject],
    function: &Function,
    runs: u32,
    budget: &Budget,
) -> anyhow::Result<Vec<Metric>> {
    eprintln!("bench: {runs} lifecycle runs per extension");
    let phase_ms = shutdown_phase_ms();
    let mut series = vec![Series::default(); subjects.len()];
    let mut shutdown = vec![ShutdownSeries::default(); subjects.len()];
    for round in 0..runs as usize {
        for k in 0..subjects.len() {
            let i = (round + k) % subjects.len();
            let s = &subjects[i];
            budget.check("lifecycle runs")?;
            let run = lifecycle::run(function, Some(&s.layer), &s.env, 1, phase_ms)
                .await
                .with_context(|| format!("{} run {}", s.key, round + 1))?;
            let probe = match run.extensions.as_slice() {
                [one] => one.clone(),
                other => bail!("{}: expected one extension, found {other:?}", s.key),
            };
            let t = timings::timings(&run.timeline, &probe.name, phase_ms as f64, s.verdict)
                .with_context(|| format!("{} run {}", s.key, round + 1))?;
            let x = &mut series[i];
            x.start.push(t.start_ms);
            x.register.push(t.register_ms);
            x.rss_mib.push(probe.peak_rss_kib as f64 / 1024.0);
            x.cpu.push(probe.cpu_ms);
            x.waited.push(probe.runqueue_wait_ms);
            x.margin.push(t.exit_margin_ms);
            if let Some(sh) = t.shutdown {
                let x = &mut shutdown[i];
                x.to_handler.push(sh.sigterm_to_handler_ms);
                x.to_verdict.push(sh.shutdown_to_verdict_ms);
                x.report_to_verdict.push(sh.last_report_to_verdict_ms);
            }
        }
    }
    metrics(subjects, &series, &shutdown)
}

/// The metrics, row by row in table order, each row over every subject.
fn metrics(
    subjects: &[Subject],
    series: &[Series],
    shutdown: &[ShutdownSeries],
) -> anyhow::Result<Vec<Metric>> {
    let mut metrics = Vec::new();
    let per_subject = |metrics: &mut Vec<Metric>,
                       id: &str,
                       label: &str,
                       unit: &str,
                       samples: fn(&Series) -> &[f64]|
     -> anyhow::Result<()> {
        for (s, x) in subjects.iter().zip(series) {
            metrics.push(metric(id, label, s.key, unit, samples(x))?);
        }
        Ok(())
    };
    per_subject(
        &mut metrics,
        "start_ms",
        "extension start → blocked in /event/next",
        "ms",
        |x| &x.start,
    )?;
    per_subject(
        &mut metrics,
        "start_to_register_ms",
        "process start → /register received",
        "ms",
        |x| &x.register,
    )?;
    per_subject(
        &mut metrics,
        "init_cpu_ms",
        "CPU time before SHUTDOWN (schedstat, all threads)",
        "ms",
        |x| &x.cpu,
    )?;
    per_subject(
        &mut metrics,
        "init_runqueue_wait_ms",
        "run-queue wait before SHUTDOWN (machine load)",
        "ms",
        |x| &x.waited,
    )?;
    // Speed-up over restmachine-aws, per round (the same round ran all of them back to back).
    let rm = subjects
        .iter()
        .position(|s| s.key == "restmachine-aws")
        .unwrap_or(2);
    for (i, s) in subjects.iter().enumerate().filter(|(i, _)| *i != rm) {
        let ratios: Vec<f64> = series[rm]
            .start
            .iter()
            .zip(&series[i].start)
            .map(|(r, o)| r / o)
            .collect();
        metrics.push(metric(
            "start_speedup_vs_restmachine",
            "start speed-up over restmachine-aws",
            s.key,
            "x",
            &ratios,
        )?);
    }
    // Start over the floor's, per round: what the machine's own start costs
    // cancels out. For the shutdown layer's flavours.
    let floor = subjects.iter().position(|s| s.key == "floor").unwrap_or(3);
    for (s, x) in subjects.iter().zip(series).filter(|(s, _)| s.verdict) {
        let ratios: Vec<f64> = x
            .start
            .iter()
            .zip(&series[floor].start)
            .map(|(o, f)| o / f)
            .collect();
        metrics.push(metric(
            "start_vs_floor",
            "start ÷ the floor's start (same round)",
            s.key,
            "x",
            &ratios,
        )?);
    }
    per_subject(
        &mut metrics,
        "peak_rss_mib",
        "peak RSS (VmHWM before SHUTDOWN)",
        "MiB",
        |x| &x.rss_mib,
    )?;

    // The shutdown phase, of the subjects that log a verdict.
    for (s, x) in subjects.iter().zip(shutdown).filter(|(s, _)| s.verdict) {
        metrics.push(metric(
            "sigterm_to_handler_ms",
            "SIGTERM → first handler running",
            s.key,
            "ms",
            &x.to_handler,
        )?);
        metrics.push(metric(
            "shutdown_to_verdict_ms",
            "SHUTDOWN → verdict logged",
            s.key,
            "ms",
            &x.to_verdict,
        )?);
        metrics.push(metric(
            "last_report_to_verdict_ms",
            "last report → verdict logged",
            s.key,
            "ms",
            &x.report_to_verdict,
        )?);
    }
    per_subject(
        &mut metrics,
        "exit_margin_ms",
        "extension exit before deadlineMs",
        "ms",
        |x| &x.margin,
    )?;
    Ok(metrics)
}
