//! The handoff: the handoff flavour of the layer and the Rust library's
//! `handoff`, with the bench's own function (`bench-handoff-function`) and a
//! loopback endpoint standing for the service it writes to. `runs` rounds,
//! each of two runs, one environment each:
//!
//! - on the handler's path: the shutdown handler hands off one small request
//!   (the endpoint answers after [`DIRECT_DELAY_MS`]) and times the call;
//!   beside it, what a user writes instead: the same request POSTed to the
//!   endpoint directly, timed whole in an invocation, and made again by the
//!   shutdown handler after its handoff, where it must end within the
//!   runtime's share of the phase or be cut off by the SIGKILL;
//! - after the runtime: the handler hands off [`DELIVERY_REQUESTS`] requests
//!   in one call (the endpoint answers after [`DELIVERY_DELAY_MS`]): SHUTDOWN
//!   to the extension → its last `handoff: delivered` line, and how many
//!   of them the verdict counts delivered.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use graceful_shutdown_emulator::ShutdownReason;

use super::{metric, shutdown_phase_ms};
use crate::budget::Budget;
use crate::endpoint::Endpoint;
use crate::flavours::HANDOFF;
use crate::lifecycle::{Env, Function};
use crate::report::Metric;
use crate::stats::Summary;
use crate::timings::{self, HandoffRun};

/// The endpoint's answer time in the run on the handler's path: a flush
/// that does not fit the runtime's 300 ms share.
pub const DIRECT_DELAY_MS: u64 = 400;
/// Requests handed off in the run after the runtime.
pub const DELIVERY_REQUESTS: usize = 8;
/// The endpoint's answer time in the run after the runtime.
pub const DELIVERY_DELAY_MS: u64 = 100;
/// The library whose `handoff` is timed (a language key of the 128 MB table).
pub const LIBRARY: &str = "rust";
/// The extension's name in the timeline.
const EXT: &str = "graceful-shutdown";

/// One run of the function with `layer`, handing off `requests` to an
/// endpoint answering after `delay_ms`; with `direct`, it also POSTs the
/// request directly, in an invocation (returned: its time, ms) and in the
/// shutdown handler after the handoff.
async fn run_once(
    function: &Function,
    layer: &Path,
    requests: usize,
    delay_ms: u64,
    direct: bool,
) -> anyhow::Result<(HandoffRun, Option<f64>, usize)> {
    // Each run sends at most the handed-off requests and one or two direct POSTs.
    let endpoint = Endpoint::start(Duration::from_millis(delay_ms), requests + 4)?;
    let mut env = vec![
        ("BENCH_HANDOFF_URL".to_owned(), endpoint.url("/write")),
        ("BENCH_HANDOFF_REQUESTS".to_owned(), requests.to_string()),
    ];
    if direct {
        env.push(("BENCH_DIRECT_IN_HANDLER".to_owned(), "1".to_owned()));
    }
    let mut e = Env::start(function, Some(layer), &env, shutdown_phase_ms()).await?;
    let payload = if direct {
        br#"{"action":"direct"}"#.as_slice()
    } else {
        br#"{"n":0}"#.as_slice()
    };
    let answer = match e.invoke_with(payload).await {
        Ok(answer) => answer,
        Err(err) => {
            e.shutdown(ShutdownReason::Failure).await;
            return Err(err);
        }
    };
    let direct_ms = if direct {
        let v: serde_json::Value = serde_json::from_slice(&answer)
            .with_context(|| format!("the direct POST's answer {answer:?}"))?;
        match (v["directUs"].as_f64(), v["status"].as_u64()) {
            (Some(us), Some(200)) => Some(us / 1000.0),
            _ => bail!("the direct POST did not get a 200: {v}"),
        }
    } else {
        None
    };
    let timeline = e.shutdown(ShutdownReason::Spindown).await;
    let run = timings::handoff_run(&timeline, EXT).with_context(|| {
        let lines: Vec<String> = timeline
            .logs
            .iter()
            .map(|l| format!("{:8.1} {}: {}", l.at_ms, l.source, l.line))
            .collect();
        lines.join("\n")
    })?;
    if run.accepted != requests {
        bail!(
            "the extension took {} of {requests} handed-off requests",
            run.accepted
        );
    }
    Ok((run, direct_ms, endpoint.received()))
}

