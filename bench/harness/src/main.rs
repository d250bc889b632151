//! `graceful-shutdown-bench`: measures the shutdown layer beside the
//! alternatives a user would pick instead, all started the same way by the
//! lifecycle emulator, and prints one table (JSON beside it).
//!
//! Run through `pnpm run bench` (`bench/run.sh`), which builds what is measured
//! first. Every loop here is bounded in count, and the whole run in time.

mod args;
mod budget;
mod commands;
mod endpoint;
mod flavours;
mod languages;
mod lifecycle;
mod phase;
mod proc_status;
mod report;
mod sizes;
mod stats;
mod subjects;
mod targets;
mod timings;

use anyhow::Context;
use clap::Parser;

use crate::args::{Args, Root};
use crate::budget::Budget;
use crate::lifecycle::Function;
use crate::report::{Host, Results};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let budget = Budget::starting_now(args.time_limit_s);
    let root = Root::of(&args)?;
    let counts = args.counts();
    let arch = subjects::host_arch()?;

    let layer_dir = root.at(&args.layer_dir);
    let baseline_dir = root.at(&args.baseline_dir);
    let rm_dir = root.at(&args.restmachine_dir);
    let flavours = flavours::read(root.path())?;
    let subjects = subjects::all(&flavours, &layer_dir, &baseline_dir, &rm_dir, arch)?;
    let function = Function::new(&root.at(&args.probe), &[root.at(&args.restmachine_app)])?;
    let handoff_function = Function::new(&root.at(&args.handoff_function), &[])?;

    let mut metrics = Vec::new();
    let mut notes = Vec::new();
    if args.runs_phase("sizes") {
        metrics.extend(phase::sizes::run(
            &flavours,
            &layer_dir,
            &baseline_dir,
            &rm_dir,
        )?);
    }
    if args.runs_phase("lifecycle") {
        metrics.extend(phase::lifecycle::run(&subjects, &function, counts.runs, &budget).await?);
    }
    if args.runs_phase("invoke") {
        metrics.extend(
            phase::invoke::run(
                &subjects[0],
                &function,
                counts.pairs,
                counts.invocations,
                &budget,
            )
            .await?,
        );
    }
    if args.runs_phase("handoff") {
        metrics.extend(
            phase::handoff::run(
                &flavours[1].zip(&layer_dir, arch),
                &handoff_function,
                counts.handoff_runs,
                &budget,
                &mut notes,
            )
            .await?,
        );
    }
    let out = root.at(&args.out);
    let mut rows_128 = Vec::new();
    if args.runs_phase("small") {
        let setups = languages::all(&languages::Sources {
            root: root.path().to_owned(),
            rust_probe: root.at(&args.probe),
            go_probe: root.at(&args.go_probe),
            java_handwritten: root.at(&args.java_handwritten),
        })?;
        metrics.extend(
            phase::small::run(
                &setups,
                &subjects[0].layer,
                counts.small_runs,
                &budget,
                &mut notes,
            )
            .await?,
        );
        let language_results = match &args.language_results {
            Some(dir) => root.at(dir),
            None => out.parent().map(|p| p.to_owned()).unwrap_or_default(),
        };
        metrics.extend(phase::small::import_install(&language_results, &mut notes)?);
        rows_128 = phase::small::rows(&setups);
    }
    if args.runs_phase("tooling") {
        metrics.extend(phase::tooling::run(
            &args,
            root.path(),
            counts.synth_runs,
            &budget,
            &mut notes,
        )?);
    }
    if !args.only.is_empty() {
        notes.push(format!(
            "only the phases {} ran (--only): these results lack the other rows",
            args.only.join(", ")
        ));
    }

    let table = format!(
        "{}\nAt {} MB (about 7 % of a core), per function (median, p90; {} runs each):\n\n{}\n\
         The layer's flavours, side by side in the same rounds (median, p10–p90):\n\n{}\n\
         The handoff, Rust library and the handoff flavour (median, p90; {} runs each):\n\n{}",
        report::table(&metrics),
        phase::small::MEMORY_MB,
        counts.small_runs,
        report::table_128(&metrics, &rows_128),
        report::table_flavours(&metrics),
        counts.handoff_runs,
        report::table_handoff(&metrics, phase::handoff::DELIVERY_REQUESTS),
    );
    println!("{table}");
    let results = Results {
        schema: 1,
        date: args.date.clone(),
        command: args.command.clone(),
        mode: if args.quick { "quick" } else { "full" }.to_owned(),
        host: Host::detect(),
        config: serde_json::json!({
            "runsPerExtension": counts.runs,
            "invokePairs": counts.pairs,
            "invocationsPerRun": counts.invocations,
            "synthRuns": counts.synth_runs,
            "smallRuns": counts.small_runs,
            "smallMemoryMb": phase::small::MEMORY_MB,
            "smallFunctions": rows_128,
            "handoffRuns": counts.handoff_runs,
            "handoff": {
                "function": "bench-handoff-function (lambda_runtime + library), one handler that hands off",
                "layer": "the handoff flavour's zip",
                "directDelayMs": phase::handoff::DIRECT_DELAY_MS,
                "deliveryRequests": phase::handoff::DELIVERY_REQUESTS,
                "deliveryDelayMs": phase::handoff::DELIVERY_DELAY_MS,
            },
            "hostArch": arch,
            "shutdownPhaseMs": phase::shutdown_phase_ms(),
            "synthCommand": args.synth,
            "coldBuildCommand": args.cold_build,
            "function": "graceful-shutdown example `probe` (lambda_runtime + library), one handler flush:ok",
        }),
        metrics,
        notes,
    };
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(&results)? + "\n")
        .with_context(|| format!("writing {}", out.display()))?;
    std::fs::write(out.with_file_name("table.md"), &table)?;
    eprintln!("bench: wrote {}", out.display());
    Ok(())
}
