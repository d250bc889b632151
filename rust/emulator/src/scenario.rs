//! What to run: the plain configuration of one emulated execution environment.
//! Built by the CLI from its arguments, or directly by tests.

use std::path::PathBuf;
use std::time::Duration;

use graceful_shutdown_protocol::limits;

/// Lambda caps the init phase at 10 seconds.
pub const INIT_CAP: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct Scenario {
    /// Directory holding the function's `bootstrap` (Lambda's `/var/task`).
    pub function_dir: PathBuf,
    /// Layer directories, each holding `extensions/*` (merged like `/opt`).
    pub layer_dirs: Vec<PathBuf>,
    /// Invocation payloads, sent in order (cycled when `invocations` is larger).
    pub events: Vec<Vec<u8>>,
    /// How many invocations to send; `None` means one per event (at least one).
    pub invocations: Option<u64>,
    /// User environment variables, given to the runtime and the extensions.
    pub env: Vec<(String, String)>,
    /// The function timeout.
    pub timeout: Duration,
    /// How long the runtime gets between SIGTERM and SIGKILL.
    pub runtime_share: Duration,
    /// The whole shutdown phase; SHUTDOWN's `deadlineMs` is its end.
    pub shutdown_phase: Duration,
    pub memory_mb: u32,
    pub function_name: String,
    /// The init phase cap (Lambda: 10 s).
    pub init_cap: Duration,
    /// Departures from Lambda's behaviour, to test how the product copes.
    pub faults: Faults,
    /// A managed runtime (`python3.12`, `nodejs22.x`, ...): the function
    /// directory is run with the official runtime interface client instead of
    /// its `bootstrap`. `None`: the executable `bootstrap` (provided runtimes).
    pub runtime: Option<String>,
    /// The function's handler (`_HANDLER`), such as `app.handler`; needed with
    /// `runtime`. `None` without a runtime means `bootstrap`.
    pub handler: Option<String>,
    /// Where the runtime clients are (laid out like `.runtimes/`); `None`:
    /// `LAMBDA_EMULATOR_RUNTIMES`, else the first `.runtimes` in the current
    /// directory or its parents.
    pub runtimes_dir: Option<PathBuf>,
    /// Lambda Managed Instances: `AWS_LAMBDA_MAX_CONCURRENCY` (and
    /// `AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances`).
    pub max_concurrency: Option<u32>,
    /// How long the environment stays idle (runtime in `/invocation/next`,
    /// extensions in `/event/next`) before the shutdown phase begins.
    pub idle: Duration,
    /// Whether and how the environment is frozen while idle.
    pub freeze: Freeze,
    /// The CPU the environment's processes get, as a fraction of one vCPU
    /// (Lambda: memory / 1769 MB). `None`: unthrottled. For example
    /// `Some(0.07)` is about what a 128 MB function gets.
    pub cpu_share: Option<f64>,
}

/// Lambda gives one vCPU at this memory size, and CPU in proportion to memory.
pub const MB_PER_VCPU: u32 = 1769;

/// How to freeze an idle environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Freeze {
    /// The cgroup v1 freezer where it is writable, else SIGSTOP/SIGCONT.
    #[default]
    Auto,
    /// SIGSTOP/SIGCONT of the process groups, even where the freezer is writable.
    Signals,
    /// Never freeze.
    Off,
}

/// The default idle time before the shutdown phase.
pub const DEFAULT_IDLE: Duration = Duration::from_millis(50);

/// Faults the emulator can inject. All off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Answer every `POST /extension/register` with this status (for example 500).
    pub register_status: Option<u16>,
    /// Send this `shutdownReason` instead of the real one (for example `SPINDOWN` or `recycle`).
    pub shutdown_reason: Option<String>,
    /// Send SIGTERM to the runtime this many extra times, 20 ms apart.
    pub extra_sigterms: u32,
}

impl Scenario {
    /// A scenario with Lambda's defaults for the function in `function_dir`.
    pub fn new(function_dir: impl Into<PathBuf>) -> Self {
        let shutdown = &limits().shutdown;
        Scenario {
            function_dir: function_dir.into(),
            layer_dirs: Vec::new(),
            events: Vec::new(),
            invocations: None,
            env: Vec::new(),
            timeout: Duration::from_millis(3000),
            runtime_share: Duration::from_millis(shutdown.runtime_share_ms),
            shutdown_phase: Duration::from_millis(shutdown.phase_ms),
            memory_mb: 128,
            function_name: "emulated-function".to_owned(),
            init_cap: INIT_CAP,
            faults: Faults::default(),
            runtime: None,
            handler: None,
            runtimes_dir: None,
            max_concurrency: None,
            idle: DEFAULT_IDLE,
            freeze: Freeze::Auto,
            cpu_share: None,
        }
    }

    /// Runs the function directory on a managed runtime's official client,
    /// for example `.managed_runtime("python3.12", "app.handler")`.
    pub fn managed_runtime(mut self, runtime: &str, handler: &str) -> Self {
        self.runtime = Some(runtime.to_owned());
        self.handler = Some(handler.to_owned());
        self
    }

    /// Lambda Managed Instances with `n` concurrent invocations per environment.
    pub fn max_concurrency(mut self, n: u32) -> Self {
        self.max_concurrency = Some(n);
        self
    }

    /// The memory size, and the CPU share Lambda gives it (`mb / 1769` of a vCPU).
    pub fn memory(mut self, mb: u32) -> Self {
        self.memory_mb = mb;
        self.cpu_share = Some(f64::from(mb) / f64::from(MB_PER_VCPU));
        self
    }

    /// A CPU quota for every process of the environment, as a fraction of one
    /// vCPU (for example 0.07), whatever the memory size.
    pub fn cpu_share(mut self, fraction: f64) -> Self {
        self.cpu_share = Some(fraction);
        self
    }

    pub fn idle(mut self, idle: Duration) -> Self {
        self.idle = idle;
        self
    }

    pub fn freeze(mut self, freeze: Freeze) -> Self {
        self.freeze = freeze;
        self
    }

    pub fn layer(mut self, dir: impl Into<PathBuf>) -> Self {
        self.layer_dirs.push(dir.into());
        self
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn event(mut self, payload: impl Into<Vec<u8>>) -> Self {
        self.events.push(payload.into());
        self
    }

    pub fn invocations(mut self, n: u64) -> Self {
        self.invocations = Some(n);
        self
    }

    /// The payload of invocation `index` (0-based): events cycle; `{}` when there are none.
    pub fn payload(&self, index: u64) -> Vec<u8> {
        if self.events.is_empty() {
            return b"{}".to_vec();
        }
        let i = (index % self.events.len() as u64) as usize;
        self.events[i].clone()
    }

    /// How many invocations the run sends.
    pub fn invocation_count(&self) -> u64 {
        self.invocations
            .unwrap_or_else(|| self.events.len().max(1) as u64)
    }
}
