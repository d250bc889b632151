//! The Rust library's probe (`examples/probe.rs` of `lambda-graceful-shutdown`)
//! through the shared cases of `tests/cases/shutdown.json`, with the real
//! shutdown layer: every case in the lifecycle emulator, and (with the `rie`
//! feature: root, unshare and the pinned RIE) the cases that apply under
//! AWS's Runtime Interface Emulator.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use clap::Parser;
use graceful_shutdown_conformance::{cases, run, Options, Summary};
use graceful_shutdown_testkit::built;

/// One run at a time in this test binary: shutdown timing is what the cases
/// measure, and two runs at once on two cores would blur it.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

fn probe() -> PathBuf {
    built(
        "examples/probe",
        "cargo build -p lambda-graceful-shutdown --examples",
    )
}

/// A layer directory holding the extension as `extensions/graceful-shutdown`.
fn layer() -> tempfile::TempDir {
    let extension = built(
        "graceful-shutdown",
        "cargo build -p graceful-shutdown-extension",
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::create_dir(dir.path().join("extensions")).expect("extensions/");
    graceful_shutdown_conformance::probe::link_or_copy(
        &extension,
        &dir.path().join("extensions").join("graceful-shutdown"),
    )
    .expect("the extension in the layer");
    dir
}

fn drive(args: &[&str]) -> (Summary, String) {
    let layer = layer();
    let probe = probe();
    let mut all = vec![
        "shutdown-conformance".to_owned(),
        "--function".to_owned(),
        probe.display().to_string(),
        "--layer".to_owned(),
        layer.path().display().to_string(),
    ];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    let options = Options::try_parse_from(all).expect("a good command line");
    let mut out = Vec::new();
    let summary = run(&options, &mut out).unwrap_or_else(|e| {
        panic!(
            "the driver could not run: {e:#}\n{}",
            String::from_utf8_lossy(&out)
        )
    });
    (summary, String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn every_shared_case_in_the_emulator() {
    let _g = serial();
    let all = cases::load(None).expect("the cases read").len();
    let (summary, out) = drive(&[]);
    assert_eq!(summary.failed, 0, "{out}");
    assert_eq!(summary.passed, all, "{out}");
    assert!(out.ends_with(&format!("{all} passed, 0 failed\n")), "{out}");
}

#[test]
fn a_failed_expectation_fails_the_case_and_shows_the_timeline() {
    let _g = serial();
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    let text = cases::SHUTDOWN_JSON.replacen(
        "\"verdictContains\": [\"-- all 2 shutdown handlers completed in\"]",
        "\"verdictContains\": [\"-- all 3 shutdown handlers completed in\"]",
        1,
    );
    assert_ne!(text, cases::SHUTDOWN_JSON, "the case to break is there");
    std::fs::write(file.path(), text).expect("written");
    let path = file.path().display().to_string();
    let (summary, out) = drive(&["--cases-file", &path, "--case", "all_handlers_complete"]);
    assert_eq!((summary.passed, summary.failed), (0, 1), "{out}");
    assert!(
        out.starts_with("FAILED all_handlers_complete: verdictContains: the verdict lacks \"-- all 3 shutdown handlers completed in\"\n"),
        "{out}"
    );
    assert!(out.contains("<- SIGTERM"), "the timeline is shown: {out}");
    assert!(out.ends_with("0 passed, 1 failed\n"), "{out}");
}

#[test]
fn json_lines_carry_the_parsed_verdict_and_the_events() {
    let _g = serial();
    let (summary, out) = drive(&["--case", "a_handler_panic_is_isolated", "--json"]);
    assert_eq!(summary.failed, 0, "{out}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    let case = &lines[0];
    assert_eq!(case["case"], "a_handler_panic_is_isolated");
    assert_eq!(case["ok"], true);
    assert_eq!(case["verdict"]["form"], "json");
    assert_eq!(case["verdict"]["verdict"]["outcome"], "handlers_failed");
    assert_eq!(case["verdict"]["verdict"]["handlers"][0]["name"], "boom");
    assert!(case["events"]
        .as_array()
        .is_some_and(|e| e.iter().any(|e| e["kind"] == "shutdown_event")));
    assert_eq!(lines[1], serde_json::json!({"passed": 1, "failed": 0}));
}

#[test]
fn a_kill_as_a_handler_starts_counts_as_the_platforms_sigkill() {
    let _g = serial();
    let (summary, out) = drive(&[
        "--case",
        "the_verdict_stays_true_when_the_runtime_is_killed_halfway",
        "--kill-runtime-after",
        "start slow",
    ]);
    assert_eq!((summary.passed, summary.failed), (1, 0), "{out}");
}

#[cfg(feature = "rie")]
#[test]
fn the_cases_that_apply_under_the_rie() {
    let _g = serial();
    graceful_shutdown_conformance::rie::available(None)
        .unwrap_or_else(|why| panic!("the RIE backend cannot run here: {why}"));
    let applicable = cases::load(None)
        .expect("the cases read")
        .iter()
        .filter(|c| c.emulator_only().is_empty())
        .count();
    assert!(applicable > 0, "no case applies under the RIE");
    let (summary, out) = drive(&["--backend", "rie"]);
    assert_eq!(summary.failed, 0, "{out}");
    assert_eq!(summary.passed, applicable, "{out}");
}
