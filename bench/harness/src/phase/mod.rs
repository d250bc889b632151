//! The measurement phases, in the order they run: sizes, lifecycle runs
//! (start, memory, the shutdown phase), per-invoke pairs, the handoff (its
//! cost on the handler's path, its delivery after the runtime), small
//! functions (every library at 128 MB), tooling (synth, cold build). Each returns its metrics, judged against [`crate::targets`].

pub mod handoff;
pub mod invoke;
pub mod lifecycle;
pub mod sizes;
pub mod small;
pub mod tooling;

use crate::report::Metric;
use crate::stats::Summary;

/// The shutdown phase the emulator gives: Lambda's, from spec/limits.json
/// (`shutdown.phaseMs`, 2,000 ms).
pub fn shutdown_phase_ms() -> u64 {
    graceful_shutdown_protocol::limits().shutdown.phase_ms
}

/// The median and spread of `samples`, or an error showing them.
fn summary(samples: &[f64]) -> anyhow::Result<Summary> {
    Summary::of(samples).ok_or_else(|| anyhow::anyhow!("no finite samples ({samples:?})"))
}

/// A metric of repeated `samples`, with its target if the table has one.
fn metric(
    id: &str,
    label: &str,
    subject: &str,
    unit: &str,
    samples: &[f64],
) -> anyhow::Result<Metric> {
    Metric::new(id, label, subject, unit, summary(samples)?).judged()
}

/// A metric measured once (a size, a cold build), with its target if the table has one.
fn single(id: &str, label: &str, subject: &str, unit: &str, value: f64) -> anyhow::Result<Metric> {
    Metric::new(id, label, subject, unit, Summary::single(value)).judged()
}
