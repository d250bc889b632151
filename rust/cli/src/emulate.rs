//! `emulate`: the emulator's command line, shared by `gracefulctl emulate`
//! and the `lambda-emulator` binary (`src/bin/lambda-emulator.rs`). The
//! arguments build a [`Scenario`] of the emulator library, which knows
//! nothing of command lines; the exit codes are those of every gracefulctl
//! command ([`crate::failure`]):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | init succeeded and every invocation was answered |
//! | 1 | init failed, an invocation was not answered, or the emulator could not run |
//! | 2 | the command line is wrong (checked before anything runs or standard input is read) |

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use graceful_shutdown_emulator::layout::Layout;
use graceful_shutdown_emulator::{render, Emulator, Freeze, Scenario};

use crate::failure::{Failure, EXIT_FAILED};

/// Run a function and its extensions through Lambda's lifecycle locally:
/// init, invocations, then the shutdown phase in Lambda's order.
#[derive(Debug, Clone, Args)]
pub struct EmulateArgs {
    /// Directory holding the function's executable `bootstrap`, or with
    /// --runtime its code (Lambda's /var/task).
    #[arg(long, value_name = "DIR")]
    pub function_dir: PathBuf,
    /// Run the function's code on a managed runtime's official client
    /// (python3.9 ... python3.14 with awslambdaric, nodejs20.x, nodejs22.x,
    /// nodejs24.x with aws-lambda-ric, java17, java21, java25 with
    /// aws-lambda-java-runtime-interface-client) instead of its `bootstrap`.
    #[arg(long, value_name = "RUNTIME")]
    pub runtime: Option<String>,
    /// The function's handler (`_HANDLER`), such as app.handler, index.handler
    /// or example.Handler::handleRequest.
    #[arg(long, value_name = "HANDLER")]
    pub handler: Option<String>,
    /// Lambda Managed Instances: AWS_LAMBDA_MAX_CONCURRENCY=N and
    /// AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances.
    #[arg(long, value_name = "N")]
    pub max_concurrency: Option<u32>,
    /// A layer: a directory (or .zip) holding extensions/<name>. Repeatable.
    #[arg(long = "layer-dir", value_name = "DIR|ZIP")]
    pub layer_dirs: Vec<PathBuf>,
    /// An invocation payload: a JSON file, or `-` for standard input. Repeatable.
    #[arg(long = "event", value_name = "FILE|-")]
    pub events: Vec<String>,
    /// Number of invocations (default: one per --event, at least one; events cycle).
    #[arg(long, value_name = "N")]
    pub invocations: Option<u64>,
    /// An environment variable for the function and its extensions. Repeatable.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// The function timeout, in milliseconds.
    #[arg(long, default_value_t = 3000, value_name = "MS")]
    pub timeout_ms: u64,
    /// How long the init may take (the runtime and every extension calling
    /// `next`), in milliseconds; Lambda's limit is 10000.
    #[arg(long, default_value_t = graceful_shutdown_emulator::scenario::INIT_CAP.as_millis() as u64, value_name = "MS")]
    pub init_timeout_ms: u64,
    /// Time the runtime gets between SIGTERM and SIGKILL, in milliseconds.
    #[arg(long, default_value_t = 300, value_name = "MS")]
    pub runtime_share_ms: u64,
    /// The whole shutdown phase (SHUTDOWN's deadlineMs is its end), in milliseconds.
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    pub shutdown_ms: u64,
    /// The function's memory size, in MB (default 128). Given explicitly, the
    /// processes also get Lambda's CPU share for it (MB / 1769 of a vCPU).
    #[arg(long, value_name = "MB")]
    pub memory_mb: Option<u32>,
    /// How long the idle environment waits before the shutdown phase, in milliseconds.
    #[arg(long, default_value_t = graceful_shutdown_emulator::scenario::DEFAULT_IDLE.as_millis() as u64, value_name = "MS")]
    pub idle_ms: u64,
    /// Do not freeze the idle environment (Lambda freezes it).
    #[arg(long)]
    pub no_freeze: bool,
    /// Freeze with SIGSTOP/SIGCONT even where the cgroup freezer is writable.
    #[arg(long, conflicts_with = "no_freeze")]
    pub freeze_with_signals: bool,
    /// The function's name.
    #[arg(long, default_value = "emulated-function", value_name = "NAME")]
    pub function_name: String,
    /// Print the timeline as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

impl EmulateArgs {
    /// Checks the arguments and builds the scenario (reads event files).
    pub fn scenario(&self) -> anyhow::Result<Scenario> {
        let mut s = Scenario::new(&self.function_dir);
        s.layer_dirs = self.layer_dirs.clone();
        for kv in &self.env {
            let Some((k, v)) = kv.split_once('=') else {
                bail!("--env {kv:?}: expected KEY=VALUE, for example --env GRACEFUL_SHUTDOWN_TIMEOUT_MS=200");
            };
            if k.is_empty() {
                bail!(
                    "--env {kv:?}: the variable name before `=` is empty; put the name first, \
                     for example --env GRACEFUL_SHUTDOWN_TIMEOUT_MS=200"
                );
            }
            s.env.push((k.to_owned(), v.to_owned()));
        }
        for source in &self.events {
            let bytes = if source == "-" {
                let mut buf = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut buf)
                    .context("--event -: reading standard input")?;
                buf
            } else {
                std::fs::read(source)
                    .with_context(|| format!("--event {source}: cannot read the file"))?
            };
            if serde_json::from_slice::<serde_json::Value>(&bytes).is_err() {
                bail!("--event {source}: not valid JSON; Lambda payloads are JSON documents");
            }
            s.events.push(bytes);
        }
        if self.invocations == Some(0) {
            bail!("--invocations 0: send at least one invocation");
        }
        s.invocations = self.invocations;
        if self.timeout_ms == 0 {
            bail!("--timeout-ms 0: the function timeout must be at least 1 ms");
        }
        if self.init_timeout_ms == 0 {
            bail!("--init-timeout-ms 0: the init must be given at least 1 ms (Lambda gives 10000)");
        }
        if self.shutdown_ms == 0 {
            bail!("--shutdown-ms 0: the shutdown phase must be at least 1 ms (Lambda gives 2000)");
        }
        if self.runtime_share_ms > self.shutdown_ms {
            bail!(
                "--runtime-share-ms {} is longer than --shutdown-ms {}: the runtime's share is part of the shutdown phase",
                self.runtime_share_ms,
                self.shutdown_ms
            );
        }
        if let Some(mb) = self.memory_mb {
            if !(128..=10240).contains(&mb) {
                bail!(
                    "--memory-mb {mb}: Lambda allows 128 to 10240; use a size in that range, for \
                     example the default 128"
                );
            }
            s = s.memory(mb);
        }
        if let Some(runtime) = &self.runtime {
            let parsed = graceful_shutdown_emulator::runtimes::Runtime::parse(runtime)?;
            if self.handler.is_none() {
                bail!(
                    "--runtime {runtime} needs --handler, for example --handler {}",
                    parsed.example_handler()
                );
            }
        }
        if let Some(h) = &self.handler {
            if h.is_empty() || h.len() > 128 || h.contains(char::is_whitespace) {
                bail!("--handler {h:?}: expected 1 to 128 characters without spaces, for example app.handler");
            }
        }
        if self.max_concurrency == Some(0) {
            bail!("--max-concurrency 0: Managed Instances run at least 1 invocation at a time");
        }
        s.runtime = self.runtime.clone();
        s.handler = self.handler.clone();
        s.max_concurrency = self.max_concurrency;
        s.idle = Duration::from_millis(self.idle_ms);
        s.freeze = if self.no_freeze {
            Freeze::Off
        } else if self.freeze_with_signals {
            Freeze::Signals
        } else {
            Freeze::Auto
        };
        s.timeout = Duration::from_millis(self.timeout_ms);
        s.init_cap = Duration::from_millis(self.init_timeout_ms);
        s.runtime_share = Duration::from_millis(self.runtime_share_ms);
        s.shutdown_phase = Duration::from_millis(self.shutdown_ms);
        s.function_name = self.function_name.clone();
        Ok(s)
    }
}

