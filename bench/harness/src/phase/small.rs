//! Small functions: every library at 128 MB (about 7 % of a core, the
//! emulator's cgroup CPU quota), beside the hand-written pattern of its
//! language. `runs` rounds, each running every function once (one
//! invocation, then the shutdown phase), in rotating order; each function has
//! one shutdown handler that waits 200 ms. Per function: SIGTERM → the
//! handler's first line, how many runs saw its last line before the runtime
//! ended (by itself, or by the SIGKILL at the end of its 300 ms share), and
//! the init. Beside them, the cold start the Python and Node.js libraries'
//! own benches measured (`python.json`, `node.json`), when given.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use graceful_shutdown_emulator::{
    Emulator, Freeze, InvokeOutcome, Scenario, ShutdownReason, Timeline,
};
use graceful_shutdown_protocol::{ENV_PORT, ENV_SECRET_FILE};
use graceful_shutdown_testkit::PortLease;

use super::{metric, shutdown_phase_ms};
use crate::budget::Budget;
use crate::languages::{Pattern, Setup, LANGUAGES};
use crate::report::{Metric, Row128};
use crate::stats::Summary;
use crate::timings::{self, HandlerRun};

/// Lambda's smallest memory size.
pub const MEMORY_MB: u32 = 128;

/// The init limit: Lambda's is 10 s, but a JVM's init on 7 % of a busy core
/// can take longer here, and the figures are about the shutdown.
const INIT_CAP: Duration = Duration::from_secs(60);

/// One run of `setup` at 128 MB with `layer`; its timeline.
async fn run_once(setup: &Setup, layer: &Path, phase_ms: u64) -> anyhow::Result<Timeline> {
    let scratch = tempfile::Builder::new().prefix("bench-128").tempdir()?;
    let port = PortLease::take();
    let mut s = Scenario::new(setup.dir())
        .memory(MEMORY_MB)
        // Not frozen, as in the other phases: freezing is the platform's act.
        .freeze(Freeze::Off)
        .layer(layer)
        .env(ENV_PORT, port.port().to_string())
        .env(
            ENV_SECRET_FILE,
            scratch.path().join("secret").display().to_string(),
        )
        // The handler's lines on the runtime's output, stamped by the emulator.
        .env("PROBE_OUTPUT", "/dev/stdout");
    if let Some((runtime, handler)) = &setup.runtime {
        s = s.managed_runtime(runtime, handler);
    }
    for (k, v) in &setup.env {
        s = s.env(k.clone(), v.clone());
    }
    s.init_cap = INIT_CAP;
    s.shutdown_phase = Duration::from_millis(phase_ms);
    let mut em = Emulator::start(s).await?;
    let answered = match em.init().await {
        Err(f) => Err(format!("init failed: {} {}", f.error_type, f.message)),
        Ok(_) => match em.invoke(b"{}".to_vec()).await {
            InvokeOutcome::Response(_) => Ok(()),
            other => Err(format!("the invocation did not answer: {other:?}")),
        },
    };
    if let Err(why) = answered {
        em.shutdown(ShutdownReason::Failure).await;
        let t = em.finish().await;
        let logs: Vec<String> = t
            .logs
            .iter()
            .map(|l| format!("{}: {}", l.source, l.line))
            .collect();
        bail!("{why}\n{}", logs.join("\n"));
    }
    em.shutdown(ShutdownReason::Spindown).await;
    drop(port);
    Ok(em.finish().await)
}

/// The samples of one function.
#[derive(Debug, Default, Clone)]
struct Series {
    to_start: Vec<f64>,
    init: Vec<f64>,
    completed: usize,
    killed: usize,
    runs: usize,
}

impl Series {
    fn add(&mut self, r: &HandlerRun) {
        self.runs += 1;
        self.init.push(r.init_ms);
        if let Some(ms) = r.sigterm_to_start_ms {
            self.to_start.push(ms);
        }
        self.completed += usize::from(r.completed);
        self.killed += usize::from(r.killed);
    }
}

