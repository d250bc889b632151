//! The command line (`bench/run.sh` passes every path), and what it
//! resolves to: how many repetitions each phase makes and absolute paths.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    about = "Benchmarks the graceful-shutdown layer beside the alternatives, under the lifecycle emulator"
)]
pub struct Args {
    /// Few repetitions, no cold build: proves the benchmark still runs.
    #[arg(long, env = "BENCH_QUICK", value_parser = clap::builder::FalseyValueParser::new())]
    pub quick: bool,
    /// Repository root; relative paths below are taken from it.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// The function binary (the library's `probe` example).
    #[arg(long, default_value = "target/debug/examples/probe")]
    pub probe: PathBuf,
    /// Built layers: `<arch>/extensions/graceful-shutdown` and `<arch>/graceful-shutdown-layer.zip`.
    #[arg(long, default_value = "target/lambda")]
    pub layer_dir: PathBuf,
    /// Built baseline: `<arch>/extensions/lambda-extension-baseline` and `<arch>/lambda-extension-baseline-layer.zip`.
    #[arg(long, default_value = "target/bench")]
    pub baseline_dir: PathBuf,
    /// restmachine-aws layer: `layer/` (`extensions/`, `python/`) and `restmachine-layer.zip`.
    #[arg(long, default_value = "target/bench/restmachine")]
    pub restmachine_dir: PathBuf,
    /// The application restmachine-aws's extension imports (`lambda_function.app`).
    #[arg(
        long,
        default_value = "bench/alternatives/restmachine/lambda_function.py"
    )]
    pub restmachine_app: PathBuf,
    /// The warm synth command, timed after one warm-up run.
    #[arg(long, default_value = "pnpm run synth")]
    pub synth: String,
    /// Makes a fresh Node.js CDK app from the packed construct library, outside
    /// the repository (`bash <script> <dir>`); its warm synth is timed with the
    /// prebuilt layer and with the layer built from source. Empty: skipped.
    #[arg(long, default_value = "construct/test/packed/node-app.sh")]
    pub fresh_app: String,
    /// A cold build of the layer, run once with CARGO_TARGET_DIR set to a fresh directory.
    #[arg(long)]
    pub cold_build: Option<String>,
    /// Lifecycle runs per extension (default: 3 quick, 30 full).
    #[arg(long)]
    pub runs: Option<u32>,
    /// Pairs of runs with and without the layer for the per-invoke ratio (default: 3 quick, 20 full).
    #[arg(long)]
    pub pairs: Option<u32>,
    /// Invocations per run of a pair (default: 30 quick, 400 full).
    #[arg(long)]
    pub invocations: Option<u64>,
    /// Timed synth runs (default: 1 quick, 5 full).
    #[arg(long)]
    pub synth_runs: Option<u32>,
    /// Runs per function at 128 MB (default: 2 quick, 20 full).
    #[arg(long)]
    pub small_runs: Option<u32>,
    /// Runs of each handoff measurement (default: 3 quick, 20 full).
    #[arg(long)]
    pub handoff_runs: Option<u32>,
    /// The function of the handoff rows (this crate's `bench-handoff-function`).
    #[arg(long, default_value = "target/debug/bench-handoff-function")]
    pub handoff_function: PathBuf,
    /// The Go library's probe, built (`go build ./internal/probe`).
    #[arg(long, default_value = "target/bench/go-probe/bootstrap")]
    pub go_probe: PathBuf,
    /// The compiled hand-written Java pattern (`Handwritten.class`).
    #[arg(long, default_value = "target/bench/handwritten-java")]
    pub java_handwritten: PathBuf,
    /// Where the language benches wrote python.json and node.json (their
    /// import + install rows join the 128 MB table); default: beside --out.
    #[arg(long)]
    pub language_results: Option<PathBuf>,
    /// Where the JSON goes.
    #[arg(long, default_value = "bench/results/latest.json")]
    pub out: PathBuf,
    /// Cargo's target directory (CARGO_TARGET_DIR): the logs go to
    /// `<target>/bench/logs`, the cold build to a fresh directory inside it.
    #[arg(long, env = "CARGO_TARGET_DIR", default_value = "target")]
    pub target_dir: PathBuf,
    /// Date to record (bench/run.sh passes the UTC time).
    #[arg(long, default_value = "")]
    pub date: String,
    /// Command line to record.
    #[arg(long, default_value = "pnpm run bench")]
    pub command: String,
    /// Only these phases, comma-separated (sizes, lifecycle, invoke, handoff,
    /// small, tooling): a look at a few rows. The results then lack the other
    /// rows, which bench/tests/check_results.py refuses; bench/run.sh runs all.
    #[arg(long, value_delimiter = ',', value_parser = ["sizes", "lifecycle", "invoke", "handoff", "small", "tooling"])]
    pub only: Vec<String>,
    /// The whole run stops with an error past this many seconds.
    #[arg(long, default_value_t = 2700)]
    pub time_limit_s: u64,
}

