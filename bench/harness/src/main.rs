//! `graceful-shutdown-bench`: measures the shutdown layer beside the
//! alternatives a user would pick instead, all started the same way by the
//! lifecycle emulator, and prints one table (JSON beside it).
//!
//! Run through `pnpm run bench` (`bench/run.sh`), which builds what is measured
//! first. Every loop here is bounded in count, and the whole run in time.

mod commands;
mod lifecycle;
mod proc_status;
mod report;
mod sizes;
mod stats;
mod timings;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;

use crate::lifecycle::Function;
use crate::report::{Host, Metric, Results, Target};
use crate::stats::Summary;
use graceful_shutdown_emulator::ShutdownReason;

#[derive(Debug, Parser)]
#[command(
    about = "Benchmarks the graceful-shutdown layer beside the alternatives, under the lifecycle emulator"
)]
struct Args {
    /// Few repetitions, no cold build: proves the benchmark still runs.
    #[arg(long, env = "BENCH_QUICK", value_parser = clap::builder::FalseyValueParser::new())]
    quick: bool,
    /// Repository root; relative paths below are taken from it.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// The function binary (the library's `probe` example).
    #[arg(long, default_value = "target/debug/examples/probe")]
    probe: PathBuf,
    /// Built layers: `<arch>/extensions/graceful-shutdown` and `<arch>/graceful-shutdown-layer.zip`.
    #[arg(long, default_value = "target/lambda")]
    layer_dir: PathBuf,
    /// Built baseline: `<arch>/extensions/lambda-extension-baseline` and `<arch>/lambda-extension-baseline-layer.zip`.
    #[arg(long, default_value = "target/bench")]
    baseline_dir: PathBuf,
    /// restmachine-aws layer: `layer/` (`extensions/`, `python/`) and `restmachine-layer.zip`.
    #[arg(long, default_value = "target/bench/restmachine")]
    restmachine_dir: PathBuf,
    /// The application restmachine-aws's extension imports (`lambda_function.app`).
    #[arg(
        long,
        default_value = "bench/alternatives/restmachine/lambda_function.py"
    )]
    restmachine_app: PathBuf,
    /// The warm synth command, timed after one warm-up run.
    #[arg(long, default_value = "pnpm run synth")]
    synth: String,
    /// Makes a fresh Node.js CDK app from the packed construct library, outside
    /// the repository (`bash <script> <dir>`); its warm synth is timed with the
    /// prebuilt layer and with the layer built from source. Empty: skipped.
    #[arg(long, default_value = "construct/test/packed/node-app.sh")]
    fresh_app: String,
    /// A cold build of the layer, run once with CARGO_TARGET_DIR set to a fresh directory.
    #[arg(long)]
    cold_build: Option<String>,
    /// Lifecycle runs per extension (default: 3 quick, 30 full).
    #[arg(long)]
    runs: Option<u32>,
    /// Pairs of runs with and without the layer for the per-invoke ratio (default: 3 quick, 20 full).
    #[arg(long)]
    pairs: Option<u32>,
    /// Invocations per run of a pair (default: 30 quick, 400 full).
    #[arg(long)]
    invocations: Option<u64>,
    /// Timed synth runs (default: 1 quick, 5 full).
    #[arg(long)]
    synth_runs: Option<u32>,
    /// Where the JSON goes.
    #[arg(long, default_value = "bench/results/latest.json")]
    out: PathBuf,
    /// Cargo's target directory (CARGO_TARGET_DIR): the logs go to
    /// `<target>/bench/logs`, the cold build to a fresh directory inside it.
    #[arg(long, env = "CARGO_TARGET_DIR", default_value = "target")]
    target_dir: PathBuf,
    /// Date to record (bench/run.sh passes the UTC time).
    #[arg(long, default_value = "")]
    date: String,
    /// Command line to record.
    #[arg(long, default_value = "pnpm run bench")]
    command: String,
    /// The whole run stops with an error past this many seconds.
    #[arg(long, default_value_t = 1800)]
    time_limit_s: u64,
}

/// The shutdown phase the emulator gives: Lambda's, from spec/limits.json
/// (`shutdown.phaseMs`, 2,000 ms).
fn phase_ms() -> u64 {
    graceful_shutdown_protocol::limits().shutdown.phase_ms
}
const ARCHS: [&str; 2] = ["x86_64", "arm64"];

