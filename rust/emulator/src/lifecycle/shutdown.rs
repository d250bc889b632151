//! The shutdown phase, in Lambda's order: SIGTERM to the runtime, its share,
//! SIGKILL to what is left of the runtime domain; then SHUTDOWN to the
//! subscribed extensions, SIGKILL to whoever is left at the deadline.

use std::time::{Duration, Instant, SystemTime};

use graceful_shutdown_protocol::lambda::extensions::EVENT_SHUTDOWN;
use nix::sys::signal::Signal;
use serde_json::json;

use crate::process::Child;
use crate::timeline::{EventKind, PLATFORM};

use super::{epoch_ms, Emulator, ShutdownReason};

impl Emulator {
    /// The shutdown phase, in Lambda's order: SIGTERM to the runtime, up to the
    /// runtime's share, SIGKILL; then SHUTDOWN to the subscribed extensions
    /// (SIGKILL to the others), SIGKILL to whoever is left at the deadline.
    /// With no extension registered, the runtime is SIGKILLed at once.
    pub async fn shutdown(&mut self, reason: ShutdownReason) {
        if self.shut_down {
            return;
        }
        self.shut_down = true;
        self.platform.lock().registration_open = false;
        // Lambda retires an idle environment: the runtime waits in
        // /invocation/next after its last answer. After a timeout or a
        // failure it is not idle, and Lambda does not wait.
        if reason == ShutdownReason::Spindown {
            if self.idle_since.is_none() {
                self.settle(Instant::now() + self.scenario.timeout).await;
            }
            if let Some(since) = self.idle_since {
                // Lambda retires an environment after minutes idle, so SIGTERM
                // meets a full CPU quota period. With a CPU share, idle at
                // least one period, so that the last invocation's spent quota
                // does not carry over into the shutdown phase.
                let idle = if self.scenario.cpu_share.is_some() {
                    self.scenario.idle.max(std::time::Duration::from_micros(
                        crate::cgroup::CPU_PERIOD_US,
                    ))
                } else {
                    self.scenario.idle
                };
                let until = since + idle;
                tokio::time::sleep(until.saturating_duration_since(Instant::now())).await;
            }
        }
        let reason = self
            .scenario
            .faults
            .shutdown_reason
            .clone()
            .unwrap_or_else(|| reason.as_str().to_owned());
        let started = Instant::now();
        let deadline = started + self.scenario.shutdown_phase;
        let deadline_ms = epoch_ms(SystemTime::now() + self.scenario.shutdown_phase);
        let share = self
            .scenario
            .runtime_share
            .min(self.scenario.shutdown_phase);
        self.rec.event(
            PLATFORM,
            EventKind::ShutdownPhase {
                reason: reason.clone(),
                deadline_ms,
                runtime_share_ms: share.as_millis() as u64,
            },
        );

        let registered = self.platform.lock().agents.len();
        // Thawed just before the signal (a frozen process cannot act on it),
        // and back in its system calls, as after Lambda's thaw.
        self.thaw_and_settle().await;
        if let Some(rt) = self.runtime.as_ref() {
            if rt.exited().is_some() {
                self.rec.event(
                    PLATFORM,
                    EventKind::Note {
                        message: "the runtime had already exited".to_owned(),
                    },
                );
            } else if registered == 0 {
                self.rec.event(
                    PLATFORM,
                    EventKind::Note {
                        message: "no extension registered: Lambda kills the runtime without SIGTERM, so no shutdown handler in the function runs".to_owned(),
                    },
                );
                self.kill_runtime_domain(rt, "no extension registered")
                    .await;
            } else {
                rt.signal(Signal::SIGTERM, &self.rec);
                for _ in 0..self.scenario.faults.extra_sigterms {
                    if rt.wait_exit(Duration::from_millis(20)).await {
                        break;
                    }
                    rt.signal(Signal::SIGTERM, &self.rec);
                }
                let until = started + share;
                // As Lambda's: the runtime is gone when every process of its
                // domain is, not only the one it started with.
                let gone = rt
                    .wait_exit(until.saturating_duration_since(Instant::now()))
                    .await
                    && self.runtime_domain_gone(rt, until).await;
                if !gone {
                    self.kill_runtime_domain(rt, "at the end of the runtime's share")
                        .await;
                }
            }
        }

        let shutdown_event = json!({ "eventType": EVENT_SHUTDOWN, "shutdownReason": reason, "deadlineMs": deadline_ms });
        for child in &self.extensions {
            if child.exited().is_some() {
                continue;
            }
            let st = self.platform.lock();
            match st
                .agent_by_name(&child.source)
                .filter(|a| !a.internal && a.shutdown)
            {
                Some(agent) => {
                    // Recorded first: the extension may log its answer before this thread runs again.
                    self.rec.event(
                        &child.source,
                        EventKind::ShutdownEvent {
                            reason: reason.clone(),
                            deadline_ms,
                        },
                    );
                    agent.send(shutdown_event.clone());
                }
                None => child.signal(Signal::SIGKILL, &self.rec),
            }
        }
        for child in &self.extensions {
            if !child
                .wait_exit(deadline.saturating_duration_since(Instant::now()))
                .await
            {
                child.signal(Signal::SIGKILL, &self.rec);
                child.wait_exit(Duration::from_secs(2)).await;
            }
        }
        self.rec.event(
            PLATFORM,
            EventKind::ShutdownDone {
                duration_ms: started.elapsed().as_millis() as u64,
            },
        );
    }

