//! Python and Node.js functions run on their real runtime interface clients
//! (awslambdaric, aws-lambda-ric, installed under `.runtimes/` by
//! `scripts/setup.sh`), by option, with no hand-written `bootstrap`: the
//! environment Lambda gives them, layers on their module search path, and
//! Managed Instances (Python's forked workers, Node.js's worker threads).

mod common;

use std::path::Path;

use common::{built, free_port, lambda_emulator, rt, serial, Staged};
use graceful_shutdown_emulator::{Emulator, EventKind, InvokeOutcome, Scenario, RUNTIME};
use graceful_shutdown_protocol::{ENV_PORT, ENV_SECRET_FILE};
use serde_json::Value;

fn extension() -> std::path::PathBuf {
    built(
        "graceful-shutdown",
        "cargo build -p graceful-shutdown-extension",
    )
}

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    std::fs::write(path, text).expect("write source");
}

/// The shutdown layer attached, on its own port and secret file.
fn with_layer(staged: &Staged, scenario: Scenario) -> Scenario {
    scenario
        .layer(staged.layer_dir())
        .env(ENV_PORT, free_port().to_string())
        .env(ENV_SECRET_FILE, staged.file("secret").display().to_string())
}

fn responses(outcomes: &[InvokeOutcome]) -> Vec<Value> {
    outcomes
        .iter()
        .map(|o| match o {
            InvokeOutcome::Response(b) => serde_json::from_slice(b).expect("JSON response"),
            other => panic!("not a response: {other:?}"),
        })
        .collect()
}

fn runtime_path(t: &graceful_shutdown_emulator::Timeline) -> String {
    match &t
        .find(RUNTIME, |k| matches!(k, EventKind::Started { .. }))
        .expect("runtime started")
        .kind
    {
        EventKind::Started { path, .. } => path.clone(),
        _ => unreachable!(),
    }
}

const PY_ENV_HANDLER: &str = r#"
import os, sys
import layered

def handler(event, context):
    return {
        "handler": os.environ.get("_HANDLER"),
        "task_root": os.environ.get("LAMBDA_TASK_ROOT"),
        "execution_env": os.environ.get("AWS_EXECUTION_ENV", "<unset>"),
        "cwd": os.getcwd(),
        "layered": layered.VALUE,
        "argv0": sys.argv[0],
        "request_id": context.aws_request_id,
        "event": event,
        "init_type": os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE"),
    }
"#;

