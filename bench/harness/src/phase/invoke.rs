//! Per-invoke latency with the layer and without: `pairs` pairs of
//! environments, one with the layer and one without, alive side by side; each
//! pair gets `invocations` invocations each, interleaved one by one (with,
//! without, then without, with, ...), so that whatever the machine does at a
//! given moment hits both alike.

use anyhow::Context;
use graceful_shutdown_emulator::ShutdownReason;

use super::{metric, shutdown_phase_ms};
use crate::budget::Budget;
use crate::lifecycle::{self, Function};
use crate::report::Metric;
use crate::stats::Summary;
use crate::subjects::Subject;

pub async fn run(
    ours: &Subject,
    function: &Function,
    pairs: u32,
    invocations: u64,
    budget: &Budget,
) -> anyhow::Result<Vec<Metric>> {
    eprintln!(
        "bench: {pairs} pairs of {invocations} interleaved invocations with and without the layer"
    );
    let phase_ms = shutdown_phase_ms();
    let (mut with, mut without, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for p in 0..pairs {
        budget.check("per-invoke pairs")?;
        let mut layered =
            lifecycle::Env::start(function, Some(ours.layer.as_path()), &[], phase_ms)
                .await
                .context("per-invoke environment with the layer")?;
        let mut plain = lifecycle::Env::start(function, None, &[], phase_ms)
            .await
            .context("per-invoke environment without the layer")?;
        let (mut ms_with, mut ms_without) = (Vec::new(), Vec::new());
        let mut failure = None;
        for i in 0..invocations {
            // Alternate which one goes first, so that drift hits both alike.
            let layered_first = (i + u64::from(p)) % 2 == 0;
            let (a, b) = if layered_first {
                (layered.invoke(i).await, plain.invoke(i).await)
            } else {
                let b = plain.invoke(i).await;
                (layered.invoke(i).await, b)
            };
            match (a, b) {
                (Ok(a), Ok(b)) => {
                    ms_with.push(a);
                    ms_without.push(b);
                }
                (Err(e), _) | (_, Err(e)) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        layered.shutdown(ShutdownReason::Spindown).await;
        plain.shutdown(ShutdownReason::Spindown).await;
        if let Some(e) = failure {
            return Err(e.context("per-invoke run"));
        }
        let median = |v: &[f64]| Summary::of(v).map(|s| s.median).unwrap_or(f64::NAN);
        let (m_with, m_without) = (median(&ms_with), median(&ms_without));
        with.push(m_with);
        without.push(m_without);
        ratio.push(m_with / m_without);
    }
    Ok(vec![
        metric(
            "invoke_ms_with_layer",
            "per-invoke latency, layer attached",
            ours.key,
            "ms",
            &with,
        )?,
        metric(
            "invoke_ms_without_layer",
            "per-invoke latency, no layer",
            ours.key,
            "ms",
            &without,
        )?,
        metric(
            "invoke_ratio",
            "per-invoke latency ratio (with / without)",
            ours.key,
            "x",
            &ratio,
        )?,
    ])
}