/// One extension under test.
#[derive(Debug)]
struct Subject {
    key: &'static str,
    /// Layer run on this machine (a zip or a directory with `extensions/`).
    layer: PathBuf,
    env: Vec<(String, String)>,
    /// Logs the graceful-shutdown verdict.
    verdict: bool,
}

fn host_arch() -> anyhow::Result<&'static str> {
    match std::env::consts::ARCH {
        "x86_64" => Ok("x86_64"),
        "aarch64" => Ok("arm64"),
        other => bail!("unsupported host architecture {other}; Lambda runs x86_64 and arm64"),
    }
}

/// A clock that bounds the whole run.
struct Budget {
    until: Instant,
    limit_s: u64,
}

impl Budget {
    fn check(&self, what: &str) -> anyhow::Result<()> {
        if Instant::now() > self.until {
            bail!(
                "the benchmark went over --time-limit-s {} s ({what} not done)",
                self.limit_s
            );
        }
        Ok(())
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let budget = Budget {
        until: Instant::now() + Duration::from_secs(args.time_limit_s),
        limit_s: args.time_limit_s,
    };
    // Absolute: paths are handed to processes that run in other directories.
    let root = args
        .root
        .canonicalize()
        .with_context(|| format!("--root {}", args.root.display()))?;
    let at = |p: &Path| {
        if p.is_absolute() {
            p.to_owned()
        } else {
            root.join(p)
        }
    };
    let quick = args.quick;
    let runs = args.runs.unwrap_or(if quick { 3 } else { 30 }).max(1);
    let pairs = args.pairs.unwrap_or(if quick { 3 } else { 20 }).max(1);
    let invocations = args
        .invocations
        .unwrap_or(if quick { 30 } else { 400 })
        .max(1);
    let synth_runs = args.synth_runs.unwrap_or(if quick { 1 } else { 5 }).max(1);
    let arch = host_arch()?;

    let layer_dir = at(&args.layer_dir);
    let baseline_dir = at(&args.baseline_dir);
    let rm_dir = at(&args.restmachine_dir);
    let subjects = vec![
        Subject {
            key: "graceful-shutdown",
            layer: layer_dir.join(arch).join("graceful-shutdown-layer.zip"),
            env: vec![],
            verdict: true,
        },
        Subject {
            key: "lambda-extension",
            layer: baseline_dir
                .join(arch)
                .join("lambda-extension-baseline-layer.zip"),
            env: vec![],
            verdict: false,
        },
        Subject {
            key: "restmachine-aws",
            layer: rm_dir.join("layer"),
            env: vec![(
                "PYTHONPATH".to_owned(),
                rm_dir.join("layer/python").display().to_string(),
            )],
            verdict: false,
        },
        Subject {
            key: "floor",
            layer: baseline_dir.join(arch).join("minimal-extension-layer.zip"),
            env: vec![],
            verdict: false,
        },
    ];
    for s in &subjects {
        if !s.layer.exists() {
            bail!(
                "{} layer {} is missing; run `bash bench/run.sh`, which builds it",
                s.key,
                s.layer.display()
            );
        }
    }
    let function = Function::new(&at(&args.probe), &[at(&args.restmachine_app)])?;
    let mut metrics = Vec::new();
    let mut notes = Vec::new();

    // Sizes, per architecture.
    eprintln!("bench: sizes");
    sizes(&layer_dir, &baseline_dir, &rm_dir, &mut metrics)?;

    metrics.extend(lifecycle_phase(&subjects, &function, runs, &budget).await?);
    metrics.extend(invoke_phase(&subjects[0], &function, pairs, invocations, &budget).await?);
    metrics.extend(tooling_phase(
        &args, &root, synth_runs, &budget, &mut notes,
    )?);

    let table = report::table(&metrics);
    println!("{table}");
    let results = Results {
        schema: 1,
        date: args.date.clone(),
        command: args.command.clone(),
        mode: if quick { "quick" } else { "full" }.to_owned(),
        host: Host::detect(),
        config: serde_json::json!({
            "runsPerExtension": runs,
            "invokePairs": pairs,
            "invocationsPerRun": invocations,
            "synthRuns": synth_runs,
            "hostArch": arch,
            "shutdownPhaseMs": phase_ms(),
            "synthCommand": args.synth,
            "coldBuildCommand": args.cold_build,
            "function": "graceful-shutdown example `probe` (lambda_runtime + library), one handler flush:ok",
        }),
        metrics,
        notes,
    };
    let out = at(&args.out);
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(&results)? + "\n")
        .with_context(|| format!("writing {}", out.display()))?;
    std::fs::write(out.with_file_name("table.md"), &table)?;
    eprintln!("bench: wrote {}", out.display());
    Ok(())
}