pub async fn run(
    setups: &[Setup],
    layer: &Path,
    runs: u32,
    budget: &Budget,
    notes: &mut Vec<String>,
) -> anyhow::Result<Vec<Metric>> {
    eprintln!(
        "bench: {runs} runs per function at {MEMORY_MB} MB ({} functions)",
        setups.len()
    );
    let phase_ms = shutdown_phase_ms();
    let mut series = vec![Series::default(); setups.len()];
    for round in 0..runs as usize {
        for k in 0..setups.len() {
            let i = (round + k) % setups.len();
            let setup = &setups[i];
            budget.check("128 MB runs")?;
            let t = run_once(setup, layer, phase_ms).await.with_context(|| {
                format!("{} at {MEMORY_MB} MB, run {}", setup.subject, round + 1)
            })?;
            let r = timings::handler_run(&t, &setup.handler).with_context(|| {
                format!("{} at {MEMORY_MB} MB, run {}", setup.subject, round + 1)
            })?;
            series[i].add(&r);
        }
    }
    let mut metrics = Vec::new();
    for (setup, x) in setups.iter().zip(&series) {
        let key = &setup.subject;
        if x.to_start.is_empty() {
            notes.push(format!(
                "{key} at {MEMORY_MB} MB: the handler never started in {} runs",
                x.runs
            ));
        } else {
            metrics.push(metric(
                "m128_sigterm_to_handler_ms",
                "SIGTERM → first handler at 128 MB",
                key,
                "ms",
                &x.to_start,
            )?);
        }
        let pct = 100.0 * x.completed as f64 / x.runs.max(1) as f64;
        metrics.push(
            Metric::new(
                "m128_completed_pct",
                "200 ms handler done within the 300 ms share at 128 MB",
                key,
                "%",
                Summary {
                    n: x.runs,
                    ..Summary::single(pct)
                },
            )
            .judged()?,
        );
        metrics.push(metric(
            "m128_init_ms",
            "init at 128 MB",
            key,
            "ms",
            &x.init,
        )?);
        if x.killed > 0 {
            notes.push(format!(
                "{key} at {MEMORY_MB} MB: the runtime was SIGKILLed at the end of its share in {} of {} runs",
                x.killed, x.runs
            ));
        }
    }
    Ok(metrics)
}

/// The table's rows, in the order of the setups.
pub fn rows(setups: &[Setup]) -> Vec<Row128> {
    setups
        .iter()
        .map(|s| Row128 {
            subject: s.subject.clone(),
            language: LANGUAGES
                .iter()
                .find(|(k, _)| *k == s.language)
                .map(|(_, t)| (*t).to_owned())
                .unwrap_or_else(|| s.language.to_owned()),
            function: match s.pattern {
                Pattern::Library => s.what.clone(),
                Pattern::HandWritten => format!("hand-written: `{}`", s.what),
            },
        })
        .collect()
}

/// A series as a language's bench wrote it (`{ n, median, p10, p90, ... }`).
fn series_of(v: &serde_json::Value) -> Option<Summary> {
    let f = |k: &str| v.get(k).and_then(serde_json::Value::as_f64);
    let (median, p10, p90) = (f("median")?, f("p10")?, f("p90")?);
    let n = v.get("n").and_then(serde_json::Value::as_u64)? as usize;
    if n == 0 {
        return None;
    }
    Some(Summary {
        n,
        median,
        p10,
        p90,
        // Python's bench writes no minimum or maximum: its spread stands for them.
        min: f("min").unwrap_or(p10).min(p10),
        max: f("max").unwrap_or(p90).max(p90),
        iqr: 0.0,
    })
}

const IMPORT_LABEL: &str = "import + install at cold start (the library's own bench)";

/// Import + install at cold start from the Python and Node.js libraries'
/// benches (`python.json`, `node.json` in `dir`); a missing file is a note.
pub fn import_install(dir: &Path, notes: &mut Vec<String>) -> anyhow::Result<Vec<Metric>> {
    let mut metrics = Vec::new();
    let read = |name: &str, notes: &mut Vec<String>| -> anyhow::Result<Option<serde_json::Value>> {
        let path = dir.join(name);
        if !path.exists() {
            notes.push(format!(
                "import + install not read: {} is missing (bench/run.sh runs the language benches first)",
                path.display()
            ));
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)?;
        Ok(Some(
            serde_json::from_str(&text).with_context(|| format!("{}", path.display()))?,
        ))
    };
    if let Some(py) = read("python.json", notes)? {
        let rows = py.as_array().cloned().unwrap_or_default();
        for (row, subject) in [
            (
                "import + install at cold start: library (target <= 3 ms)",
                "python",
            ),
            (
                "import + install at cold start: handwritten",
                "python-handwritten",
            ),
        ] {
            match rows.iter().find(|r| r["row"] == row).and_then(series_of) {
                Some(s) => metrics.push(
                    Metric::new("import_install_ms", IMPORT_LABEL, subject, "ms", s).judged()?,
                ),
                None => notes.push(format!("python.json has no row {row:?}")),
            }
        }
    }
    if let Some(node) = read("node.json", notes)? {
        let row = node["rows"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["name"] == "import + install"))
            .cloned();
        for (series, subject) in [("library", "nodejs"), ("handWritten", "nodejs-handwritten")] {
            match row.as_ref().and_then(|r| series_of(&r[series])) {
                Some(s) => metrics.push(
                    Metric::new("import_install_ms", IMPORT_LABEL, subject, "ms", s).judged()?,
                ),
                None => notes.push(format!(
                    "node.json has no \"import + install\" {series} series"
                )),
            }
        }
    }
    Ok(metrics)
}
