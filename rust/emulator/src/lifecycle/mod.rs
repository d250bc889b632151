//! The lifecycle of one execution environment: init, invocations, shutdown,
//! in Lambda's order and with Lambda's deadlines. [`Emulator::run`] is the
//! whole sequence; each phase is a module of its own: `start` (the APIs
//! served, no process yet), `init`, `invoke`, `idle` (settle, freeze, thaw),
//! `shutdown` and `report` (what is left stopped, the timeline). `wait` is
//! how a phase waits on the platform.

mod idle;
mod init;
mod invoke;
mod report;
mod shutdown;
mod start;
mod wait;

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::api::Platform;
use crate::cgroup::Cgroups;
use crate::layout::Layout;
use crate::process::Child;
use crate::scenario::Scenario;
use crate::timeline::Recorder;

use idle::FreezeMethod;
pub use init::InitFailure;
pub use invoke::InvokeOutcome;
pub use report::RunReport;

/// Why the environment shuts down: the protocol's one reason type.
pub use graceful_shutdown_protocol::ShutdownReason;

/// A running execution environment.
#[derive(Debug)]
pub struct Emulator {
    scenario: Scenario,
    rec: Recorder,
    platform: Arc<Platform>,
    address: String,
    layout: Layout,
    server: tokio::task::JoinHandle<()>,
    runtime: Option<Child>,
    extensions: Vec<Child>,
    invoked: u64,
    shut_down: bool,
    /// Since when the environment is idle (runtime and extensions in `next`).
    idle_since: Option<Instant>,
    /// How it is frozen, while it is.
    frozen: Option<FreezeMethod>,
    /// Dropped after the processes (fields drop in order): removes the
    /// environment's cgroups, whatever happened.
    cgroups: Cgroups,
}

impl Emulator {
    /// Init, every invocation of the scenario, shutdown with the reason the
    /// run calls for, and the timeline.
    pub async fn run(scenario: Scenario) -> anyhow::Result<RunReport> {
        // 1. Serve the APIs (`start`); no process runs yet.
        let mut em = Emulator::start(scenario).await?;

        // 2. Init: the extensions register, the runtime starts, everyone calls `next`.
        let init = em.init().await;

        // 3. The invocations, each answered, after which the environment
        //    idles and is frozen (`invoke`, `idle`); a timeout or a runtime
        //    gone ends them, and says why the environment shuts down.
        let mut invocations = Vec::new();
        let mut reason = ShutdownReason::Spindown;
        if init.is_ok() {
            for i in 0..em.scenario.invocation_count() {
                let outcome = em.invoke(em.scenario.payload(i)).await;
                let stop = match outcome {
                    InvokeOutcome::Timeout => Some(ShutdownReason::Timeout),
                    InvokeOutcome::RuntimeExited => Some(ShutdownReason::Failure),
                    _ => None,
                };
                invocations.push(outcome);
                if let Some(r) = stop {
                    reason = r;
                    break;
                }
            }
        } else {
            reason = ShutdownReason::Failure;
        }

        // 4. Shutdown: SIGTERM, the runtime's share, SHUTDOWN to the extensions.
        em.shutdown(reason.clone()).await;

        // 5. Report: stop what is left, take the timeline.
        let timeline = em.finish().await;
        Ok(RunReport {
            init,
            invocations,
            reason,
            timeline,
        })
    }

    /// `host:port` of the Runtime and Extensions APIs.
    pub fn api_address(&self) -> &str {
        &self.address
    }

    pub fn recorder(&self) -> &Recorder {
        &self.rec
    }

    /// Process id of the runtime, while it runs.
    pub fn runtime_pid(&self) -> Option<u32> {
        self.runtime
            .as_ref()
            .filter(|c| c.exited().is_none())
            .map(|c| c.pid)
    }

    /// Process ids of the external extensions, by file name.
    pub fn extension_pids(&self) -> Vec<(String, u32)> {
        self.extensions
            .iter()
            .map(|c| (c.source.clone(), c.pid))
            .collect()
    }
}

/// Milliseconds since the Unix epoch, as Lambda's `deadlineMs`.
fn epoch_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
