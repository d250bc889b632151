//! The one driver of the shared shutdown cases (`tests/cases/shutdown.json`)
//! for every function library: it runs each case against one probe function
//! (the library's own, following the contract at the top of that file) with
//! the real shutdown layer, in the lifecycle emulator or under AWS's Runtime
//! Interface Emulator, and checks every expectation the case states.
//!
//! The binary `shutdown-conformance` is its command line; Rust tests call
//! [`run`] with the same [`Options`].
//!
//! - [`cases`]: the file, read, with its defaults filled in;
//! - [`check`]: the one check of a run against a case's expectations, the
//!   verdict read with `graceful_shutdown_protocol::verdict`;
//! - [`emulate`] and [`rie`]: the two backends.

pub mod cases;
pub mod check;
pub mod emulate;
pub mod probe;
pub mod rie;

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use serde::Serialize;

use crate::cases::Case;
use crate::check::{Observed, Reading, RIE_KEYS};
use crate::probe::Probe;

/// Where the cases run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// The lifecycle emulator (`graceful-shutdown-emulator`), in this process.
    Emulator,
    /// AWS's Runtime Interface Emulator, in a private mount and PID
    /// namespace (root and `unshare` needed), for the cases that need no
    /// emulator-only setting.
    Rie,
}

/// Run the shared shutdown cases (tests/cases/shutdown.json) against one
/// probe function with the real shutdown layer, and check every expectation.
///
/// Prints `ok <case>` or `FAILED <case>: <why>` (with the timeline) per
/// case, then `N passed, N failed`; exits 1 when a case failed, 2 when the
/// command line is wrong.
#[derive(Debug, Clone, Parser)]
#[command(name = "shutdown-conformance", version)]
pub struct Options {
    /// Run only this case (repeatable; default: every case that applies to the backend).
    #[arg(long = "case", value_name = "NAME")]
    pub cases: Vec<String>,
    /// The cases file (default: the tests/cases/shutdown.json built in).
    #[arg(long, value_name = "FILE")]
    pub cases_file: Option<PathBuf>,
    /// The probe as an executable run as the function's bootstrap (custom
    /// runtime: Rust, Go). A file named `bootstrap` runs in its own directory.
    #[arg(long, value_name = "PATH", conflicts_with = "runtime")]
    pub function: Option<PathBuf>,
    /// The probe on a managed runtime the emulator knows (python3.12,
    /// nodejs22.x, java21, ...), with --handler and --code.
    #[arg(long, value_name = "RUNTIME", requires_all = ["handler", "code"])]
    pub runtime: Option<String>,
    /// The probe's handler (`_HANDLER`), with --runtime.
    #[arg(long, value_name = "HANDLER", requires = "runtime")]
    pub handler: Option<String>,
    /// The probe's code directory (Lambda's /var/task), with --runtime.
    #[arg(long, value_name = "DIR", requires = "runtime")]
    pub code: Option<PathBuf>,
    /// The shutdown layer: a directory holding extensions/graceful-shutdown.
    #[arg(long, value_name = "DIR")]
    pub layer: Option<PathBuf>,
    /// A variable for the probe (repeatable; an empty value unsets it where
    /// the emulator sets one, as AWS_EXECUTION_ENV=). The driver's own
    /// variables and the case's come after these.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// The function's memory size, and with it Lambda's CPU share (MB / 1769
    /// of a vCPU: 128 gives about 7 % of a core).
    #[arg(long, value_name = "MB")]
    pub memory_mb: Option<u32>,
    /// How long the init may take (Lambda: 10000).
    #[arg(long, value_name = "MS")]
    pub init_timeout_ms: Option<u64>,
    /// Where to run the cases.
    #[arg(long, value_enum, default_value_t = Backend::Emulator)]
    pub backend: Backend,
    /// The aws-lambda-rie binary for --backend rie (default: AWS_LAMBDA_RIE,
    /// else the version scripts/rie-compare.sh pins, under <target>/rie/).
    #[arg(long, value_name = "PATH")]
    pub rie: Option<PathBuf>,
    /// How this runtime ends when it ends by itself, when that is not
    /// `code:0`: a case's `runtimeExit` of `code:0` is checked as this (a
    /// Node.js function on the official client ends by its SIGTERM: `signal:SIGTERM`).
    #[arg(long, value_name = "code:N|signal:NAME")]
    pub clean_exit: Option<String>,
    /// An expectation left unchecked, named as a key of expectKeys or as
    /// statuses.<handler> (repeatable); each case's line says what was left out.
    #[arg(long = "leave-out", value_name = "KEY")]
    pub leave_out: Vec<String>,
    /// SIGKILL the runtime as soon as the probe's output has this line (a
    /// kill just as a handler starts, say). The case's `runtimeSignals`
    /// then count this SIGKILL in place of the platform's.
    #[arg(long, value_name = "LINE")]
    pub kill_runtime_after: Option<String>,
    /// Where each case's scratch directory goes (default: the system's temporary directory).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Print one JSON object per case (its verdict, parsed, the timeline's
    /// events and log lines, the probe's output, what failed) and a last
    /// one with the counts, instead of text.
    #[arg(long)]
    pub json: bool,
    /// Print the names of the cases that would run, one a line, and run nothing.
    #[arg(long)]
    pub list: bool,
    /// Run nothing: read log lines on standard input and print the first
    /// verdict line among them parsed, as one JSON object (`form`,
    /// `verdict`, `summary`), or `null` when there is none; exit 1 when a
    /// verdict line does not parse. For tests of runs that are not shared cases.
    #[arg(long, conflicts_with = "list")]
    pub read_verdict: bool,
}