impl EmulateArgs {
    /// Checks the command line (options, the function and layer
    /// directories, event files) without running anything or reading
    /// standard input.
    pub fn check(&self) -> anyhow::Result<()> {
        let mut check = self.clone();
        check.events.retain(|e| e != "-");
        Layout::of(&check.scenario()?).map(drop)
    }
}

/// Checks the command line, runs the emulator and prints the timeline; the
/// exit code follows the policy at the top of this module: a wrong command
/// line is a [`Failure::Usage`] (2), an emulator that cannot run a
/// [`Failure::Failed`] (1), and a run gives 0, or 1 when its lifecycle failed.
pub fn run(args: EmulateArgs) -> Result<ExitCode, Failure> {
    args.check().map_err(|e| Failure::Usage(format!("{e:#}")))?;
    run_checked(&args).map_err(Failure::Failed)
}

fn run_checked(args: &EmulateArgs) -> anyhow::Result<ExitCode> {
    let scenario = args.scenario()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = rt.block_on(Emulator::run(scenario))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.timeline)?);
    } else {
        print!("{}", render(&report.timeline));
    }
    Ok(if report.lifecycle_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: EmulateArgs,
    }

    fn scenario(args: &[&str]) -> anyhow::Result<Scenario> {
        let mut all = vec!["lambda-emulator", "--function-dir", "fn"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .args
            .scenario()
    }

    fn error(args: &[&str]) -> String {
        format!("{:#}", scenario(args).expect_err("refused"))
    }

    #[test]
    fn managed_runtime_options_reach_the_scenario() {
        let s = scenario(&[
            "--runtime",
            "nodejs22.x",
            "--handler",
            "index.handler",
            "--max-concurrency",
            "4",
            "--idle-ms",
            "20",
            "--no-freeze",
        ])
        .expect("good arguments");
        assert_eq!(s.runtime.as_deref(), Some("nodejs22.x"));
        assert_eq!(s.handler.as_deref(), Some("index.handler"));
        assert_eq!(s.max_concurrency, Some(4));
        assert_eq!(s.idle, Duration::from_millis(20));
        assert_eq!(s.freeze, Freeze::Off);
        assert_eq!(s.cpu_share, None, "no --memory-mb, no throttling");
        let s = scenario(&[
            "--runtime",
            "java25",
            "--handler",
            "example.Handler::handleRequest",
        ])
        .expect("a Java runtime");
        assert_eq!(s.runtime.as_deref(), Some("java25"));
        assert_eq!(s.handler.as_deref(), Some("example.Handler::handleRequest"));
        let s = scenario(&["--memory-mb", "128", "--freeze-with-signals"]).expect("good");
        assert_eq!(s.memory_mb, 128);
        assert!(s
            .cpu_share
            .is_some_and(|c| (c - 128.0 / 1769.0).abs() < 1e-9));
        assert_eq!(s.freeze, Freeze::Signals);
        let s = scenario(&[]).expect("defaults");
        assert_eq!(s.freeze, Freeze::Auto);
        assert_eq!(s.idle, graceful_shutdown_emulator::scenario::DEFAULT_IDLE);
    }

    #[test]
    fn bad_managed_runtime_options_are_named() {
        assert!(error(&["--runtime", "ruby3.3", "--handler", "a.b"])
            .starts_with("--runtime \"ruby3.3\": not a supported runtime; use one of python3.9"));
        assert!(
            error(&["--runtime", "python3.12"]).starts_with("--runtime python3.12 needs --handler")
        );
        assert_eq!(
            error(&["--runtime", "java21"]),
            "--runtime java21 needs --handler, for example --handler example.Handler::handleRequest"
        );
        assert!(error(&["--runtime", "java11", "--handler", "a.B::h"])
            .contains("java17, java21, java25"));
        assert!(error(&["--handler", "a b"])
            .starts_with("--handler \"a b\": expected 1 to 128 characters"));
        assert!(error(&["--max-concurrency", "0"]).starts_with("--max-concurrency 0:"));
        assert!(error(&["--no-freeze", "--freeze-with-signals"]).contains("cannot be used with"));
    }
}