/// Start, memory and the shutdown phase: `runs` rounds, each running every
/// extension once (one invocation), in rotating order.
async fn lifecycle_phase(
    subjects: &[Subject],
    function: &Function,
    runs: u32,
    budget: &Budget,
) -> anyhow::Result<Vec<Metric>> {
    let mut metrics = Vec::new();
    let ours = &subjects[0];
    // Start, memory, shutdown: one invocation per run, subjects interleaved.
    eprintln!("bench: {runs} lifecycle runs per extension");
    let mut start: Vec<Vec<f64>> = vec![Vec::new(); subjects.len()];
    let mut rss: Vec<Vec<f64>> = vec![Vec::new(); subjects.len()];
    let mut margin: Vec<Vec<f64>> = vec![Vec::new(); subjects.len()];
    let mut register: Vec<Vec<f64>> = vec![Vec::new(); subjects.len()];
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); subjects.len()];
    let mut waited: Vec<Vec<f64>> = vec![Vec::new(); subjects.len()];
    let (mut to_handler, mut to_verdict, mut report_to_verdict) =
        (Vec::new(), Vec::new(), Vec::new());
    for round in 0..runs as usize {
        for k in 0..subjects.len() {
            let i = (round + k) % subjects.len();
            let s = &subjects[i];
            budget.check("lifecycle runs")?;
            let run = lifecycle::run(function, Some(&s.layer), &s.env, 1, phase_ms())
                .await
                .with_context(|| format!("{} run {}", s.key, round + 1))?;
            let probe = match run.extensions.as_slice() {
                [one] => one.clone(),
                other => bail!("{}: expected one extension, found {other:?}", s.key),
            };
            let t = timings::timings(&run.timeline, &probe.name, phase_ms() as f64, s.verdict)
                .with_context(|| format!("{} run {}", s.key, round + 1))?;
            start[i].push(t.start_ms);
            register[i].push(t.register_ms);
            rss[i].push(probe.peak_rss_kib as f64 / 1024.0);
            cpu[i].push(probe.cpu_ms);
            waited[i].push(probe.runqueue_wait_ms);
            margin[i].push(t.exit_margin_ms);
            if let Some(sh) = t.shutdown {
                to_handler.push(sh.sigterm_to_handler_ms);
                to_verdict.push(sh.shutdown_to_verdict_ms);
                report_to_verdict.push(sh.last_report_to_verdict_ms);
            }
        }
    }
    let start_label = "extension start → blocked in /event/next";
    for (i, s) in subjects.iter().enumerate() {
        let mut m = Metric::new("start_ms", start_label, s.key, "ms", summary(&start[i])?);
        if s.key == "graceful-shutdown" {
            m = m.target(Target::at_most(1.0));
        }
        metrics.push(m);
    }
    for (i, s) in subjects.iter().enumerate() {
        metrics.push(Metric::new(
            "start_to_register_ms",
            "process start → /register received",
            s.key,
            "ms",
            summary(&register[i])?,
        ));
    }
    for (i, s) in subjects.iter().enumerate() {
        metrics.push(Metric::new(
            "init_cpu_ms",
            "CPU time before SHUTDOWN (schedstat, all threads)",
            s.key,
            "ms",
            summary(&cpu[i])?,
        ));
    }
    for (i, s) in subjects.iter().enumerate() {
        metrics.push(Metric::new(
            "init_runqueue_wait_ms",
            "run-queue wait before SHUTDOWN (machine load)",
            s.key,
            "ms",
            summary(&waited[i])?,
        ));
    }
    // Speed-up over restmachine-aws, per round (the same round ran all three back to back).
    let rm = subjects
        .iter()
        .position(|s| s.key == "restmachine-aws")
        .unwrap_or(2);
    for (i, s) in subjects.iter().enumerate().filter(|(i, _)| *i != rm) {
        let ratios: Vec<f64> = start[rm]
            .iter()
            .zip(&start[i])
            .map(|(r, o)| r / o)
            .collect();
        let mut m = Metric::new(
            "start_speedup_vs_restmachine",
            "start speed-up over restmachine-aws",
            s.key,
            "x",
            summary(&ratios)?,
        );
        if s.key == "graceful-shutdown" {
            m = m.target(Target::at_least(30.0));
        }
        metrics.push(m);
    }
    for (i, s) in subjects.iter().enumerate() {
        let mut m = Metric::new(
            "peak_rss_mib",
            "peak RSS (VmHWM before SHUTDOWN)",
            s.key,
            "MiB",
            summary(&rss[i])?,
        );
        if s.key == "graceful-shutdown" {
            m = m.target(Target::at_most(2.0));
        }
        metrics.push(m);
    }

    // The shutdown phase.
    metrics.push(
        Metric::new(
            "sigterm_to_handler_ms",
            "SIGTERM → first handler running",
            ours.key,
            "ms",
            summary(&to_handler)?,
        )
        .target(Target::at_most(1.0)),
    );
    metrics.push(
        Metric::new(
            "shutdown_to_verdict_ms",
            "SHUTDOWN → verdict logged",
            ours.key,
            "ms",
            summary(&to_verdict)?,
        )
        .target(Target::at_most(5.0)),
    );
    metrics.push(Metric::new(
        "last_report_to_verdict_ms",
        "last report → verdict logged",
        ours.key,
        "ms",
        summary(&report_to_verdict)?,
    ));
    for (i, s) in subjects.iter().enumerate() {
        metrics.push(Metric::new(
            "exit_margin_ms",
            "extension exit before deadlineMs",
            s.key,
            "ms",
            summary(&margin[i])?,
        ));
    }

    Ok(metrics)
}