/// What a run needs besides the case: the probe, the layer and the settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub probe: Probe,
    pub layer: PathBuf,
    pub env: Vec<(String, String)>,
    pub memory_mb: Option<u32>,
    pub init_timeout_ms: Option<u64>,
    pub kill_runtime_after: Option<String>,
    pub rie: Option<PathBuf>,
}

/// A wrong command line: exit status 2.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

fn usage<T>(message: impl Into<String>) -> anyhow::Result<T> {
    Err(Usage(message.into()).into())
}

impl Options {
    /// The cases this command runs, in order.
    pub fn selected(&self) -> anyhow::Result<Vec<Case>> {
        let all = cases::load(self.cases_file.as_deref())?;
        let picked = cases::select(all, &self.cases).or_else(|e| usage(format!("{e:#}")))?;
        if self.backend == Backend::Rie {
            if !self.cases.is_empty() {
                for c in &picked {
                    let knobs = c.emulator_only();
                    if !knobs.is_empty() {
                        return usage(format!(
                            "--case {} needs the lifecycle emulator ({}): it does not run under --backend rie",
                            c.name,
                            knobs.join(", ")
                        ));
                    }
                }
            }
            return Ok(picked
                .into_iter()
                .filter(|c| c.emulator_only().is_empty())
                .collect());
        }
        Ok(picked)
    }

