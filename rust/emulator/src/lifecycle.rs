//! The lifecycle of one execution environment: init, invocations, shutdown,
//! in Lambda's order and with Lambda's deadlines.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use graceful_shutdown_protocol::lambda::extensions::{EVENT_INVOKE, EVENT_SHUTDOWN};
use nix::sys::signal::Signal;
use serde_json::json;

use crate::api::{Answer, FunctionInfo, Invocation, Platform, State};
use crate::cgroup::Cgroups;
use crate::environment;
use crate::layout::Layout;
use crate::process::{Child, Exit};
use crate::runtimes::{Language, ManagedRuntime};
use crate::scenario::{Freeze, Scenario};
use crate::timeline::{EventKind, Recorder, Timeline, PLATFORM, RUNTIME};

/// Why the environment shuts down: the protocol's one reason type.
pub use graceful_shutdown_protocol::ShutdownReason;

/// How the init phase ended, when it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitFailure {
    pub error_type: String,
    pub message: String,
}

/// How one invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeOutcome {
    Response(Vec<u8>),
    FunctionError(String),
    Timeout,
    /// The runtime process went away (crash, exit) before answering.
    RuntimeExited,
}

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

/// How an idle environment is frozen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FreezeMethod {
    Cgroup,
    Signals,
}