impl Args {
    /// Whether phase `name` runs (`--only`, or every phase).
    pub fn runs_phase(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|p| p == name)
    }
}

/// How many repetitions each phase makes: the flags, or the defaults of the mode.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    /// Lifecycle runs per extension.
    pub runs: u32,
    /// Pairs of environments with and without the layer.
    pub pairs: u32,
    /// Invocations per environment of a pair.
    pub invocations: u64,
    /// Timed synth runs.
    pub synth_runs: u32,
    /// Runs per function at 128 MB.
    pub small_runs: u32,
    /// Runs of each handoff measurement.
    pub handoff_runs: u32,
}

impl Args {
    pub fn counts(&self) -> Counts {
        let quick = self.quick;
        Counts {
            runs: self.runs.unwrap_or(if quick { 3 } else { 30 }).max(1),
            pairs: self.pairs.unwrap_or(if quick { 3 } else { 20 }).max(1),
            invocations: self
                .invocations
                .unwrap_or(if quick { 30 } else { 400 })
                .max(1),
            synth_runs: self.synth_runs.unwrap_or(if quick { 1 } else { 5 }).max(1),
            small_runs: self.small_runs.unwrap_or(if quick { 2 } else { 20 }).max(1),
            handoff_runs: self
                .handoff_runs
                .unwrap_or(if quick { 3 } else { 20 })
                .max(1),
        }
    }
}

/// The repository root, absolute: paths are handed to processes that run in
/// other directories.
#[derive(Debug, Clone)]
pub struct Root(PathBuf);

impl Root {
    pub fn of(args: &Args) -> anyhow::Result<Root> {
        args.root
            .canonicalize()
            .map(Root)
            .with_context(|| format!("--root {}", args.root.display()))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// `p` taken from the root, unless it is absolute.
    pub fn at(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_owned()
        } else {
            self.0.join(p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_gives_the_counts_and_flags_override_them() {
        let quick = Args::parse_from(["bench", "--quick"]).counts();
        assert_eq!(
            (quick.runs, quick.pairs, quick.invocations, quick.synth_runs),
            (3, 3, 30, 1)
        );
        assert_eq!((quick.small_runs, quick.handoff_runs), (2, 3));
        // Set by hand: BENCH_QUICK in the environment would make it quick.
        let mut full = Args::parse_from(["bench"]);
        full.quick = false;
        let c = full.counts();
        assert_eq!(
            (c.runs, c.pairs, c.invocations, c.synth_runs, c.small_runs),
            (30, 20, 400, 5, 20)
        );
        assert_eq!(c.handoff_runs, 20);
        let set = Args::parse_from(["bench", "--runs", "7", "--pairs", "0", "--invocations", "9"]);
        let c = set.counts();
        assert_eq!((c.runs, c.pairs, c.invocations), (7, 1, 9));
        assert!(set.runs_phase("small"));
        let some = Args::parse_from(["bench", "--only", "sizes,handoff"]);
        assert!(some.runs_phase("handoff") && !some.runs_phase("small"));
        assert!(Args::try_parse_from(["bench", "--only", "sise"]).is_err());
    }
}
