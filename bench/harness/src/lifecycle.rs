//! One emulated execution environment from start to finish, with the probes
//! the benchmark needs: each invocation timed, and every extension's peak
//! memory read just before the shutdown phase.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, bail, Context};
use graceful_shutdown_emulator::{
    Emulator, Freeze, InvokeOutcome, Scenario, ShutdownReason, Timeline,
};
use graceful_shutdown_protocol::{ENV_PORT, ENV_SECRET_FILE};
use graceful_shutdown_testkit::PortLease;

use crate::proc_status::{sched_ms, vm_hwm_kib};

/// The function every extension is measured beside: the `probe` example of
/// the function library (the official `lambda_runtime` crate plus the library),
/// with one shutdown handler.
#[derive(Debug)]
pub struct Function {
    dir: tempfile::TempDir,
}

impl Function {
    /// A function directory holding `probe` as `bootstrap`, plus `extra_files`
    /// (files some alternatives look for in the working directory).
    pub fn new(probe: &Path, extra_files: &[PathBuf]) -> anyhow::Result<Function> {
        let dir = tempfile::Builder::new()
            .prefix("bench-function")
            .tempdir()?;
        let bootstrap = dir.path().join("bootstrap");
        std::fs::copy(probe, &bootstrap).with_context(|| {
            format!("--probe: cannot copy {}; build it with `cargo build -p lambda-graceful-shutdown --example probe`", probe.display())
        })?;
        for file in extra_files {
            let name = file
                .file_name()
                .ok_or_else(|| anyhow!("{} has no file name", file.display()))?;
            std::fs::copy(file, dir.path().join(name))
                .with_context(|| format!("copying {}", file.display()))?;
        }
        Ok(Function { dir })
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// What one run recorded.
#[derive(Debug)]
pub struct Run {
    pub timeline: Timeline,
    /// Per extension, read just before the shutdown phase.
    pub extensions: Vec<ExtensionProbe>,
}

/// What the kernel says about one extension process before the shutdown phase.
#[derive(Debug, Clone)]
pub struct ExtensionProbe {
    pub name: String,
    /// `VmHWM`, KiB.
    pub peak_rss_kib: u64,
    /// Time on a CPU so far (all threads), ms: its own cost, whatever the load.
    pub cpu_ms: f64,
    /// Time runnable but waiting for a CPU so far, ms: the machine's load.
    pub runqueue_wait_ms: f64,
}

/// An execution environment started and initialised, ready for invocations.
pub struct Env {
    em: Emulator,
    // Holds the secret file's directory for as long as the environment lives.
    _scratch: tempfile::TempDir,
    // The report listener's port, which no other run (or test) is handed
    // meanwhile: taken below the kernel's ephemeral range, which the
    // emulator's own API listener draws from, under a lock.
    _port: PortLease,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env").finish_non_exhaustive()
    }
}

impl Env {
    /// Starts an environment with `layer` (none: the function alone) and runs
    /// its init. Bounded by the emulator's own caps (10 s init).
    pub async fn start(
        function: &Function,
        layer: Option<&Path>,
        env: &[(String, String)],
        phase_ms: u64,
    ) -> anyhow::Result<Env> {
        let scratch = tempfile::Builder::new().prefix("bench-run").tempdir()?;
        let port = PortLease::take();
        let mut scenario = Scenario::new(function.dir())
            .env(ENV_PORT, port.port().to_string())
            .env(
                ENV_SECRET_FILE,
                scratch.path().join("secret").display().to_string(),
            )
            .env("PROBE_HANDLERS", "flush:ok");
        scenario.shutdown_phase = std::time::Duration::from_millis(phase_ms);
        // Not frozen between invocations: freezing is the platform's act, and
        // here its cost (each process moved into the freezer cgroup before it
        // runs, about 10 ms on cgroup v1; a thaw before every invocation)
        // would be counted as the extensions' start and invoke overhead.
        scenario = scenario.freeze(Freeze::Off);
        if let Some(layer) = layer {
            scenario = scenario.layer(layer);
        }
        for (k, v) in env {
            scenario = scenario.env(k.clone(), v.clone());
        }

        let mut em = Emulator::start(scenario).await?;
        if let Err(f) = em.init().await {
            let timeline = em.finish().await;
            let logs: Vec<String> = timeline
                .logs
                .iter()
                .map(|l| format!("{}: {}", l.source, l.line))
                .collect();
            bail!(
                "init failed: {} {}\n{}",
                f.error_type,
                f.message,
                logs.join("\n")
            );
        }
        Ok(Env {
            em,
            _scratch: scratch,
            _port: port,
        })
    }

    /// Sends invocation number `i` and returns its wall time as the platform
    /// sees it (request dispatched to response received), in milliseconds.
    pub async fn invoke(&mut self, i: u64) -> anyhow::Result<f64> {
        let began = Instant::now();
        let outcome = self.em.invoke(format!("{{\"n\":{i}}}").into_bytes()).await;
        let ms = began.elapsed().as_secs_f64() * 1000.0;
        match outcome {
            InvokeOutcome::Response(_) => Ok(ms),
            other => bail!("invocation {i} did not answer: {other:?}"),
        }
    }

    /// Sends `payload` as an invocation and returns the function's answer.
    pub async fn invoke_with(&mut self, payload: &[u8]) -> anyhow::Result<Vec<u8>> {
        match self.em.invoke(payload.to_vec()).await {
            InvokeOutcome::Response(body) => Ok(body),
            other => bail!("the invocation did not answer: {other:?}"),
        }
    }

    /// Every extension's peak memory and scheduler times, read now.
    pub fn probe_extensions(&self) -> anyhow::Result<Vec<ExtensionProbe>> {
        let mut extensions = Vec::new();
        for (name, pid) in self.em.extension_pids() {
            let peak_rss_kib = vm_hwm_kib(pid).with_context(|| format!("peak memory of {name}"))?;
            let (cpu_ms, runqueue_wait_ms) =
                sched_ms(pid).with_context(|| format!("scheduler times of {name}"))?;
            extensions.push(ExtensionProbe {
                name,
                peak_rss_kib,
                cpu_ms,
                runqueue_wait_ms,
            });
        }
        Ok(extensions)
    }

    /// Runs the shutdown phase (bounded by its deadline) and returns the timeline.
    pub async fn shutdown(mut self, reason: ShutdownReason) -> Timeline {
        self.em.shutdown(reason).await;
        self.em.finish().await
    }
}

/// Starts an environment with `layer` (none: the function alone), sends
/// `invocations` invocations, reads the extensions' peak memory, runs the
/// shutdown phase and returns the timeline. Every step is bounded by the
/// emulator's own caps (10 s init, the function timeout, the 2 s shutdown phase).
pub async fn run(
    function: &Function,
    layer: Option<&Path>,
    env: &[(String, String)],
    invocations: u64,
    phase_ms: u64,
) -> anyhow::Result<Run> {
    let mut e = Env::start(function, layer, env, phase_ms).await?;
    for i in 0..invocations {
        if let Err(err) = e.invoke(i).await {
            e.shutdown(ShutdownReason::Failure).await;
            return Err(err);
        }
    }
    let extensions = e.probe_extensions()?;
    let timeline = e.shutdown(ShutdownReason::Spindown).await;
    Ok(Run {
        timeline,
        extensions,
    })
}