fn epoch_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Emulator {
    /// Checks the layout and serves the APIs; starts no process yet.
    pub async fn start(mut scenario: Scenario) -> anyhow::Result<Emulator> {
        scenario.function_dir = std::path::absolute(&scenario.function_dir)?;
        let layout = Layout::of(&scenario)?;
        let rec = Recorder::new();
        let rt_env = environment::runtime(&scenario, "", &layout.layer_roots);
        let handler = rt_env["_HANDLER"].clone();
        let managed_instances = rt_env
            .get("AWS_LAMBDA_INITIALIZATION_TYPE")
            .is_some_and(|v| v == environment::MANAGED_INSTANCES);
        let info = FunctionInfo {
            name: scenario.function_name.clone(),
            version: "$LATEST".to_owned(),
            handler,
            managed_instances,
        };
        let platform = Platform::new(rec.clone(), info, scenario.faults.register_status);
        platform.lock().expected = layout.extensions.iter().map(|(n, _)| n.clone()).collect();
        let (addr, server) = platform.serve().await?;
        let address = addr.to_string();
        rec.event(
            PLATFORM,
            EventKind::Listening {
                address: address.clone(),
            },
        );
        let cgroups = Cgroups::create(scenario.freeze == Freeze::Auto, scenario.cpu_share);
        for note in &cgroups.notes {
            rec.event(
                PLATFORM,
                EventKind::Note {
                    message: note.clone(),
                },
            );
        }
        if let (Some(share), Some((dir, quota))) = (scenario.cpu_share, cgroups.cpu_quota()) {
            rec.event(
                PLATFORM,
                EventKind::Note {
                    message: format!(
                        "CPU share {:.1} % of a vCPU for {} MB: cpu.cfs_quota_us {quota} per cpu.cfs_period_us {} ({})",
                        share * 100.0,
                        scenario.memory_mb,
                        crate::cgroup::CPU_PERIOD_US,
                        dir.display()
                    ),
                },
            );
        }
        Ok(Emulator {
            scenario,
            rec,
            platform,
            address,
            layout,
            server,
            runtime: None,
            extensions: Vec::new(),
            invoked: 0,
            shut_down: false,
            idle_since: None,
            frozen: None,
            cgroups,
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

    fn spawn(
        &self,
        source: &str,
        path: &std::path::Path,
        args: &[String],
        env: &environment::Env,
    ) -> anyhow::Result<Child> {
        let child = Child::spawn(
            source,
            path,
            args,
            &self.scenario.function_dir,
            env,
            &self.rec,
            &self.cgroups.join_fds(),
        )?;
        // Wake whoever waits on the platform when the process exits.
        let mut exit = child.exit_watch();
        let platform = self.platform.clone();
        tokio::spawn(async move {
            let _ = exit.wait_for(|e| e.is_some()).await;
            platform.bump();
        });
        Ok(child)
    }

    /// Waits until `check` gives a value, re-checking on every state change or
    /// process exit, until `until`.
    async fn wait_for<T>(
        &self,
        until: Instant,
        mut check: impl FnMut(&State, &Self) -> Option<T>,
    ) -> Option<T> {
        let mut changes = self.platform.subscribe();
        loop {
            {
                let st = self.platform.lock();
                if let Some(v) = check(&st, self) {
                    return Some(v);
                }
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            match tokio::time::timeout(left, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return None,
                Err(_) => {}
            }
        }
    }

    fn extension_crash(&self) -> Option<InitFailure> {
        self.extensions
            .iter()
            .find(|c| c.exited().is_some())
            .map(|c| InitFailure {
                error_type: "Extension.Crash".to_owned(),
                message: format!(
                    "extension {} exited during init ({})",
                    c.source,
                    describe_exit(c.exited())
                ),
            })
    }

    fn reported_init_error(st: &State) -> Option<InitFailure> {
        st.init_errors.first().map(|e| InitFailure {
            error_type: e.error_type.clone(),
            message: format!("{} reported /init/error {}", e.source, e.error_type),
        })
    }

    /// The init phase: start the extensions, wait for them to register, start
    /// the runtime, wait for everyone to call `next`. Capped at `init_cap`.
    pub async fn init(&mut self) -> Result<(), InitFailure> {
        let started = Instant::now();
        let cap = started + self.scenario.init_cap;
        let result = self.init_inner(cap).await;
        self.platform.lock().registration_open = false;
        match &result {
            Ok(()) => self.rec.event(
                PLATFORM,
                EventKind::InitDone {
                    duration_ms: started.elapsed().as_millis() as u64,
                },
            ),
            Err(f) => self.rec.event(
                PLATFORM,
                EventKind::InitFailed {
                    error_type: f.error_type.clone(),
                    message: f.message.clone(),
                },
            ),
        }
        result
    }

    async fn init_inner(&mut self, cap: Instant) -> Result<(), InitFailure> {
        let ext_env = environment::extension(&self.scenario, &self.address);
        for (name, path) in self.layout.extensions.clone() {
            match self.spawn(&name, &path, &[], &ext_env) {
                Ok(child) => self.extensions.push(child),
                Err(e) => {
                    return Err(InitFailure {
                        error_type: "Extension.LaunchError".to_owned(),
                        message: format!("{e:#}"),
                    })
                }
            }
        }
        // Lambda starts the runtime once every external extension has registered.
        let registered = self
            .wait_for(cap, |st, me| {
                if let Some(e) = Self::reported_init_error(st) {
                    return Some(Err(e));
                }
                if st.expected.iter().all(|n| st.agent_by_name(n).is_some()) {
                    return Some(Ok(()));
                }
                me.extension_crash().map(Err)
            })
            .await;
        match registered {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(e),
            None => return Err(self.init_timeout("waiting for extensions to register")),
        }

        let rt_env = environment::runtime(&self.scenario, &self.address, &self.layout.layer_roots);
        let bootstrap = self.layout.bootstrap.clone();
        let args = self.layout.bootstrap_args.clone();
        match self.spawn(RUNTIME, &bootstrap, &args, &rt_env) {
            Ok(child) => self.runtime = Some(child),
            Err(e) => {
                return Err(InitFailure {
                    error_type: "Runtime.InvalidEntrypoint".to_owned(),
                    message: format!("{e:#}"),
                })
            }
        }
        let ready = self
            .wait_for(cap, |st, me| {
                if let Some(e) = Self::reported_init_error(st) {
                    return Some(Err(e));
                }
                if let Some(rt) = me.runtime.as_ref().and_then(|c| c.exited()) {
                    return Some(Err(InitFailure {
                        error_type: "Runtime.ExitError".to_owned(),
                        message: format!(
                            "the runtime exited during init ({})",
                            describe_exit(Some(rt))
                        ),
                    }));
                }
                if let Some(e) = me.extension_crash() {
                    return Some(Err(e));
                }
                (st.runtime_ready && st.agents.iter().all(|a| a.ready)).then_some(Ok(()))
            })
            .await;
        match ready {
            Some(r) => r,
            None => {
                Err(self.init_timeout("waiting for the runtime and the extensions to call next"))
            }
        }
    }

    fn init_timeout(&self, what: &str) -> InitFailure {
        InitFailure {
            error_type: "Runtime.InitTimeout".to_owned(),
            message: format!(
                "init did not finish within {} ms ({what})",
                self.scenario.init_cap.as_millis()
            ),
        }
    }

    /// Sends one invocation and waits for the runtime's answer and for every
    /// INVOKE-subscribed extension to call `next` again, within the function timeout.
    pub async fn invoke(&mut self, payload: Vec<u8>) -> InvokeOutcome {
        if self.runtime.as_ref().map_or(true, |c| c.exited().is_some()) {
            return InvokeOutcome::RuntimeExited;
        }
        self.thaw();
        self.idle_since = None;
        self.invoked += 1;
        let request_id = uuid::Uuid::new_v4().to_string();
        let timeout = self.scenario.timeout;
        let deadline_ms = epoch_ms(SystemTime::now() + timeout);
        let function_arn = format!(
            "arn:aws:lambda:us-east-1:{}:function:{}",
            crate::api::ACCOUNT_ID,
            self.scenario.function_name
        );
        let until = Instant::now() + timeout;
        self.rec.event(
            PLATFORM,
            EventKind::Invoke {
                number: self.invoked,
                request_id: request_id.clone(),
            },
        );
        {
            let mut st = self.platform.lock();
            for agent in st.agents.iter_mut().filter(|a| a.invoke) {
                agent.busy = true;
                self.rec.event(
                    &agent.name,
                    EventKind::InvokeEvent {
                        request_id: request_id.clone(),
                    },
                );
                agent.send(json!({
                    "eventType": EVENT_INVOKE,
                    "deadlineMs": deadline_ms,
                    "requestId": request_id,
                    "invokedFunctionArn": function_arn,
                    "tracing": { "type": "X-Amzn-Trace-Id", "value": "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0" },
                }));
            }
        }
        self.platform.dispatch(Invocation {
            request_id: request_id.clone(),
            deadline_ms,
            function_arn,
            payload,
        });
        let id = request_id.clone();
        let outcome = self
            .wait_for(until, move |st, me| {
                let answer = st.answers.get(&id);
                if let Some(answer) = answer {
                    if st.agents.iter().all(|a| !a.busy) {
                        return Some(match answer {
                            Answer::Response(b) => InvokeOutcome::Response(b.clone()),
                            Answer::Error(t) => InvokeOutcome::FunctionError(t.clone()),
                        });
                    }
                }
                if me.runtime.as_ref().is_some_and(|c| c.exited().is_some()) && answer.is_none() {
                    return Some(InvokeOutcome::RuntimeExited);
                }
                None
            })
            .await;
        {
            let mut st = self.platform.lock();
            st.answers.remove(&request_id);
            st.sent_at.remove(&request_id);
        }
        match outcome {
            Some(InvokeOutcome::RuntimeExited) => {
                self.rec.event(
                    PLATFORM,
                    EventKind::InvokeFailed {
                        request_id,
                        error_type: "Runtime.ExitError".to_owned(),
                    },
                );
                InvokeOutcome::RuntimeExited
            }
            Some(o) => {
                // Answered: once the runtime is back in /invocation/next, the
                // environment is idle, and Lambda freezes it.
                self.settle(Instant::now() + self.scenario.timeout).await;
                o
            }
            None => {
                self.rec.event(
                    PLATFORM,
                    EventKind::InvokeTimeout {
                        request_id,
                        timeout_ms: timeout.as_millis() as u64,
                    },
                );
                InvokeOutcome::Timeout
            }
        }
    }

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
                let until = since + self.scenario.idle;
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

    /// How many `/invocation/next` callers make the runtime idle: one, or on
    /// Managed Instances one per worker (Python forks `AWS_LAMBDA_MAX_CONCURRENCY`
    /// workers; Node.js runs `AWS_LAMBDA_NODEJS_WORKER_COUNT` worker threads
    /// when set, else a number of its own choosing, so one is all we can expect).
    fn pollers(&self) -> usize {
        let env = environment::runtime(&self.scenario, "", &self.layout.layer_roots);
        let number = |k: &str| env.get(k).and_then(|v| v.parse::<usize>().ok());
        let Some(concurrency) = number("AWS_LAMBDA_MAX_CONCURRENCY") else {
            return 1;
        };
        let language = self
            .scenario
            .runtime
            .as_deref()
            .and_then(|id| ManagedRuntime::parse(id).ok())
            .map(|m| m.language);
        match language {
            Some(Language::Python) => concurrency.max(1),
            Some(Language::Node) => number("AWS_LAMBDA_NODEJS_WORKER_COUNT").unwrap_or(1).max(1),
            None => 1,
        }
    }

    /// Waits (until `until`) for the environment to become idle: the runtime
    /// blocked in `/invocation/next` and every INVOKE-subscribed extension in
    /// `/event/next`; records it and freezes the environment.
    async fn settle(&mut self, until: Instant) {
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
    async fn thaw_and_settle(&mut self) {
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
    fn thaw(&mut self) {
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

    /// Init, every invocation of the scenario, shutdown with the reason the
    /// run calls for, and the timeline.
    pub async fn run(scenario: Scenario) -> anyhow::Result<RunReport> {
        let mut em = Emulator::start(scenario).await?;
        let init = em.init().await;
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
        em.shutdown(reason.clone()).await;
        let timeline = em.finish().await;
        Ok(RunReport {
            init,
            invocations,
            reason,
            timeline,
        })
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

fn describe_exit(exit: Option<Exit>) -> String {
    match exit {
        Some(Exit::Code(c)) => format!("exit code {c}"),
        Some(Exit::Signal(s)) => format!("killed by {}", crate::process::signal_name(s)),
        None => "still running".to_owned(),
    }
}