/// Samples of the runs.
#[derive(Debug, Default)]
struct Series {
    call: Vec<f64>,
    direct: Vec<f64>,
    direct_done: usize,
    to_last_delivery: Vec<f64>,
    delivered: usize,
    runs: usize,
}

pub async fn run(
    layer: &Path,
    function: &Function,
    runs: u32,
    budget: &Budget,
    notes: &mut Vec<String>,
) -> anyhow::Result<Vec<Metric>> {
    eprintln!(
        "bench: {runs} rounds of the handoff (1 request, endpoint {DIRECT_DELAY_MS} ms; \
         {DELIVERY_REQUESTS} requests, endpoint {DELIVERY_DELAY_MS} ms)"
    );
    let mut x = Series::default();
    for round in 1..=runs {
        budget.check("handoff runs")?;
        let (r, direct, _) = run_once(function, layer, 1, DIRECT_DELAY_MS, true)
            .await
            .with_context(|| format!("handoff on the handler's path, run {round}"))?;
        x.call.push(r.call_ms);
        x.direct.extend(direct);
        x.direct_done += usize::from(r.direct_done);

        budget.check("handoff runs")?;
        let (r, _, received) =
            run_once(function, layer, DELIVERY_REQUESTS, DELIVERY_DELAY_MS, false)
                .await
                .with_context(|| format!("handoff of {DELIVERY_REQUESTS} requests, run {round}"))?;
        x.runs += 1;
        x.delivered += r.delivered;
        x.to_last_delivery.extend(r.shutdown_to_last_delivery_ms);
        if r.delivered != DELIVERY_REQUESTS || r.delivered_lines != r.delivered {
            notes.push(format!(
                "handoff run {round}: {} of {DELIVERY_REQUESTS} delivered ({} `{}` lines, {received} requests at the endpoint)",
                r.delivered,
                r.delivered_lines,
                timings::DELIVERED
            ));
        }
    }
    metrics(&x)
}

fn metrics(x: &Series) -> anyhow::Result<Vec<Metric>> {
    let runs = x.runs.max(1);
    let share = |done: usize, of: usize| Summary {
        n: runs,
        ..Summary::single(100.0 * done as f64 / of.max(1) as f64)
    };
    let mut metrics = vec![
        metric(
            "handoff_call_ms",
            "`handoff` of 1 request in a shutdown handler: call → return",
            LIBRARY,
            "ms",
            &x.call,
        )?,
        metric(
            "direct_post_ms",
            &format!(
                "instead: the same request POSTed directly, endpoint answering after {DIRECT_DELAY_MS} ms"
            ),
            LIBRARY,
            "ms",
            &x.direct,
        )?,
        Metric::new(
            "direct_post_in_handler_done_pct",
            "that direct POST in the shutdown handler: done before the runtime's end",
            LIBRARY,
            "%",
            share(x.direct_done, runs),
        )
        .judged()?,
    ];
    if !x.to_last_delivery.is_empty() {
        metrics.push(metric(
            "handoff_delivery_ms",
            &format!(
                "SHUTDOWN → last of {DELIVERY_REQUESTS} handed-off requests delivered, endpoint answering after {DELIVERY_DELAY_MS} ms"
            ),
            HANDOFF,
            "ms",
            &x.to_last_delivery,
        )?);
    }
    metrics.push(
        Metric::new(
            "handoff_delivered_pct",
            &format!("handed-off requests delivered ({DELIVERY_REQUESTS} a run)"),
            HANDOFF,
            "%",
            share(x.delivered, runs * DELIVERY_REQUESTS),
        )
        .judged()?,
    );
    Ok(metrics)
}