    /// Checks the command line and resolves the probe and the layer.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let probe =
            match (&self.function, &self.runtime, &self.handler, &self.code) {
                (Some(f), None, None, None) => Probe::Function(f.clone()),
                (None, Some(r), Some(h), Some(c)) => Probe::Managed {
                    runtime: r.clone(),
                    handler: h.clone(),
                    code: c.clone(),
                },
                _ => return usage(
                    "give the probe as --function <bootstrap executable>, or as --runtime <id> \
                     --handler <handler> --code <dir>",
                ),
            };
        if let Probe::Managed { runtime, .. } = &probe {
            if let Err(e) = graceful_shutdown_emulator::runtimes::Runtime::parse(runtime) {
                return usage(format!("--runtime {e:#}"));
            }
        }
        probe.check().or_else(|e| usage(format!("{e:#}")))?;
        let Some(layer) = &self.layer else {
            return usage("--layer <dir with extensions/graceful-shutdown> is needed");
        };
        probe::check_layer(layer).or_else(|e| usage(format!("{e:#}")))?;
        let mut env = Vec::new();
        for kv in &self.env {
            match kv.split_once('=') {
                Some((k, v)) if !k.is_empty() => env.push((k.to_owned(), v.to_owned())),
                _ => return usage(format!("--env {kv:?}: expected KEY=VALUE")),
            }
        }
        if let Some(mb) = self.memory_mb {
            if !(128..=10240).contains(&mb) {
                return usage(format!("--memory-mb {mb}: Lambda allows 128 to 10240"));
            }
        }
        if self.init_timeout_ms == Some(0) {
            return usage("--init-timeout-ms 0: give the init at least 1 ms (Lambda gives 10000)");
        }
        for name in &self.leave_out {
            if !check::known_leave_out(name) {
                return usage(format!(
                    "--leave-out {name}: not a key of expectKeys ({}) nor statuses.<handler>",
                    cases::EXPECT_KEYS.join(", ")
                ));
            }
        }
        if let Some(word) = &self.clean_exit {
            let good = word
                .strip_prefix("code:")
                .is_some_and(|n| n.parse::<i32>().is_ok())
                || word
                    .strip_prefix("signal:SIG")
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_uppercase()));
            if !good {
                return usage(format!(
                    "--clean-exit {word}: expected code:<n> or signal:<NAME>, for example signal:SIGTERM"
                ));
            }
        }
        if self.backend == Backend::Rie
            && (self.memory_mb.is_some() || self.kill_runtime_after.is_some())
        {
            return usage(
                "--memory-mb and --kill-runtime-after need the lifecycle emulator (--backend emulator)",
            );
        }
        Ok(Settings {
            probe,
            layer: layer.clone(),
            env,
            memory_mb: self.memory_mb,
            init_timeout_ms: self.init_timeout_ms,
            kill_runtime_after: self.kill_runtime_after.clone(),
            rie: self.rie.clone(),
        })
    }

    fn reading(&self) -> Reading {
        Reading {
            clean_exit: self.clean_exit.clone(),
            leave_out: self.leave_out.clone(),
        }
    }
}

/// One case's result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseResult {
    pub case: String,
    pub backend: Backend,
    pub ok: bool,
    /// Each expectation that did not hold, as one sentence.
    pub failures: Vec<String>,
    /// The expectations of the case that were not checked (`--leave-out`,
    /// or not readable under this backend).
    pub not_checked: Vec<String>,
    #[serde(skip)]
    pub observed: Observed,
}

impl CaseResult {
    /// The run, for a failure message: the timeline (or the RIE's log), the
    /// driver's own signals and the probe's output.
    pub fn describe(&self) -> String {
        let mut text = String::new();
        let seen = &self.observed;
        if let Some(t) = &seen.timeline {
            text.push_str(&graceful_shutdown_emulator::render(t));
        }
        for line in &seen.log {
            text.push_str(line);
            text.push('\n');
        }
        for s in &seen.sent {
            text.push_str(&format!(
                "{:9.1} ms  driver: {} to the runtime\n",
                s.at_ms, s.signal
            ));
        }
        text.push_str(&format!("probe output: {:?}\n", seen.output));
        text
    }

    /// The case's JSON line (`--json`).
    pub fn to_json(&self) -> serde_json::Value {
        let seen = &self.observed;
        let verdict = match seen.verdict() {
            Some(Ok(p)) => serde_json::to_value(p).unwrap_or_default(),
            _ => serde_json::Value::Null,
        };
        let (events, logs) = match &seen.timeline {
            Some(t) => (
                serde_json::to_value(&t.events).unwrap_or_default(),
                serde_json::to_value(&t.logs).unwrap_or_default(),
            ),
            None => (
                serde_json::json!([]),
                serde_json::to_value(&seen.log).unwrap_or_default(),
            ),
        };
        serde_json::json!({
            "case": self.case,
            "backend": self.backend,
            "ok": self.ok,
            "failures": self.failures,
            "notChecked": self.not_checked,
            "lifecycleOk": seen.lifecycle_ok,
            "verdictLine": seen.verdict_line,
            "verdict": verdict,
            "runtimeSignals": seen.runtime_signals(),
            "driverSignals": seen.sent,
            "output": seen.output,
            "events": events,
            "logs": logs,
        })
    }
}

/// The expectation keys `case` states.
fn stated_keys(case: &Case) -> Vec<String> {
    let value = serde_json::to_value(&case.expect).unwrap_or_default();
    let mut keys: Vec<String> = value
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    if let Some(s) = &case.expect.statuses {
        keys.extend(s.0.iter().map(|(h, _)| format!("statuses.{h}")));
    }
    keys
}

