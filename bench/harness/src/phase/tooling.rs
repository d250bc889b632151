//! Tooling: warm synth (with and without validation), the warm synth of a
//! fresh Node.js app made from the packed construct library, and, when asked,
//! a cold build of the layer.

use std::ffi::OsStr;
use std::path::Path;

use anyhow::Context;

use super::{metric, single};
use crate::args::Args;
use crate::budget::Budget;
use crate::commands::time_shell;
use crate::report::Metric;

const OURS: &str = "graceful-shutdown";

/// The tooling metrics; what is not measured is said in `notes`.
pub fn run(
    args: &Args,
    root: &Path,
    synth_runs: u32,
    budget: &Budget,
    notes: &mut Vec<String>,
) -> anyhow::Result<Vec<Metric>> {
    let mut metrics = Vec::new();
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
    time_shell(&args.synth, root, &[], &synth_log).context("synth warm-up")?;
    let mut synth = Vec::new();
    for _ in 0..synth_runs {
        budget.check("synth")?;
        synth.push(time_shell(&args.synth, root, &[], &synth_log).context("synth")?);
    }
    metrics.push(metric(
        "synth_warm_s",
        "warm `cdk synth`, no Rust change",
        OURS,
        "s",
        &synth,
    )?);
    // The same without aws-cdk-lib's default synth-time CloudFormation
    // validation (a WebAssembly engine), to show what that step costs.
    let mut unvalidated = Vec::new();
    for _ in 0..synth_runs {
        budget.check("synth")?;
        let off = [("CDK_VALIDATION", OsStr::new("false"))];
        unvalidated.push(
            time_shell(&args.synth, root, &off, &synth_log)
                .context("synth, CDK_VALIDATION=false")?,
        );
    }
    metrics.push(metric(
        "synth_warm_no_validation_s",
        "warm `cdk synth`, CDK_VALIDATION=false",
        OURS,
        "s",
        &unvalidated,
    )?);
    if args.fresh_app.is_empty() {
        notes.push("fresh Node.js app synth not measured (--fresh-app is empty)".to_owned());
    } else {
        metrics.extend(fresh_app_synth(
            &args.fresh_app,
            root,
            &target,
            &logs,
            synth_runs,
            budget,
        )?);
    }
    if let Some(cmd) = &args.cold_build {
        eprintln!("bench: cold build `{cmd}` in a fresh target directory");
        budget.check("cold build")?;
        let fresh = tempfile::Builder::new()
            .prefix("cold-build")
            .tempdir_in(&target)?;
        let secs = time_shell(
            cmd,
            root,
            &[("CARGO_TARGET_DIR", fresh.path().as_os_str())],
            &logs.join("cold-build.log"),
        )
        .context("cold build")?;
        metrics.push(single(
            "cold_build_s",
            "cold build of the layer (fresh target dir)",
            OURS,
            "s",
            secs,
        )?);
    } else {
        notes.push("cold build not measured (quick mode)".to_owned());
    }
    Ok(metrics)
}

/// A timed synth: metric id, label, extra environment.
type SynthVariant<'a> = (&'a str, &'a str, Vec<(&'a str, &'a OsStr)>);

/// Warm synth of a fresh Node.js app that installed the packed construct
/// library (made by `bash <fresh_app> <dir>`): with the prebuilt layer (the
/// default), and with the layer built from source (`LAYER_FROM_SOURCE=1`,
/// sharing the construct tests' cargo cache), each timed after one warm-up run.
fn fresh_app_synth(
    fresh_app: &str,
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
    eprintln!("bench: a fresh Node.js app from the packed construct ({fresh_app})");
    budget.check("fresh app")?;
    time_shell(
        &format!("bash '{}' '{}'", fresh_app, dir.display()),
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
            vec![("CDK_VALIDATION", OsStr::new("false"))],
        ),
        (
            "synth_fresh_app_source_s",
            "warm synth, fresh Node.js app, layers built from source",
            vec![
                ("LAYER_FROM_SOURCE", OsStr::new("1")),
                ("CARGO_TARGET_DIR", cargo_target.as_os_str()),
            ],
        ),
    ];
    let mut metrics = Vec::new();
    for (id, label, env) in variants {
        eprintln!("bench: {label} ({synth_runs} timed after one warm-up)");
        budget.check("fresh app synth")?;
        time_shell(&synth, root, &env, &log).context("fresh app synth warm-up")?;
        let mut samples = Vec::new();
        for _ in 0..synth_runs {
            budget.check("fresh app synth")?;
            samples.push(time_shell(&synth, root, &env, &log).context("fresh app synth")?);
        }
        metrics.push(metric(id, label, OURS, "s", &samples)?);
    }
    Ok(metrics)
}
