//! The end of a run: every process left stopped, the timeline taken, and
//! the run's report.

use std::time::Duration;

use nix::sys::signal::Signal;

use crate::timeline::{EventKind, Timeline};

use super::{Emulator, InitFailure, InvokeOutcome, ShutdownReason};

/// The result of a whole run.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub init: Result<(), InitFailure>,
    pub invocations: Vec<InvokeOutcome>,
    pub reason: ShutdownReason,
    pub timeline: Timeline,
}

impl RunReport {
    /// True when init succeeded and every invocation got a response or a function error.
    pub fn lifecycle_ok(&self) -> bool {
        self.init.is_ok()
            && self.invocations.iter().all(|o| {
                matches!(
                    o,
                    InvokeOutcome::Response(_) | InvokeOutcome::FunctionError(_)
                )
            })
    }
}

impl Emulator {
    /// Stops everything that is left and returns the timeline.
    pub async fn finish(mut self) -> Timeline {
        // Frozen processes do not die of SIGKILL until thawed.
        self.thaw();
        for child in self.runtime.iter().chain(self.extensions.iter()) {
            // As Lambda's supervisor does, the whole process group goes: also
            // what a process that has exited left running in the background.
            if child.exited().is_some() && child.group_alive() {
                self.rec.event(
                    &child.source,
                    EventKind::Note {
                        message: "SIGKILL to the processes it left in its process group".to_owned(),
                    },
                );
            }
            child.signal_quietly(Signal::SIGKILL);
        }
        for child in self.runtime.iter_mut().chain(self.extensions.iter_mut()) {
            child.wait_exit(Duration::from_secs(2)).await;
            child.drain(Duration::from_secs(2)).await;
        }
        self.server.abort();
        self.cgroups.remove();
        self.rec.snapshot()
    }
}