/// Runs one case on `backend` and checks it.
pub fn run_case(
    case: &Case,
    settings: &Settings,
    backend: Backend,
    reading: &Reading,
    work_dir: Option<&std::path::Path>,
) -> anyhow::Result<CaseResult> {
    let mut builder = tempfile::Builder::new();
    let short: String = case.name.chars().take(40).collect();
    let prefix = format!("shutdown-conformance-{short}-");
    builder.prefix(&prefix);
    let scratch = match work_dir {
        Some(dir) => builder.tempdir_in(dir),
        None => builder.tempdir(),
    }
    .context("creating the case's scratch directory")?;
    {
        use std::os::unix::fs::PermissionsExt;
        // The RIE may run the processes unprivileged: let them in.
        std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o755))?;
    }
    let (observed, keys): (Observed, Option<&[&str]>) = match backend {
        Backend::Emulator => (emulate::run(case, settings, scratch.path())?, None),
        Backend::Rie => (rie::run(case, settings, scratch.path())?, Some(&RIE_KEYS)),
    };
    let mut failures = check::check(case, &observed, reading, keys);
    if backend == Backend::Emulator && case.layer {
        if let Some(t) = &observed.timeline {
            failures.extend(check::lambda_order(t));
        }
    }
    let not_checked = stated_keys(case)
        .into_iter()
        .filter(|k| {
            let by_backend = keys.is_some_and(|ks| !ks.contains(&k.split('.').next().unwrap_or(k)));
            reading.leave_out.contains(k) || by_backend
        })
        .collect();
    Ok(CaseResult {
        case: case.name.clone(),
        backend,
        ok: failures.is_empty(),
        failures,
        not_checked,
        observed,
    })
}

/// `--read-verdict`: the first verdict line of `text`, parsed, as one JSON
/// line (`null` when there is none); one failure when it does not parse.
pub fn read_verdict(text: &str, out: &mut dyn Write) -> anyhow::Result<Summary> {
    let Some(line) = text
        .lines()
        .find(|l| graceful_shutdown_protocol::verdict::is_verdict_line(l))
    else {
        writeln!(out, "null")?;
        return Ok(Summary::default());
    };
    match graceful_shutdown_protocol::verdict::parse(line) {
        Ok(parsed) => {
            writeln!(out, "{}", serde_json::to_string(&parsed)?)?;
            Ok(Summary {
                passed: 1,
                failed: 0,
            })
        }
        Err(e) => {
            writeln!(out, "null")?;
            eprintln!("{e}: {line}");
            Ok(Summary {
                passed: 0,
                failed: 1,
            })
        }
    }
}

/// How many cases passed and failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// Runs the cases `options` select, printing to `out` as it goes; `Err`
/// when the command line is wrong ([`Usage`]) or a case could not be run at all.
pub fn run(options: &Options, out: &mut dyn Write) -> anyhow::Result<Summary> {
    if options.read_verdict {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
        return read_verdict(&text, out);
    }
    let selected = options.selected()?;
    if options.list {
        for c in &selected {
            writeln!(out, "{}", c.name)?;
        }
        return Ok(Summary::default());
    }
    let settings = options.settings()?;
    if selected.is_empty() {
        bail!("no case to run");
    }
    let reading = options.reading();
    let mut summary = Summary::default();
    for case in &selected {
        let result = run_case(
            case,
            &settings,
            options.backend,
            &reading,
            options.work_dir.as_deref(),
        )
        .with_context(|| format!("case {}", case.name))?;
        if result.ok {
            summary.passed += 1;
        } else {
            summary.failed += 1;
        }
        if options.json {
            writeln!(out, "{}", result.to_json())?;
        } else if result.ok {
            if result.not_checked.is_empty() {
                writeln!(out, "ok {}", result.case)?;
            } else {
                writeln!(
                    out,
                    "ok {} (not checked: {})",
                    result.case,
                    result.not_checked.join(", ")
                )?;
            }
        } else {
            writeln!(
                out,
                "FAILED {}: {}",
                result.case,
                result.failures.join("; ")
            )?;
            write!(out, "{}", indent(&result.describe()))?;
        }
        out.flush()?;
    }
    if options.json {
        writeln!(out, "{}", serde_json::to_string(&summary)?)?;
    } else {
        writeln!(out, "{} passed, {} failed", summary.passed, summary.failed)?;
    }
    Ok(summary)
}