#[test]
fn a_python_function_runs_on_awslambdaric_by_option() {
    let _one = serial();
    let staged = Staged::new().extension("graceful-shutdown", &extension());
    let fn_dir = staged.function_dir();
    write(&fn_dir.join("app.py"), PY_ENV_HANDLER);
    // A library layer: /opt/python is on the path as in Lambda.
    let lib_layer = staged.file("lib-layer");
    write(
        &lib_layer.join("python/layered.py"),
        "VALUE = 'from the layer'\n",
    );
    assert!(!fn_dir.join("bootstrap").exists());

    for (execution_env, expected) in [
        (None, "AWS_Lambda_python3.12"),
        (Some(""), "<unset>"),
        (Some("AWS_Lambda_python3.9"), "AWS_Lambda_python3.9"),
    ] {
        let mut scenario = with_layer(
            &staged,
            Scenario::new(&fn_dir).managed_runtime("python3.12", "app.handler"),
        )
        .layer(&lib_layer)
        .event(br#"{"n":1}"#.to_vec());
        if let Some(v) = execution_env {
            scenario = scenario.env("AWS_EXECUTION_ENV", v);
        }
        let report = rt().block_on(Emulator::run(scenario)).expect("run");
        let t = &report.timeline;
        assert!(
            report.lifecycle_ok(),
            "{}",
            graceful_shutdown_emulator::render(t)
        );
        let r = &responses(&report.invocations)[0];
        assert_eq!(r["handler"], "app.handler", "{r}");
        assert_eq!(r["task_root"], fn_dir.display().to_string(), "{r}");
        assert_eq!(r["cwd"], fn_dir.display().to_string(), "{r}");
        assert_eq!(r["execution_env"], expected, "{r}");
        assert_eq!(r["layered"], "from the layer", "{r}");
        assert_eq!(r["event"]["n"], 1, "{r}");
        assert_eq!(r["init_type"], "on-demand", "{r}");
        assert!(
            r["argv0"]
                .as_str()
                .is_some_and(|a| a.contains("awslambdaric")),
            "{r}"
        );
        assert!(
            runtime_path(t).ends_with("python/bin/python"),
            "{}",
            runtime_path(t)
        );
        assert_eq!(t.signals(RUNTIME), vec!["SIGTERM"]);
    }
}

const NODE_ENV_HANDLER: &str = r#"
const layered = require("layered");
const { isMainThread } = require("node:worker_threads");
exports.handler = async (event, context) => ({
  handler: process.env._HANDLER,
  task_root: process.env.LAMBDA_TASK_ROOT,
  execution_env: process.env.AWS_EXECUTION_ENV,
  cwd: process.cwd(),
  layered: layered.value,
  main_thread: isMainThread,
  pid: process.pid,
  request_id: context.awsRequestId,
  event,
  init_type: process.env.AWS_LAMBDA_INITIALIZATION_TYPE,
});
"#;

#[test]
fn a_node_function_runs_on_aws_lambda_ric_by_option() {
    let _one = serial();
    let staged = Staged::new().extension("graceful-shutdown", &extension());
    let fn_dir = staged.function_dir();
    write(&fn_dir.join("index.js"), NODE_ENV_HANDLER);
    let lib_layer = staged.file("lib-layer");
    write(
        &lib_layer.join("nodejs/node_modules/layered/index.js"),
        "exports.value = 'from the layer';\n",
    );
    assert!(!fn_dir.join("bootstrap").exists());

    let scenario = with_layer(
        &staged,
        Scenario::new(&fn_dir).managed_runtime("nodejs22.x", "index.handler"),
    )
    .layer(&lib_layer)
    .event(br#"{"n":2}"#.to_vec())
    .invocations(2);
    let report = rt().block_on(Emulator::run(scenario)).expect("run");
    let t = &report.timeline;
    assert!(
        report.lifecycle_ok(),
        "{}",
        graceful_shutdown_emulator::render(t)
    );
    let rs = responses(&report.invocations);
    assert_eq!(rs.len(), 2);
    let r = &rs[0];
    assert_eq!(r["handler"], "index.handler", "{r}");
    assert_eq!(r["task_root"], fn_dir.display().to_string(), "{r}");
    assert_eq!(r["cwd"], fn_dir.display().to_string(), "{r}");
    assert_eq!(r["execution_env"], "AWS_Lambda_nodejs22.x", "{r}");
    assert_eq!(r["layered"], "from the layer", "{r}");
    assert_eq!(r["main_thread"], true, "{r}");
    assert_eq!(r["event"]["n"], 2, "{r}");
    assert!(
        runtime_path(t).ends_with("node/bin/node"),
        "{}",
        runtime_path(t)
    );
    assert_eq!(t.signals(RUNTIME), vec!["SIGTERM"]);
}

#[test]
fn managed_instances_run_python_workers_and_node_worker_threads() {
    let _one = serial();
    // Python: the client forks one worker process per slot.
    let staged = Staged::new().extension("graceful-shutdown", &extension());
    let fn_dir = staged.function_dir();
    write(
        &fn_dir.join("app.py"),
        "import os\ndef handler(event, context):\n    return {'pid': os.getpid(), 'ppid': os.getppid(), \
         'init_type': os.environ.get('AWS_LAMBDA_INITIALIZATION_TYPE'), \
         'max': os.environ.get('AWS_LAMBDA_MAX_CONCURRENCY')}\n",
    );
    let scenario = with_layer(
        &staged,
        Scenario::new(&fn_dir)
            .managed_runtime("python3.12", "app.handler")
            .max_concurrency(2),
    )
    .invocations(3);
    let report = rt().block_on(Emulator::run(scenario)).expect("run");
    let t = &report.timeline;
    assert!(
        report.lifecycle_ok(),
        "{}",
        graceful_shutdown_emulator::render(t)
    );
    let main_pid = match t
        .find(RUNTIME, |k| matches!(k, EventKind::Started { .. }))
        .map(|e| &e.kind)
    {
        Some(EventKind::Started { pid, .. }) => u64::from(*pid),
        _ => panic!("no runtime start"),
    };
    for r in responses(&report.invocations) {
        assert_eq!(r["init_type"], "lambda-managed-instances", "{r}");
        assert_eq!(r["max"], "2", "{r}");
        assert_ne!(
            r["pid"].as_u64(),
            Some(main_pid),
            "answered by a forked worker: {r}"
        );
        assert_eq!(r["ppid"].as_u64(), Some(main_pid), "{r}");
    }
    // Both workers were waiting in /invocation/next before the shutdown.
    assert!(
        t.find(graceful_shutdown_emulator::PLATFORM, |k| matches!(
            k,
            EventKind::Idle { .. }
        ))
        .is_some(),
        "{}",
        graceful_shutdown_emulator::render(t)
    );

    // Node.js: the client runs the handler in worker threads only.
    let staged = Staged::new().extension("graceful-shutdown", &extension());
    let fn_dir = staged.function_dir();
    write(
        &fn_dir.join("index.js"),
        "const { isMainThread } = require('node:worker_threads');\n\
         exports.handler = async () => ({ main_thread: isMainThread, init_type: process.env.AWS_LAMBDA_INITIALIZATION_TYPE });\n",
    );
    let scenario = with_layer(
        &staged,
        Scenario::new(&fn_dir)
            .managed_runtime("nodejs22.x", "index.handler")
            .env("AWS_LAMBDA_MAX_CONCURRENCY", "2")
            .env("AWS_LAMBDA_NODEJS_WORKER_COUNT", "2"),
    )
    .invocations(2);
    let report = rt().block_on(Emulator::run(scenario)).expect("run");
    let t = &report.timeline;
    assert!(
        report.lifecycle_ok(),
        "{}",
        graceful_shutdown_emulator::render(t)
    );
    for r in responses(&report.invocations) {
        assert_eq!(r["main_thread"], false, "{r}");
        assert_eq!(r["init_type"], "lambda-managed-instances", "{r}");
    }
}

#[test]
fn missing_clients_are_a_clear_error() {
    let staged = Staged::new();
    let scenario = Scenario {
        runtimes_dir: Some(staged.file("no-runtimes")),
        ..Scenario::new(staged.function_dir()).managed_runtime("python3.12", "app.handler")
    };
    let e = rt()
        .block_on(Emulator::run(scenario))
        .expect_err("no clients")
        .to_string();
    assert!(
        e.contains("LAMBDA_EMULATOR_RUNTIMES") && e.contains("bash scripts/setup.sh"),
        "{e}"
    );
    let e = rt()
        .block_on(Emulator::run(
            Scenario::new(staged.function_dir()).managed_runtime("ruby3.3", "app.handler"),
        ))
        .expect_err("bad runtime")
        .to_string();
    assert!(e.starts_with("--runtime \"ruby3.3\""), "{e}");
}

/// The pattern of the aws-samples graceful-shutdown repository.
const PYTHON_SIGTERM: &str = r#"
import signal, sys
def exit_gracefully(signum, frame):
    print("SIGTERM handler ran", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, exit_gracefully)
def handler(event, context):
    return {"ok": True}
"#;

/// Lambda's truth for awslambdaric 4.2.2 (as the RIE shows it): with thread
/// polling (`AWS_EXECUTION_ENV=AWS_Lambda_python3.12`) the handler runs; without
/// it the main thread waits in native code and the handler never runs, the
/// runtime is SIGKILLed. Every run, not one run in two: the environment is
/// idle, then frozen, then thawed and settled before the SIGTERM.
#[test]
fn a_python_sigterm_handler_runs_with_thread_polling_and_never_without_every_time() {
    let _one = serial();
    for (execution_env, runs) in [("AWS_Lambda_python3.12", true), ("", false)] {
        for round in 0..4 {
            let staged = Staged::new().extension("graceful-shutdown", &extension());
            write(&staged.function_dir().join("app.py"), PYTHON_SIGTERM);
            let scenario = with_layer(
                &staged,
                Scenario::new(staged.function_dir()).managed_runtime("python3.12", "app.handler"),
            )
            .env("AWS_EXECUTION_ENV", execution_env);
            let report = rt().block_on(Emulator::run(scenario)).expect("run");
            let t = &report.timeline;
            let text = graceful_shutdown_emulator::render(t);
            let ran = t.lines_of(RUNTIME).any(|l| l == "SIGTERM handler ran");
            assert_eq!(
                ran, runs,
                "AWS_EXECUTION_ENV={execution_env:?}, round {round}:\n{text}"
            );
            let expected_signals = if runs {
                vec!["SIGTERM"]
            } else {
                vec!["SIGTERM", "SIGKILL"]
            };
            assert_eq!(t.signals(RUNTIME), expected_signals, "{text}");
        }
    }
}

#[test]
fn the_command_line_runs_a_python_function_with_runtime_and_handler() {
    let _one = serial();
    let staged = Staged::new().extension("graceful-shutdown", &extension());
    write(
        &staged.function_dir().join("app.py"),
        "def handler(event, context):\n    print('python handler ran', flush=True)\n    return {'ok': True}\n",
    );
    let out = std::process::Command::new(lambda_emulator())
        .args(["--runtime", "python3.12", "--handler", "app.handler"])
        .arg("--function-dir")
        .arg(staged.function_dir())
        .arg("--layer-dir")
        .arg(staged.layer_dir())
        .arg("--env")
        .arg(format!("{ENV_PORT}={}", free_port()))
        .arg("--env")
        .arg(format!(
            "{ENV_SECRET_FILE}={}",
            staged.file("secret").display()
        ))
        .output()
        .expect("run lambda-emulator");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "python/bin/python)",
        "| python handler ran",
        "idle after",
        "frozen (",
        "<- SIGTERM",
    ] {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
}
