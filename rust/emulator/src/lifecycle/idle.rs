//! Between invocations: the environment idle once the runtime and the
//! INVOKE-subscribed extensions wait in `next`, then frozen (cgroup freezer,
//! else SIGSTOP) until the next invocation or the shutdown thaws it.

use std::time::Instant;

use nix::sys::signal::Signal;

use crate::environment;
use crate::process::Child;
use crate::runtimes::{Language, Runtime};
use crate::scenario::Freeze;
use crate::timeline::{EventKind, PLATFORM};

use super::Emulator;

/// How an idle environment is frozen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FreezeMethod {
    Cgroup,
    Signals,
}

impl Emulator {
    /// How many `/invocation/next` callers make the runtime idle: one, or on
    /// Managed Instances one per worker (Python forks `AWS_LAMBDA_MAX_CONCURRENCY`
    /// workers; the Java client runs that many runtime loops in one JVM;
    /// Node.js runs `AWS_LAMBDA_NODEJS_WORKER_COUNT` worker threads when set,
    /// else a number of its own choosing, so one is all we can expect).
    fn pollers(&self) -> usize {
        let env = environment::runtime(&self.scenario, "", &self.layout.layer_roots);
        let number = |k: &str| env.get(k).and_then(|v| v.parse::<usize>().ok());
        let Some(concurrency) = number("AWS_LAMBDA_MAX_CONCURRENCY") else {
            return 1;
        };
        let runtime = self
            .scenario
            .runtime
            .as_deref()
            .and_then(|id| Runtime::parse(id).ok());
        match runtime {
            Some(Runtime::Managed(m)) if m.language == Language::Python => concurrency.max(1),
            Some(Runtime::Java(_)) => concurrency.max(1),
            Some(Runtime::Managed(_)) => {
                number("AWS_LAMBDA_NODEJS_WORKER_COUNT").unwrap_or(1).max(1)
            }
            None => 1,
        }
    }

    /// Waits (until `until`) for the environment to become idle: the runtime
    /// blocked in `/invocation/next` and every INVOKE-subscribed extension in
    /// `/event/next`; records it and freezes the environment.
    pub(super) async fn settle(&mut self, until: Instant) {
        let pollers = self.pollers();
        let answered = Instant::now();
        let idle = self
            .wait_for(until, |st, me| {
                if me.runtime.as_ref().map_or(true, |c| c.exited().is_some()) {
                    return Some(false);
                }
                let extensions_idle = st.agents.iter().all(|a| !a.invoke || (a.ready && !a.busy));
                (st.runtime_waiting >= pollers && extensions_idle).then_some(true)
            })
            .await;
        match idle {
            Some(true) => {
                self.idle_since = Some(Instant::now());
                self.rec.event(
                    PLATFORM,
                    EventKind::Idle {
                        waited_ms: answered.elapsed().as_millis() as u64,
                    },
                );
                self.freeze().await;
            }
            Some(false) => {}
            None => self.rec.event(
                PLATFORM,
                EventKind::Note {
                    message: format!(
                        "not idle: the runtime did not call /invocation/next again ({pollers} caller(s) expected) \
                         or an INVOKE-subscribed extension did not call /event/next within {} ms",
                        until.saturating_duration_since(answered).as_millis()
                    ),
                },
            ),
        }
    }

    fn children(&self) -> impl Iterator<Item = &Child> {
        self.runtime.iter().chain(self.extensions.iter())
    }

    /// Freezes the idle environment, as the scenario says.
    async fn freeze(&mut self) {
        if self.frozen.is_some() || self.scenario.freeze == Freeze::Off {
            return;
        }
        if self.cgroups.freezer_dir().is_some() {
            match self.cgroups.freeze().await {
                Ok(()) => {
                    self.frozen = Some(FreezeMethod::Cgroup);
                    self.rec.event(
                        PLATFORM,
                        EventKind::Frozen {
                            method: "cgroup freezer".to_owned(),
                        },
                    );
                    return;
                }
                Err(e) => {
                    let _ = self.cgroups.thaw();
                    self.rec.event(
                        PLATFORM,
                        EventKind::Note {
                            message: format!("the cgroup freezer failed ({e}): SIGSTOP instead"),
                        },
                    );
                }
            }
        }
        for child in self.children().filter(|c| c.exited().is_none()) {
            child.signal_quietly(Signal::SIGSTOP);
        }
        self.frozen = Some(FreezeMethod::Signals);
        self.rec.event(
            PLATFORM,
            EventKind::Frozen {
                method: "SIGSTOP to the process groups".to_owned(),
            },
        );
    }

    /// Thaws the environment, and waits (bounded) until every thread is back
    /// in the call it was frozen in, so that a signal reaches the thread it
    /// would reach in Lambda (see `settle`).
    pub(super) async fn thaw_and_settle(&mut self) {
        let pids = match self.frozen {
            None => return,
            Some(FreezeMethod::Cgroup) => self.cgroups.frozen_pids(),
            Some(FreezeMethod::Signals) => {
                let groups: Vec<i32> = self
                    .children()
                    .filter_map(|c| i32::try_from(c.pid).ok())
                    .collect();
                crate::settle::members_of_groups(&groups)
            }
        };
        self.thaw();
        if !crate::settle::after_thaw(&pids).await {
            self.rec.event(
                PLATFORM,
                EventKind::Note {
                    message: format!(
                        "a thread was still running {} ms after the thaw (busy, or not back in its system call)",
                        crate::settle::SETTLE_LIMIT.as_millis()
                    ),
                },
            );
        }
    }

    /// Thaws the environment if it is frozen.
    pub(super) fn thaw(&mut self) {
        let Some(method) = self.frozen.take() else {
            return;
        };
        let how = match method {
            FreezeMethod::Cgroup => {
                if let Err(e) = self.cgroups.thaw() {
                    self.rec.event(
                        PLATFORM,
                        EventKind::Note {
                            message: format!("thawing failed: {e}"),
                        },
                    );
                }
                "cgroup freezer"
            }
            FreezeMethod::Signals => {
                for child in self.children() {
                    child.signal_quietly(Signal::SIGCONT);
                }
                "SIGCONT to the process groups"
            }
        };
        self.rec.event(
            PLATFORM,
            EventKind::Thawed {
                method: how.to_owned(),
            },
        );
    }
}