    /// The live processes of the runtime domain, with their names: the
    /// runtime's process group and, when the environment has cgroups, every
    /// member outside the extensions' process groups (also a process that
    /// left the runtime's group with setsid).
    fn runtime_domain(&self, rt: &Child) -> Vec<(i32, String)> {
        let own = i32::try_from(rt.pid).unwrap_or(0);
        let extensions: Vec<i32> = self
            .extensions
            .iter()
            .filter_map(|c| i32::try_from(c.pid).ok())
            .collect();
        let mut pids = self
            .cgroups
            .member_pids()
            .unwrap_or_else(|| crate::settle::members_of_groups(&[own]));
        pids.sort_unstable();
        pids.dedup();
        pids.into_iter()
            .filter_map(|pid| {
                let (group, name) = crate::process::live_process(pid)?;
                (group == own || !extensions.contains(&group)).then_some((pid, name))
            })
            .collect()
    }

    /// After the runtime's main process has exited: waits until every other
    /// process of its domain is gone too, or `until`. True if they are.
    async fn runtime_domain_gone(&self, rt: &Child, until: Instant) -> bool {
        let left = self.runtime_domain(rt);
        if left.is_empty() {
            return true;
        }
        self.rec.event(
            PLATFORM,
            EventKind::Note {
                message: format!(
                    "the runtime's main process exited; waiting for the runtime domain's processes: {}",
                    describe_processes(&left)
                ),
            },
        );
        loop {
            // No event tells when a process we did not start exits: polled,
            // within the runtime's share.
            tokio::time::sleep(Duration::from_millis(5)).await;
            if self.runtime_domain(rt).is_empty() {
                self.rec.event(
                    PLATFORM,
                    EventKind::Note {
                        message: "every process of the runtime domain is gone".to_owned(),
                    },
                );
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
        }
    }

    /// SIGKILL to every process left in the runtime domain (the runtime's
    /// process group, and its processes elsewhere in the environment's
    /// cgroup); the timeline names them. Waits (bounded) until they are gone.
    async fn kill_runtime_domain(&self, rt: &Child, when: &str) {
        let left = self.runtime_domain(rt);
        self.rec.event(
            PLATFORM,
            EventKind::Note {
                message: format!(
                    "SIGKILL to the runtime domain ({when}): {}",
                    describe_processes(&left)
                ),
            },
        );
        rt.signal(Signal::SIGKILL, &self.rec);
        for (pid, _) in &left {
            if *pid > 1 {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), Signal::SIGKILL);
            }
        }
        rt.wait_exit(Duration::from_secs(2)).await;
        let until = Instant::now() + Duration::from_secs(2);
        while !self.runtime_domain(rt).is_empty() && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

fn describe_processes(list: &[(i32, String)]) -> String {
    if list.is_empty() {
        return "none left".to_owned();
    }
    list.iter()
        .map(|(pid, name)| format!("pid {pid} ({name})"))
        .collect::<Vec<_>>()
        .join(", ")
}