/// Per-invoke latency with the layer and without: `pairs` pairs of
/// environments, one with the layer and one without, alive side by side; each
/// pair gets `invocations` invocations each, interleaved one by one (with,
/// without, then without, with, ...), so that whatever the machine does at a
/// given moment hits both alike.
async fn invoke_phase(
    ours: &Subject,
    function: &Function,
    pairs: u32,
    invocations: u64,
    budget: &Budget,
) -> anyhow::Result<Vec<Metric>> {
    let mut metrics = Vec::new();
    eprintln!(
        "bench: {pairs} pairs of {invocations} interleaved invocations with and without the layer"
    );
    let (mut with, mut without, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for p in 0..pairs {
        budget.check("per-invoke pairs")?;
        let mut layered =
            lifecycle::Env::start(function, Some(ours.layer.as_path()), &[], phase_ms())
                .await
                .context("per-invoke environment with the layer")?;
        let mut plain = lifecycle::Env::start(function, None, &[], phase_ms())
            .await
            .context("per-invoke environment without the layer")?;
        let (mut ms_with, mut ms_without) = (Vec::new(), Vec::new());
        let mut failure = None;
        for i in 0..invocations {
            // Alternate which one goes first, so that drift hits both alike.
            let layered_first = (i + u64::from(p)) % 2 == 0;
            let (a, b) = if layered_first {
                (layered.invoke(i).await, plain.invoke(i).await)
            } else {
                let b = plain.invoke(i).await;
                (layered.invoke(i).await, b)
            };
            match (a, b) {
                (Ok(a), Ok(b)) => {
                    ms_with.push(a);
                    ms_without.push(b);
                }
                (Err(e), _) | (_, Err(e)) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        layered.shutdown(ShutdownReason::Spindown).await;
        plain.shutdown(ShutdownReason::Spindown).await;
        if let Some(e) = failure {
            return Err(e.context("per-invoke run"));
        }
        let median = |v: &[f64]| Summary::of(v).map(|s| s.median).unwrap_or(f64::NAN);
        let (m_with, m_without) = (median(&ms_with), median(&ms_without));
        with.push(m_with);
        without.push(m_without);
        ratio.push(m_with / m_without);
    }
    metrics.push(Metric::new(
        "invoke_ms_with_layer",
        "per-invoke latency, layer attached",
        ours.key,
        "ms",
        summary(&with)?,
    ));
    metrics.push(Metric::new(
        "invoke_ms_without_layer",
        "per-invoke latency, no layer",
        ours.key,
        "ms",
        summary(&without)?,
    ));
    metrics.push(
        Metric::new(
            "invoke_ratio",
            "per-invoke latency ratio (with / without)",
            ours.key,
            "x",
            summary(&ratio)?,
        )
        .target(Target::at_most(1.01)),
    );

    Ok(metrics)
}

/// Warm synth (with and without validation) and, when asked, a cold build.
fn tooling_phase(
    args: &Args,
    root: &Path,
    synth_runs: u32,
    budget: &Budget,
    notes: &mut Vec<String>,
) -> anyhow::Result<Vec<Metric>> {
    let mut metrics = Vec::new();
    let ours = "graceful-shutdown";
    // Tooling: warm synth, cold build.
    let target = root.join(&args.target_dir); // an absolute --target-dir stays as it is
    let logs = target.join("bench/logs");
    std::fs::create_dir_all(&logs)?;
    eprintln!(
        "bench: warm `{}` ({synth_runs} timed after one warm-up)",
        args.synth
    );
    let synth_log = logs.join("synth.log");
    let _ = std::fs::remove_file(&synth_log);
    budget.check("synth")?;
    commands::time_shell(&args.synth, root, &[], &synth_log).context("synth warm-up")?;
    let mut synth = Vec::new();
    for _ in 0..synth_runs {
        budget.check("synth")?;
        synth.push(commands::time_shell(&args.synth, root, &[], &synth_log).context("synth")?);
    }
    metrics.push(
        Metric::new(
            "synth_warm_s",
            "warm `cdk synth`, no Rust change",
            ours,
            "s",
            summary(&synth)?,
        )
        .target(Target::at_most(5.0)),
    );
    // The same without aws-cdk-lib's default synth-time CloudFormation
    // validation (a WebAssembly engine), to show what that step costs.
    let mut unvalidated = Vec::new();
    for _ in 0..synth_runs {
        budget.check("synth")?;
        let off = [("CDK_VALIDATION", std::ffi::OsStr::new("false"))];
        unvalidated.push(
            commands::time_shell(&args.synth, root, &off, &synth_log)
                .context("synth, CDK_VALIDATION=false")?,
        );
    }
    metrics.push(Metric::new(
        "synth_warm_no_validation_s",
        "warm `cdk synth`, CDK_VALIDATION=false",
        ours,
        "s",
        summary(&unvalidated)?,
    ));
    if args.fresh_app.is_empty() {
        notes.push("fresh Node.js app synth not measured (--fresh-app is empty)".to_owned());
    } else {
        metrics.extend(fresh_app_synth(
            args, root, &target, &logs, synth_runs, budget,
        )?);
    }
    if let Some(cmd) = &args.cold_build {
        eprintln!("bench: cold build `{cmd}` in a fresh target directory");
        budget.check("cold build")?;
        let fresh = tempfile::Builder::new()
            .prefix("cold-build")
            .tempdir_in(&target)?;
        let secs = commands::time_shell(
            cmd,
            root,
            &[("CARGO_TARGET_DIR", fresh.path().as_os_str())],
            &logs.join("cold-build.log"),
        )
        .context("cold build")?;
        metrics.push(Metric::new(
            "cold_build_s",
            "cold build of the layer (fresh target dir)",
            ours,
            "s",
            Summary::single(secs),
        ));
    } else {
        notes.push("cold build not measured (quick mode)".to_owned());
    }

    Ok(metrics)
}

/// A timed synth: metric id, label, extra environment.
type SynthVariant<'a> = (&'a str, &'a str, Vec<(&'a str, &'a std::ffi::OsStr)>);

/// Warm synth of a fresh Node.js app that installed the packed construct
/// library: with the prebuilt layer (the default), and with the layer built
/// from source (`LAYER_FROM_SOURCE=1`, sharing the construct tests' cargo
/// cache), each timed after one warm-up run.
fn fresh_app_synth(
    args: &Args,
    root: &Path,
    target: &Path,
    logs: &Path,
    synth_runs: u32,
    budget: &Budget,
) -> anyhow::Result<Vec<Metric>> {
    // Outside the repository, as a user's app is (and away from its pnpm workspace).
    let fresh = tempfile::Builder::new()
        .prefix("fresh-node-app")
        .tempdir()?;
    let dir = fresh.path();
    let log = logs.join("fresh-app.log");
    let _ = std::fs::remove_file(&log);
    eprintln!(
        "bench: a fresh Node.js app from the packed construct ({})",
        args.fresh_app
    );
    budget.check("fresh app")?;
    commands::time_shell(
        &format!("bash '{}' '{}'", args.fresh_app, dir.display()),
        root,
        &[],
        &log,
    )
    .context("making the fresh Node.js app")?;
    let synth = format!(
        "cd '{}' && node app.js cdk.out",
        dir.join("node-shop").display()
    );
    let cargo_target = target.join("construct-test");
    let variants: [SynthVariant<'_>; 3] = [
        (
            "synth_fresh_app_s",
            "warm synth, fresh Node.js app, prebuilt layers (2 functions, 2 architectures)",
            vec![],
        ),
        (
            "synth_fresh_app_no_validation_s",
            "warm synth, fresh Node.js app, prebuilt layers, CDK_VALIDATION=false",
            vec![("CDK_VALIDATION", std::ffi::OsStr::new("false"))],
        ),
        (
            "synth_fresh_app_source_s",
            "warm synth, fresh Node.js app, layers built from source",
            vec![
                ("LAYER_FROM_SOURCE", std::ffi::OsStr::new("1")),
                ("CARGO_TARGET_DIR", cargo_target.as_os_str()),
            ],
        ),
    ];
    let mut metrics = Vec::new();
    for (id, label, env) in variants {
        eprintln!("bench: {label} ({synth_runs} timed after one warm-up)");
        budget.check("fresh app synth")?;
        commands::time_shell(&synth, root, &env, &log).context("fresh app synth warm-up")?;
        let mut samples = Vec::new();
        for _ in 0..synth_runs {
            budget.check("fresh app synth")?;
            samples
                .push(commands::time_shell(&synth, root, &env, &log).context("fresh app synth")?);
        }
        let metric = Metric::new(id, label, "graceful-shutdown", "s", summary(&samples)?);
        metrics.push(if id == "synth_fresh_app_s" {
            metric.target(Target::at_most(3.0))
        } else {
            metric
        });
    }
    Ok(metrics)
}

fn summary(samples: &[f64]) -> anyhow::Result<Summary> {
    Summary::of(samples).ok_or_else(|| anyhow::anyhow!("no finite samples ({samples:?})"))
}

/// Stripped binary and zipped layer sizes, per architecture.
fn sizes(
    layer_dir: &Path,
    baseline_dir: &Path,
    rm_dir: &Path,
    metrics: &mut Vec<Metric>,
) -> anyhow::Result<()> {
    let kib = |b: u64| b as f64 / 1024.0;
    let ours_how = "build the layers with `bash scripts/build-layers.sh`";
    let base_how = "build the baseline with `bash bench/build-baseline.sh`";
    for arch in ARCHS {
        let bin_label = format!("stripped binary, {arch}");
        let zip_label = format!("layer zip, {arch}");
        let ours_bin = sizes::stripped_binary_size(
            &layer_dir.join(arch).join("extensions/graceful-shutdown"),
            ours_how,
        )?;
        let base_bin = sizes::stripped_binary_size(
            &baseline_dir
                .join(arch)
                .join("extensions/lambda-extension-baseline"),
            base_how,
        )?;
        let id = format!("binary_kib_{arch}");
        metrics.push(Metric::new(
            &id,
            &bin_label,
            "graceful-shutdown",
            "KiB",
            Summary::single(kib(ours_bin)),
        ));
        metrics.push(Metric::new(
            &id,
            &bin_label,
            "lambda-extension",
            "KiB",
            Summary::single(kib(base_bin)),
        ));
        let id = format!("layer_zip_kib_{arch}");
        let ours_zip = sizes::file_size(
            &layer_dir.join(arch).join("graceful-shutdown-layer.zip"),
            ours_how,
        )?;
        let base_zip = sizes::file_size(
            &baseline_dir
                .join(arch)
                .join("lambda-extension-baseline-layer.zip"),
            base_how,
        )?;
        // Pure Python: the same zip serves both architectures.
        let rm_zip = sizes::file_size(
            &rm_dir.join("restmachine-layer.zip"),
            "run `bash bench/run.sh`, which packs it",
        )?;
        metrics.push(
            Metric::new(
                &id,
                &zip_label,
                "graceful-shutdown",
                "KiB",
                Summary::single(kib(ours_zip)),
            )
            .target(Target::at_most(400.0)),
        );
        metrics.push(Metric::new(
            &id,
            &zip_label,
            "lambda-extension",
            "KiB",
            Summary::single(kib(base_zip)),
        ));
        metrics.push(Metric::new(
            &id,
            &zip_label,
            "restmachine-aws",
            "KiB",
            Summary::single(kib(rm_zip)),
        ));
    }
    Ok(())
}
