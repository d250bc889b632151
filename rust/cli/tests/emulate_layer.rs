//! End to end: the layer zip written by `create-extension` runs in
//! `gracefulctl emulate` beside a real function built on the official
//! `lambda_runtime` crate and the function library (the `probe` example).
//! With the layer, SIGTERM comes, the handler runs and the extension logs
//! `outcome=completed`; without it, the handler never runs.

mod common;

use common::{built, extension_binary, free_port, native_arch, path_str, stdout_ok};
use std::fs;
use std::path::Path;
use std::process::Output;

/// A function directory holding the probe as `bootstrap`.
fn function_dir(root: &Path) -> std::path::PathBuf {
    let probe = built(
        "examples/probe",
        "cargo build -p lambda-graceful-shutdown --examples",
    );
    let dir = root.join("fn");
    fs::create_dir_all(&dir).expect("fn dir");
    fs::copy(&probe, dir.join("bootstrap")).expect("copy the probe");
    dir
}

fn emulate(fn_dir: &Path, layer: Option<&Path>, env: &[String]) -> Output {
    let mut cmd = common::gracefulctl();
    cmd.args([
        "emulate",
        "--function-dir",
        path_str(fn_dir),
        "--invocations",
        "2",
    ]);
    if let Some(layer) = layer {
        cmd.args(["--layer-dir", path_str(layer)]);
    }
    for kv in env {
        cmd.args(["--env", kv]);
    }
    cmd.timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("run gracefulctl emulate")
}

#[test]
fn layer_zip_from_create_extension_runs_in_the_emulator() {
    let root = tempfile::tempdir().expect("tempdir");
    let zip = root.path().join("graceful-shutdown.zip");
    let port = free_port().to_string();
    stdout_ok(&[
        "create-extension",
        "--arch",
        native_arch(),
        "--binary",
        path_str(&extension_binary()),
        "--out",
        path_str(&zip),
        "--port",
        &port,
        "--timeout-ms",
        "200",
    ]);
    let fn_dir = function_dir(root.path());
    let probe_output = root.path().join("probe.log");

    // The settings create-extension wrote, plus the probe's own.
    let settings = fs::read_to_string(root.path().join("graceful-shutdown.env")).expect("settings");
    let mut env: Vec<String> = settings.lines().map(String::from).collect();
    env.push("PROBE_HANDLERS=flush:ok".into());
    env.push(format!("PROBE_OUTPUT={}", probe_output.display()));
    // A secret file of this test's own: the default path under /tmp is shared
    // by every environment run on this machine at the same time.
    env.push(format!(
        "GRACEFUL_SHUTDOWN_SECRET_FILE={}",
        root.path().join("secret").display()
    ));

    let out = emulate(&fn_dir, Some(&zip), &env);
    let timeline = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "emulate failed ({}):\n{timeline}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        timeline
            .contains("graceful-shutdown verdict: outcome=completed reason=spindown handlers=1/1"),
        "no completed verdict in the timeline:\n{timeline}"
    );
    assert!(timeline.contains("registered for SHUTDOWN"), "{timeline}");
    let log = fs::read_to_string(&probe_output).expect("the probe wrote its log");
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        ["invoke 1", "invoke 2", "start flush", "flush"]
    );

    // The same function without the layer: no extension, so no SIGTERM, and
    // the handler never runs. This is what the layer is for.
    fs::remove_file(&probe_output).expect("reset the probe log");
    let out = emulate(&fn_dir, None, &env);
    let timeline = String::from_utf8_lossy(&out.stdout);
    assert!(
        !timeline.contains("graceful-shutdown verdict"),
        "{timeline}"
    );
    assert!(timeline.contains("no extension registered"), "{timeline}");
    let log = fs::read_to_string(&probe_output).expect("the probe wrote its log");
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        ["invoke 1", "invoke 2"],
        "without the layer"
    );
}
